"""Wire formats for tests/fake_upstream.py: what both protocols share, and Anthropic Messages.

The first part is protocol-neutral: the parsed request (`Prompt`), the reply to give (`Plan`,
built by `plan_reply`), a rendered stream (`Frames`) and the `Wire` interface that the OpenAI
wire (in fake_upstream.py) and the Anthropic wire (below) implement.

Anthropic streams follow the documented event flow (see tests/fixtures/anthropic/):
message_start, content_block_start, ping, content_block_delta (text_delta / input_json_delta),
content_block_stop, message_delta (stop_reason, stop_sequence, cumulative usage), message_stop;
errors are ``{"type": "error", "error": {"type": ..., "message": ...}}``.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from dataclasses import dataclass
from typing import Any, Protocol

Headers = list[tuple[bytes, bytes]]
_ALNUM = string.ascii_letters + string.digits


# --------------------------------------------------------------------------- shared


@dataclass
class Prompt:
    """The protocol-neutral parts of a request that shape the reply."""

    words: int
    last_user: str
    tool: str | None
    stops: list[str]
    max_tokens: int | None
    json_mode: bool = False


@dataclass
class Plan:
    """The reply the fake will give, before it is rendered in a wire format."""

    text: str
    chunks: list[str]  # text pieces, or argument fragments for a tool call
    finish: str  # "stop" | "length" | "stop_sequence" | "tool"
    stop_sequence: str | None = None
    tool: str | None = None  # tool name when the reply is a tool call
    arguments: str = ""  # tool-call arguments as a JSON string
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_creation: int = 0
    cache_read: int = 0
    no_usage: bool = False  # an OpenAI-compatible server that reports no usage at all


@dataclass
class Frames:
    """A rendered stream: `content` frames are the ones faults count and cut between."""

    head: list[bytes]
    content: list[bytes]
    tail: list[bytes]


class Wire(Protocol):
    """One wire protocol (OpenAI chat completions, Anthropic Messages)."""

    def headers(self) -> Headers: ...
    def auth_error(self, headers: dict[str, str]) -> tuple[int, dict] | None: ...
    def invalid(self, body: dict, parsed: bool) -> dict | None: ...
    def prompt(self, body: dict) -> Prompt: ...
    def response(self, model: str, plan: Plan) -> dict: ...
    def frames(self, model: str, plan: Plan, body: dict) -> Frames: ...
    def error(self, status: int, message: str | None = None) -> dict: ...
    def error_frame(self, error: dict) -> bytes: ...
    def broken_frame(self) -> bytes: ...


def new_id(prefix: str, length: int) -> str:
    """A random id like the providers' (`chatcmpl-…`, `msg_01…`)."""
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))


