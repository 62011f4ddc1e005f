"""The Responses API crossing into chat completions and back, for upstreams without it.

`to_chat()` turns a Responses request (instructions, input items, function tools, text.format,
limits) into a chat-completions body; `response_object()` turns the chat answer into a
Responses `response` with output items. What cannot cross (reasoning items, reasoning effort)
is named in `dropped`, which the door puts in `x-switchyard-dropped`.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from routing.errors import invalid

PASSED = ("temperature", "top_p", "parallel_tool_calls")


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(16)}"


@dataclass
class Translation:
    body: dict[str, Any]
    dropped: list[str] = field(default_factory=list)


def _part(part: Any, where: str) -> dict[str, Any]:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind in ("input_text", "output_text", "text"):
        return {"type": "text", "text": str(part.get("text") or "")}
    if kind == "refusal":
        return {"type": "text", "text": str(part.get("refusal") or "")}
    if kind == "input_image":
        url = part.get("image_url")
        if not isinstance(url, str):
            raise invalid(f"'{where}.image_url' must be a URL or data URL.", param=where)
        return {
            "type": "image_url",
            "image_url": {"url": url, "detail": part.get("detail", "auto")},
        }
    raise invalid(f"'{where}.type' {kind!r} is not a content part this upstream takes.", where)


def _content(content: Any, where: str) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise invalid(f"'{where}' must be a string or a list of content parts.", param=where)
    parts = [_part(p, f"{where}[{i}]") for i, p in enumerate(content)]
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _message(item: dict[str, Any], where: str) -> dict[str, Any]:
    role = item.get("role")
    if role not in ("user", "system", "developer", "assistant"):
        raise invalid(f"'{where}.role' must be user, system, developer or assistant.", where)
    content = _content(item.get("content"), f"{where}.content")
    if role == "assistant" and not isinstance(content, str):
        content = "".join(p.get("text", "") for p in content)
    return {"role": role, "content": content}


def _call(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(item.get("call_id") or item.get("id") or new_id("call")),
        "type": "function",
        "function": {"name": str(item.get("name") or ""), "arguments": item.get("arguments") or ""},
    }


def messages(items: list[Any], dropped: list[str]) -> list[dict[str, Any]]:
    """Chat messages from Responses input items (consecutive function calls: one message)."""
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        where = f"input[{i}]"
        kind = item.get("type", "message") if isinstance(item, dict) else None
        if kind == "message":
            out.append(_message(item, where))
        elif kind == "function_call":
            last = out[-1] if out else None
            if last is None or last["role"] != "assistant" or "tool_calls" not in last:
                last = {"role": "assistant", "content": None, "tool_calls": []}
                out.append(last)
            last["tool_calls"].append(_call(item))
        elif kind == "function_call_output":
            output = item.get("output")
            text = output if isinstance(output, str) else str(output)
            out.append({"role": "tool", "tool_call_id": str(item.get("call_id")), "content": text})
        elif kind == "reasoning":
            if "input.reasoning" not in dropped:
                dropped.append("input.reasoning")
        else:
            raise invalid(f"'{where}.type' {kind!r} is not an input item Switchyard takes.", where)
    return out


def input_items(raw: Any) -> list[dict[str, Any]]:
    """The request's `input` as a list of items (a string is one user message)."""
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": raw}]
    if not isinstance(raw, list):
        raise invalid("'input' must be a string or a list of input items.", param="input")
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise invalid(f"'input[{i}]' must be an object.", param=f"input[{i}]")
    return raw


def function_tools(tools: list[Any], where: str = "tools") -> list[dict[str, Any]]:
    """Chat tools for function tools (those grouped in a `namespace` included); any other
    tool type is refused, naming it: a chat upstream cannot run it."""
    out = []
    for i, tool in enumerate(tools):
        if isinstance(tool, dict) and tool.get("type") == "namespace":
            out += function_tools(tool.get("tools") or [], f"{where}[{i}].tools")
            continue
        if not isinstance(tool, dict) or tool.get("type") != "function":
            kind = tool.get("type") if isinstance(tool, dict) else tool
            raise invalid(
                f"'{where}[{i}]' is a {kind!r} tool; the chosen upstream has no Responses API "
                "and runs only function tools.",
                param=f"{where}[{i}].type",
            )
        if not isinstance(tool.get("name"), str) or not tool["name"]:
            raise invalid(f"'{where}[{i}].name' is required.", param=f"{where}[{i}].name")
        function = {
            k: tool[k] for k in ("name", "description", "parameters", "strict") if k in tool
        }
        out.append({"type": "function", "function": function})
    return out


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "function", "function": {"name": choice.get("name")}}
    return choice


