"""The fake OpenAI upstream's other endpoints: /v1/embeddings and /v1/responses (streaming
with the documented event sequence, reasoning, function calls, a failure mid-stream).
Deterministic answers, the same faults as chat."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .fake_upstream import FakeUpstream, _Conn

NATIVE_DIMENSIONS = {"text-embedding-3-large": 3072, "mistral-embed": 1024}
DEFAULT_DIMENSIONS = 1536


def vector(text: str, dimensions: int) -> list[float]:
    """The fake's embedding of `text`: deterministic, a pure function of text and length."""
    values: list[float] = []
    counter = 0
    while len(values) < dimensions:
        digest = hashlib.sha256(f"{counter}|{text}".encode()).digest()
        values += [(b - 127.5) / 127.5 for b in digest]
        counter += 1
    return values[:dimensions]


def _texts(raw: Any) -> list[str] | None:
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and raw and all(isinstance(i, int) for i in raw):
        return [" ".join(map(str, raw))]
    if isinstance(raw, list) and raw and all(isinstance(i, str | list) for i in raw):
        return [i if isinstance(i, str) else " ".join(map(str, i)) for i in raw]
    return None


def _error(message: str) -> dict[str, Any]:
    return {
        "error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}
    }


def embeddings(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    model = str(body.get("model") or "")
    texts = _texts(body.get("input"))
    if not model or texts is None:
        return 400, _error("'model' and a valid 'input' are required.")
    dims = int(body.get("dimensions") or NATIVE_DIMENSIONS.get(model, DEFAULT_DIMENSIONS))
    data = []
    for index, text in enumerate(texts):
        values = vector(text, dims)
        encoded: Any = values
        if body.get("encoding_format") == "base64":
            encoded = base64.b64encode(struct.pack(f"<{dims}f", *values)).decode()
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(len(t.split()) + 1 for t in texts)
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return 200, {"object": "list", "data": data, "model": model, "usage": usage}


HANDLERS = {"/openai/v1/embeddings": embeddings}


async def serve(conn: _Conn, fake: FakeUpstream, handler: Any, wire: Any) -> None:
    """Answer one non-chat request: auth, a queued status/drop fault, or the handler's JSON."""
    rec = conn.rec
    denied = wire.auth_error(rec.headers)
    if denied:
        return await conn.json(denied[0], denied[1], wire.headers())
    fault = fake._take_fault(rec.model)
    rec.fault = fault.kind if fault else None
    if fault and fault.kind == "drop":
        return await conn.cut()
    if fault and fault.kind == "status":
        headers = [(k.lower().encode(), v.encode()) for k, v in fault.headers.items()]
        return await conn.json(fault.status, fault.body or wire.error(fault.status), headers)
    if handler is responses and rec.body.get("stream") and rec.body.get("model"):
        cut = fault.chunks if fault and fault.kind == "stream_error" else None
        return await stream_responses(conn, rec.body, cut)
    status, obj = handler(rec.body)
    await conn.json(status, obj, wire.headers())


# --------------------------------------------------------------------------- /v1/responses


def _last_user_text(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    for item in reversed(raw if isinstance(raw, list) else []):
        if not isinstance(item, dict) or item.get("role") != "user":
            continue
        content = item.get("content")
        if isinstance(content, str):
            return content
        return " ".join(str(p.get("text") or "") for p in content or () if isinstance(p, dict))
    return ""


def _wants_call(body: dict[str, Any]) -> dict[str, Any] | None:
    """The first function tool for a "call: ..." prompt, unless the input answers a call."""
    tools = [
        t for t in body.get("tools") or () if isinstance(t, dict) and t.get("type") == "function"
    ]
    items = body.get("input") if isinstance(body.get("input"), list) else []
    answered = any(isinstance(i, dict) and i.get("type") == "function_call_output" for i in items)
    asked = _last_user_text(body.get("input")).startswith("call:")
    return tools[0] if tools and asked and not answered else None


def response_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    """What the fake answers: [reasoning], then a function call or a message."""
    items: list[dict[str, Any]] = []
    model = str(body.get("model") or "")
    if body.get("reasoning"):
        reasoning: dict[str, Any] = {
            "id": "rs_fake1",
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "Thinking it through."}],
        }
        if "reasoning.encrypted_content" in (body.get("include") or ()):
            reasoning["encrypted_content"] = "gAAAA-fake-encrypted-" + model
        items.append(reasoning)
    tool = _wants_call(body)
    if tool is not None:
        arguments = json.dumps({"query": _last_user_text(body.get("input"))})
        items.append(
            {
                "id": "fc_fake1",
                "type": "function_call",
                "status": "completed",
                "call_id": "call_fake1",
                "name": tool["name"],
                "arguments": arguments,
            }
        )
        return items
    outputs = (
        [
            i
            for i in body.get("input") or ()
            if isinstance(i, dict) and i.get("type") == "function_call_output"
        ]
        if isinstance(body.get("input"), list)
        else []
    )
    text = f"Hello from {model}: {_last_user_text(body.get('input'))}"
    if outputs:
        text = f"The tool said {outputs[-1].get('output')}"
    items.append(
        {
            "id": "msg_fake1",
            "type": "message",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }
    )
    return items