def sse(data: dict | str, event: str | None = None) -> bytes:
    """One server-sent event: optional `event:` line, one `data:` line, blank line."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def words_of(text: str) -> list[str]:
    """Split into word chunks with their leading whitespace; ''.join(result) == text."""
    parts = re.findall(r"\s*\S+", text)
    rest = text[sum(map(len, parts)) :]
    if rest:
        parts = [*parts[:-1], parts[-1] + rest] if parts else [rest]
    return parts


def _fragments(text: str, count: int = 4) -> list[str]:
    size = max(1, -(-len(text) // count))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _apply_limits(
    text: str, stops: list[str], max_tokens: int | None
) -> tuple[str, str, str | None]:
    finish, matched = "stop", None
    hits = sorted((text.find(s), s) for s in stops if s and s in text)
    if hits:
        pos, matched = hits[0]
        text, finish = text[:pos], "stop_sequence"
    words = words_of(text)
    if max_tokens is not None and len(words) > max_tokens:
        return "".join(words[:max_tokens]), "length", None
    return text, finish, matched


def _text_plan(model: str, prompt: Prompt, reply: str | None) -> Plan:
    if reply is None:
        reply = f"Hello from {model}. You said: {prompt.last_user[:200]}"
    if prompt.json_mode:
        reply = json.dumps({"answer": reply})
    text, finish, stop_sequence = _apply_limits(reply, prompt.stops, prompt.max_tokens)
    return Plan(text, words_of(text), finish, stop_sequence, completion_tokens=len(text.split()))


def _tool_plan(tool: str, query: str) -> Plan:
    arguments = json.dumps({"query": query})
    plan = Plan("", _fragments(arguments), "tool", None, tool, arguments)
    plan.completion_tokens = len(arguments.split())
    return plan


def plan_reply(model: str, prompt: Prompt, reply: str | None, cache: tuple[int, int]) -> Plan:
    """Decide the reply: a tool call for "call: ..." prompts with tools, else (limited) text."""
    if prompt.tool and prompt.last_user.startswith("call:"):
        plan = _tool_plan(prompt.tool, prompt.last_user[len("call:") :].strip())
    else:
        plan = _text_plan(model, prompt, reply)
    plan.prompt_tokens, (plan.cache_creation, plan.cache_read) = prompt.words, cache
    return plan


# --------------------------------------------------------------------------- Anthropic

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool": "tool_use",
}
ERROR_TYPES = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use this resource."),
    404: ("not_found_error", "The requested resource could not be found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of request tokens has exceeded your rate limit."),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}


def _block_text(block: Any) -> str:
    if not isinstance(block, dict):
        return ""
    if block.get("type") == "text":
        return str(block.get("text", ""))
    if block.get("type") == "tool_result":
        return _content_text(block.get("content"))
    return ""


def _content_text(content: Any) -> str:
    """Text of a string or a list of content blocks (text and tool_result blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(_block_text(block) for block in content)
    return ""


@dataclass
class Script:
    """A reply given in full: raw SSE frames to replay, or an Anthropic message."""

    message: dict | None = None
    frames: list[bytes] | None = None


def recorded_frames(text: str) -> list[bytes]:
    """A recorded stream (blank-line separated events) as frames, byte for byte."""
    return [block.strip("\n").encode() + b"\n\n" for block in text.split("\n\n") if block.strip()]


def _block_events(index: int, block: dict) -> list[bytes]:
    """One content block as content_block_start, its deltas and content_block_stop."""
    kind, deltas = block["type"], []
    shell = dict(block)
    if kind == "text":
        shell = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": part} for part in words_of(block["text"])]
        deltas += [{"type": "citations_delta", "citation": c} for c in block.get("citations") or ()]
    elif kind == "thinking":
        shell = {"type": "thinking", "thinking": ""}
        deltas = [{"type": "thinking_delta", "thinking": p} for p in words_of(block["thinking"])]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    elif kind in ("tool_use", "server_tool_use"):
        shell = {**block, "input": {}}
        raw = json.dumps(block.get("input") or {})
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in _fragments(raw, 3)]
    start = {"type": "content_block_start", "index": index, "content_block": shell}
    out = [_event(start)]
    out += [_event({"type": "content_block_delta", "index": index, "delta": d}) for d in deltas]
    return [*out, _event({"type": "content_block_stop", "index": index})]


def render_message(message: dict) -> list[bytes]:
    """A whole Anthropic message as the documented event sequence."""
    usage = dict(message.get("usage") or {})
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None}
    start["usage"] = {**usage, "output_tokens": 1}
    frames = [_event({"type": "message_start", "message": start}), _event({"type": "ping"})]
    for index, block in enumerate(message.get("content") or ()):
        frames += _block_events(index, block)
    delta = {
        "stop_reason": message.get("stop_reason"),
        "stop_sequence": message.get("stop_sequence"),
    }
    if message.get("stop_details") is not None:
        delta["stop_details"] = message["stop_details"]
    frames.append(_event({"type": "message_delta", "delta": delta, "usage": usage}))
    return [*frames, _event({"type": "message_stop"})]