def _format(text: Any) -> dict[str, Any] | None:
    fmt = (text or {}).get("format") if isinstance(text, dict) else None
    if not isinstance(fmt, dict) or fmt.get("type") in (None, "text"):
        return None
    if fmt["type"] == "json_object":
        return {"type": "json_object"}
    if fmt["type"] != "json_schema":
        raise invalid(f"'text.format.type' {fmt['type']!r} is unknown.", param="text.format.type")
    schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
    return {"type": "json_schema", "json_schema": schema}


def to_chat(req: dict[str, Any], items: list[dict[str, Any]]) -> Translation:
    """A chat-completions body for this Responses request over its whole conversation."""
    dropped: list[str] = []
    chat_messages = messages(items, dropped)
    if req.get("instructions"):
        chat_messages.insert(0, {"role": "system", "content": str(req["instructions"])})
    body: dict[str, Any] = {"model": req["model"], "messages": chat_messages}
    body.update({k: req[k] for k in PASSED if req.get(k) is not None})
    if req.get("max_output_tokens"):
        body["max_tokens"] = req["max_output_tokens"]
    if req.get("tools"):
        body["tools"] = function_tools(req["tools"])
    if req.get("tool_choice") is not None:
        body["tool_choice"] = _tool_choice(req["tool_choice"])
    if (fmt := _format(req.get("text"))) is not None:
        body["response_format"] = fmt
    if req.get("metadata"):
        body["metadata"] = req["metadata"]
    if req.get("reasoning"):
        dropped.append("reasoning")
    return Translation(body, dropped)


def usage(tokens: Any) -> dict[str, Any]:
    return {
        "input_tokens": tokens.input_tokens,
        "input_tokens_details": {"cached_tokens": tokens.cache_read_tokens},
        "output_tokens": tokens.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": tokens.input_tokens + tokens.output_tokens,
    }


def message_item(text: str, ident: str | None = None, status: str = "completed") -> dict:
    return {
        "id": ident or new_id("msg"),
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}] if text else [],
    }


def call_item(call: dict[str, Any], ident: str | None = None) -> dict[str, Any]:
    function = call.get("function") or {}
    return {
        "id": ident or new_id("fc"),
        "type": "function_call",
        "status": "completed",
        "call_id": call.get("id") or new_id("call"),
        "name": function.get("name") or "",
        "arguments": function.get("arguments") or "",
    }


def output_items(chat: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """Output items of a chat completion, and its finish reason."""
    choice = (chat.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    items = []
    if message.get("content"):
        items.append(message_item(str(message["content"])))
    items += [call_item(call) for call in message.get("tool_calls") or ()]
    return items, str(choice.get("finish_reason") or "stop")


def envelope(req: dict[str, Any], ident: str, model: str, status: str) -> dict[str, Any]:
    """The response object around output items (the fields the SDK reads)."""
    text = req.get("text") if isinstance(req.get("text"), dict) else {"format": {"type": "text"}}
    return {
        "id": ident,
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": req.get("instructions"),
        "max_output_tokens": req.get("max_output_tokens"),
        "model": model,
        "output": [],
        "parallel_tool_calls": req.get("parallel_tool_calls", True),
        "previous_response_id": req.get("previous_response_id"),
        "reasoning": req.get("reasoning") or {"effort": None, "summary": None},
        "store": req.get("store", True),
        "temperature": req.get("temperature"),
        "text": text,
        "tool_choice": req.get("tool_choice", "auto"),
        "tools": req.get("tools") or [],
        "top_p": req.get("top_p"),
        "truncation": req.get("truncation", "disabled"),
        "usage": None,
        "metadata": req.get("metadata") or {},
    }


def finish_status(finish: str) -> tuple[str, dict[str, str] | None]:
    if finish == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    if finish == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


def response_object(
    req: dict[str, Any], ident: str, model: str, chat: dict[str, Any], tokens: Any
) -> dict[str, Any]:
    items, finish = output_items(chat)
    status, details = finish_status(finish)
    body = envelope(req, ident, model, status)
    body.update(output=items, usage=usage(tokens), incomplete_details=details)
    return body