def _usage(body: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    words = len(json.dumps(body.get("input")).split())
    out = sum(len(json.dumps(i).split()) for i in items)
    return {
        "input_tokens": words,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": out,
        "output_tokens_details": {"reasoning_tokens": 3},
        "total_tokens": words + out,
    }


def response_body(body: dict[str, Any], status: str = "completed") -> dict[str, Any]:
    items = response_items(body)
    return {
        "id": "resp_fake" + hashlib.sha256(json.dumps(body).encode()).hexdigest()[:16],
        "object": "response",
        "created_at": 1700000000,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "model": body.get("model"),
        "output": items,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": body.get("reasoning") or {},
        "store": body.get("store", True),
        "temperature": body.get("temperature"),
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": body.get("tools") or [],
        "top_p": None,
        "truncation": "disabled",
        "usage": _usage(body, items),
        "metadata": {},
    }


def responses(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    if not body.get("model") or body.get("input") in (None, "", []):
        return 400, _error("'model' and 'input' are required.")
    return 200, response_body(body)


def _item_events(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    """The documented events of one output item, from added to done."""
    kind = item["type"]
    start = {**item, "status": "in_progress"}
    if kind == "message":
        start["content"] = []
    if kind == "function_call":
        start["arguments"] = ""
    if kind == "reasoning":
        start["summary"] = []
    events = [{"type": "response.output_item.added", "output_index": index, "item": start}]
    ids = {"item_id": item["id"], "output_index": index}
    if kind == "message":
        text = item["content"][0]["text"]
        part = {"type": "output_text", "text": "", "annotations": []}
        events.append(
            {"type": "response.content_part.added", **ids, "content_index": 0, "part": part}
        )
        for word in text.split(" "):
            piece = word if events[-1]["type"] == "response.content_part.added" else " " + word
            events.append(
                {"type": "response.output_text.delta", **ids, "content_index": 0, "delta": piece}
            )
        done = {**part, "text": text}
        events.append(
            {"type": "response.output_text.done", **ids, "content_index": 0, "text": text}
        )
        events.append(
            {"type": "response.content_part.done", **ids, "content_index": 0, "part": done}
        )
    elif kind == "function_call":
        args = item["arguments"]
        for start_at in range(0, len(args), 8):
            events.append(
                {
                    "type": "response.function_call_arguments.delta",
                    **ids,
                    "delta": args[start_at : start_at + 8],
                }
            )
        events.append({"type": "response.function_call_arguments.done", **ids, "arguments": args})
    elif kind == "reasoning":
        text = item["summary"][0]["text"]
        part = {"type": "summary_text", "text": ""}
        events.append(
            {
                "type": "response.reasoning_summary_part.added",
                **ids,
                "summary_index": 0,
                "part": part,
            }
        )
        events.append(
            {
                "type": "response.reasoning_summary_text.delta",
                **ids,
                "summary_index": 0,
                "delta": text,
            }
        )
        events.append(
            {
                "type": "response.reasoning_summary_text.done",
                **ids,
                "summary_index": 0,
                "text": text,
            }
        )
        events.append(
            {
                "type": "response.reasoning_summary_part.done",
                **ids,
                "summary_index": 0,
                "part": {**part, "text": text},
            }
        )
    events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    return events


def response_events(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The whole documented stream of a response, sequence numbers included."""
    final = response_body(body)
    start = {**final, "status": "in_progress", "output": [], "usage": None}
    events = [
        {"type": "response.created", "response": start},
        {"type": "response.in_progress", "response": start},
    ]
    for index, item in enumerate(final["output"]):
        events += _item_events(index, item)
    events.append({"type": "response.completed", "response": final})
    return [{**event, "sequence_number": n} for n, event in enumerate(events)]


def frame(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


async def stream_responses(conn: _Conn, body: dict[str, Any], cut_after: int | None) -> None:
    """Stream the events; with `cut_after`, end with response.failed after that many."""
    from .fake_upstream import SSE_HEADERS

    events = response_events(body)
    await conn.start(200, SSE_HEADERS)
    for n, event in enumerate(events):
        if cut_after is not None and n == cut_after:
            failed = {
                **events[0]["response"],
                "status": "failed",
                "error": {"code": "server_error", "message": "The model crashed."},
            }
            await conn.body(
                frame({"type": "response.failed", "sequence_number": n, "response": failed}),
                more=False,
            )
            return
        await conn.body(frame(event))
    await conn.body(b"", more=False)


HANDLERS["/openai/v1/responses"] = responses


def completions(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The legacy /v1/completions: the prompt echoed back."""
    prompt = body.get("prompt")
    if not body.get("model") or prompt in (None, ""):
        return 400, _error("'model' and 'prompt' are required.")
    text = f" and then {prompt if isinstance(prompt, str) else prompt[0]}"
    words = len(str(prompt).split())
    return 200, {
        "id": "cmpl-fake",
        "object": "text_completion",
        "created": 1700000000,
        "model": body["model"],
        "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": words, "completion_tokens": 3, "total_tokens": words + 3},
    }


HANDLERS["/openai/v1/completions"] = completions