class AnthropicWire:
    """Anthropic Messages (`POST /v1/messages`), as api.anthropic.com sends it."""

    def count(self, body: dict) -> dict:
        """`/v1/messages/count_tokens`: words of system, messages and tools."""
        words = self.prompt({"max_tokens": 1, **body}).words
        tools = body.get("tools")
        return {"input_tokens": words + (len(json.dumps(tools).split()) if tools else 0)}

    def headers(self) -> Headers:
        return [(b"request-id", new_id("req_011C", 20).encode())]

    def auth_error(self, headers: dict[str, str]) -> tuple[int, dict] | None:
        if not headers.get("x-api-key", "").strip():
            return 401, self.error(401, "x-api-key header is required")
        if not headers.get("anthropic-version", "").strip():
            return 400, self.error(400, "anthropic-version: header is required")
        return None

    def invalid(self, body: dict, parsed: bool) -> dict | None:
        if not parsed:
            return self.error(400, "There was an issue with the JSON body of your request.")
        for name in ("model", "messages", "max_tokens"):
            if name not in body:
                return self.error(400, f"{name}: Field required")
        if not isinstance(body["messages"], list):
            return self.error(400, "messages: Input should be a valid list")
        return None

    def prompt(self, body: dict) -> Prompt:
        messages = [m for m in body["messages"] if isinstance(m, dict)]
        users = [_content_text(m.get("content")) for m in messages if m.get("role") == "user"]
        texts = [
            _content_text(body.get("system")),
            *(_content_text(m.get("content")) for m in messages),
        ]
        tools = body.get("tools") or []
        return Prompt(
            words=sum(len(text.split()) for text in texts),
            last_user=users[-1] if users else "",
            tool=tools[0].get("name") if tools else None,
            stops=list(body.get("stop_sequences") or []),
            max_tokens=body.get("max_tokens"),
        )

    def response(self, model: str, plan: Plan) -> dict:
        block = self._block(plan)
        if plan.tool:
            block["input"] = json.loads(plan.arguments)
        else:
            block["text"] = plan.text
        return {
            "id": new_id("msg_01", 22),
            "type": "message",
            "role": "assistant",
            "content": [block],
            "model": model,
            "stop_reason": STOP_REASONS[plan.finish],
            "stop_sequence": plan.stop_sequence,
            "usage": self._usage(plan, plan.completion_tokens),
        }

    def frames(self, model: str, plan: Plan, body: dict) -> Frames:
        message = {
            "id": new_id("msg_01", 22),
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": model,
            "stop_reason": None,
            "stop_sequence": None,
            "usage": self._usage(plan, 1),
        }
        start = {"type": "content_block_start", "index": 0, "content_block": self._block(plan)}
        head = [_event({"type": "message_start", "message": message}), _event(start)]
        head.append(_event({"type": "ping"}))
        kind, key = ("input_json_delta", "partial_json") if plan.tool else ("text_delta", "text")
        if plan.tool:  # the documented tool stream opens with an empty partial_json delta
            head.append(_delta({"type": kind, key: ""}))
        stop = {"stop_reason": STOP_REASONS[plan.finish], "stop_sequence": plan.stop_sequence}
        usage = self._usage(plan, plan.completion_tokens)
        tail = [
            _event({"type": "content_block_stop", "index": 0}),
            _event({"type": "message_delta", "delta": stop, "usage": usage}),
            _event({"type": "message_stop"}),
        ]
        return Frames(head, [_delta({"type": kind, key: part}) for part in plan.chunks], tail)

    def error(self, status: int, message: str | None = None) -> dict:
        fallback = ("api_error", "Internal server error")
        if status < 500:
            fallback = ("invalid_request_error", "Invalid request.")
        kind, default = ERROR_TYPES.get(status, fallback)
        return {
            "type": "error",
            "error": {"type": kind, "message": message or default},
            "request_id": new_id("req_011C", 20),
        }

    def error_frame(self, error: dict) -> bytes:
        return sse({"type": "error", "error": error.get("error", error)}, "error")

    def broken_frame(self) -> bytes:
        data = '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel'
        return sse(data, "content_block_delta")

    def _block(self, plan: Plan) -> dict[str, Any]:
        if plan.tool:
            return {
                "type": "tool_use",
                "id": new_id("toolu_01", 22),
                "name": plan.tool,
                "input": {},
            }
        return {"type": "text", "text": ""}

    def _usage(self, plan: Plan, output_tokens: int) -> dict[str, int]:
        return {
            "input_tokens": plan.prompt_tokens,
            "cache_creation_input_tokens": plan.cache_creation,
            "cache_read_input_tokens": plan.cache_read,
            "output_tokens": output_tokens,
        }


def _event(data: dict) -> bytes:
    return sse(data, data["type"])


def _delta(delta: dict) -> bytes:
    return _event({"type": "content_block_delta", "index": 0, "delta": delta})
