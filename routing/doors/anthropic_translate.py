"""The Anthropic door's translation to and from the engine's internal request (OpenAI chat
shape), for models on OpenAI-compatible providers. Whatever has no equivalent is collected
by name for the `x-switchyard-dropped` header, never dropped silently.
"""

from __future__ import annotations

from typing import Any

import orjson

KNOWN_FIELDS = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "system",
        "stream",
        "temperature",
        "top_p",
        "top_k",
        "stop_sequences",
        "tools",
        "tool_choice",
        "metadata",
        "thinking",
    }
)
FINISH_TO_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
MAX_STOPS = 4  # OpenAI's limit


class Dropped:
    """Names of what could not cross, in first-seen order."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def add(self, name: str) -> None:
        if name not in self.names:
            self.names.append(name)

    def header(self) -> str:
        return ", ".join(self.names)


def _text_of(content: Any, dropped: Dropped) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for block in content or ():
        if block.get("cache_control"):
            dropped.add("cache_control")
        if block.get("type") == "text":
            parts.append(block.get("text", ""))
        elif block.get("type") == "image":
            dropped.add("image in tool_result")
    return "\n".join(parts)


def _image_url(source: dict[str, Any]) -> str:
    if source.get("type") == "base64":
        return f"data:{source.get('media_type')};base64,{source.get('data')}"
    return str(source.get("url", ""))


def _user_parts(block: dict[str, Any], dropped: Dropped) -> list[dict[str, Any]]:
    kind = block["type"]
    if kind == "text":
        return [{"type": "text", "text": block["text"]}]
    if kind == "image" and block["source"]["type"] in ("base64", "url"):
        return [{"type": "image_url", "image_url": {"url": _image_url(block["source"])}}]
    if kind == "document" and (block.get("source") or {}).get("type") == "text":
        return [{"type": "text", "text": str(block["source"].get("data", ""))}]
    dropped.add(kind)
    return []


def _user(message: dict[str, Any], dropped: Dropped) -> list[dict[str, Any]]:
    content = message["content"]
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in content:
        if block.get("cache_control"):
            dropped.add("cache_control")
        if block["type"] == "tool_result":
            text = _text_of(block.get("content"), dropped)
            if block.get("is_error"):
                text = f"Error: {text}"
            out.append({"role": "tool", "tool_call_id": block["tool_use_id"], "content": text})
        else:
            parts += _user_parts(block, dropped)
    if parts:
        out.append({"role": "user", "content": parts})
    return out


def _assistant(message: dict[str, Any], dropped: Dropped) -> dict[str, Any]:
    content = message["content"]
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts, calls = [], []
    for block in content:
        if block.get("cache_control"):
            dropped.add("cache_control")
        kind = block["type"]
        if kind == "text":
            texts.append(block["text"])
        elif kind == "tool_use":
            arguments = orjson.dumps(block.get("input") or {}).decode()
            calls.append(
                {
                    "id": block["id"],
                    "type": "function",
                    "function": {"name": block["name"], "arguments": arguments},
                }
            )
        else:
            dropped.add("thinking" if kind == "redacted_thinking" else kind)
    out: dict[str, Any] = {"role": "assistant", "content": "".join(texts)}
    if calls:
        out["tool_calls"] = calls
        out["content"] = out["content"] or None
    return out


def _tools(tools: list[dict[str, Any]], dropped: Dropped) -> list[dict[str, Any]]:
    out = []
    for tool in tools:
        if tool.get("type") not in (None, "custom"):
            dropped.add(f"server tool {tool.get('type')}")
            continue
        if tool.get("cache_control"):
            dropped.add("cache_control")
        function = {"name": tool["name"], "parameters": tool["input_schema"]}
        if tool.get("description"):
            function["description"] = tool["description"]
        out.append({"type": "function", "function": function})
    return out


def _tool_choice(choice: dict[str, Any]) -> Any:
    kind = choice["type"]
    if kind == "tool":
        return {"type": "function", "function": {"name": choice["name"]}}
    return {"auto": "auto", "any": "required", "none": "none"}[kind]


def _system(system: Any, dropped: Dropped) -> list[dict[str, Any]]:
    if not system:
        return []
    return [{"role": "system", "content": _text_of(system, dropped)}]


def _options(data: dict[str, Any], chat: dict[str, Any], dropped: Dropped) -> None:
    for name in ("temperature", "top_p", "stream"):
        if data.get(name) is not None:
            chat[name] = data[name]
    stops = data.get("stop_sequences") or []
    if stops:
        chat["stop"] = stops[:MAX_STOPS]
        if len(stops) > MAX_STOPS:
            dropped.add("stop_sequences beyond 4")
    if data.get("top_k") is not None:
        dropped.add("top_k")
    if (data.get("thinking") or {}).get("type") in ("enabled", "adaptive"):
        dropped.add("thinking")
    user_id = (data.get("metadata") or {}).get("user_id")
    if isinstance(user_id, str):
        chat["user"] = user_id
    for name in data:
        if name not in KNOWN_FIELDS:
            dropped.add(name)


def _tool_options(data: dict[str, Any], chat: dict[str, Any], dropped: Dropped) -> None:
    tools = _tools(data.get("tools") or [], dropped)
    choice = data.get("tool_choice")
    if tools:
        chat["tools"] = tools
        if choice:
            chat["tool_choice"] = _tool_choice(choice)
            if choice.get("disable_parallel_tool_use"):
                chat["parallel_tool_calls"] = False


def to_chat(data: dict[str, Any]) -> tuple[dict[str, Any], Dropped]:
    """A validated Messages request -> a chat-completions request, and what was dropped."""
    dropped = Dropped()
    messages = _system(data.get("system"), dropped)
    for message in data["messages"]:
        if message["role"] == "user":
            messages += _user(message, dropped)
        else:
            messages.append(_assistant(message, dropped))
    if not messages or all(m["role"] == "system" for m in messages):
        messages.append({"role": "user", "content": ""})
    chat: dict[str, Any] = {"model": data["model"], "messages": messages}
    if data.get("max_tokens") is not None:
        chat["max_tokens"] = data["max_tokens"]
    _options(data, chat, dropped)
    _tool_options(data, chat, dropped)
    return chat, dropped


# --------------------------------------------------------------------------- answers


def usage_of(usage: dict[str, Any] | None) -> dict[str, int]:
    """OpenAI usage -> Anthropic usage (input without the cached part, as Anthropic counts)."""
    usage = usage or {}
    cached = int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
    return {
        "input_tokens": max(0, int(usage.get("prompt_tokens") or 0) - cached),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
        "output_tokens": int(usage.get("completion_tokens") or 0),
    }


def _arguments(raw: Any) -> dict[str, Any]:
    try:
        value = orjson.loads(raw or "{}")
    except orjson.JSONDecodeError:
        return {"_raw_arguments": str(raw)}
    return value if isinstance(value, dict) else {"value": value}


def message_from_chat(body: dict[str, Any], model: str) -> dict[str, Any]:
    """A chat.completion -> an Anthropic message (the first choice)."""
    choice = (body.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    if message.get("content"):
        content.append({"type": "text", "text": str(message["content"])})
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id") or "toolu_switchyard",
                "name": function.get("name", ""),
                "input": _arguments(function.get("arguments")),
            }
        )
    return {
        "id": "msg_" + str(body.get("id", "")).removeprefix("chatcmpl-"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": FINISH_TO_STOP.get(choice.get("finish_reason") or "", "end_turn"),
        "stop_sequence": None,
        "usage": usage_of(body.get("usage")),
    }
