"""Anthropic's streaming format on the way out: the engine's chunks encoded as Messages API
events, in Anthropic's order (message_start, content_block_start, ping, content_block_delta...,
content_block_stop, message_delta with stop_reason and usage, message_stop), or a native
stream's own events relayed as they came with only the model id changed.
"""

from __future__ import annotations

from typing import Any

import orjson

from routing.doors.anthropic_translate import FINISH_TO_STOP, usage_of
from routing.providers import Chunk


def event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def error_event(kind: str, message: str) -> bytes:
    return event("error", {"type": "error", "error": {"type": kind, "message": message}})


def native_event(name: str, raw: str, model: str) -> bytes:
    """An upstream event as it came; message_start gets the gateway's model id."""
    if name == "message_start":
        data = orjson.loads(raw)
        if isinstance(data.get("message"), dict):
            data["message"]["model"] = model
        return event(name, data)
    return b"event: " + name.encode() + b"\ndata: " + raw.encode() + b"\n\n"


class EventEncoder:
    """OpenAI chat.completion.chunk objects -> Anthropic events, one message."""

    def __init__(self, model: str, message_id: str, input_tokens: int) -> None:
        self.model = model
        self.message_id = message_id
        self.input_tokens = input_tokens
        self.index = -1
        self.open: tuple[str, int] | None = None  # ("text", 0) or ("tool", openai index)
        self.tools: dict[int, int] = {}  # OpenAI tool-call index -> block index
        self.stop_reason = "end_turn"
        self.usage: dict[str, int] | None = None
        self.pinged = False

    def start(self) -> bytes:
        usage = {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 1,
        }
        message: dict[str, Any] = {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        return event("message_start", {"type": "message_start", "message": message})

    def _open(self, kind: str, key: int, block: dict[str, Any]) -> list[bytes]:
        out = self._close()
        self.index += 1
        self.open = (kind, key)
        out.append(
            event(
                "content_block_start",
                {"type": "content_block_start", "index": self.index, "content_block": block},
            )
        )
        if not self.pinged:
            self.pinged = True
            out.append(event("ping", {"type": "ping"}))
        return out

    def _close(self) -> list[bytes]:
        if self.open is None:
            return []
        self.open = None
        return [event("content_block_stop", {"type": "content_block_stop", "index": self.index})]

    def _delta(self, index: int, delta: dict[str, Any]) -> bytes:
        data = {"type": "content_block_delta", "index": index, "delta": delta}
        return event("content_block_delta", data)

    def _text(self, text: str) -> list[bytes]:
        out = (
            [] if self.open == ("text", 0) else self._open("text", 0, {"type": "text", "text": ""})
        )
        return [*out, self._delta(self.index, {"type": "text_delta", "text": text})]

    def _tool(self, call: dict[str, Any]) -> list[bytes]:
        key = int(call.get("index") or 0)
        function = call.get("function") or {}
        out: list[bytes] = []
        if key not in self.tools:
            block: dict[str, Any] = {
                "type": "tool_use",
                "id": call.get("id") or f"toolu_{self.message_id}_{key}",
                "name": function.get("name") or "",
                "input": {},
            }
            out = self._open("tool", key, block)
            self.tools[key] = self.index
        arguments = function.get("arguments") or ""
        if arguments:
            delta = {"type": "input_json_delta", "partial_json": arguments}
            out.append(self._delta(self.tools[key], delta))
        return out

    def feed(self, chunk: Chunk) -> list[bytes]:
        if chunk.data.get("usage"):
            self.usage = usage_of(chunk.data["usage"])
        out: list[bytes] = []
        for choice in chunk.data.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if delta.get("content"):
                out += self._text(str(delta["content"]))
            for call in delta.get("tool_calls") or ():
                out += self._tool(call)
            if choice.get("finish_reason"):
                self.stop_reason = FINISH_TO_STOP.get(choice["finish_reason"], "end_turn")
        return out

    def finish(self, output_tokens: int) -> list[bytes]:
        usage = self.usage or {"output_tokens": output_tokens}
        delta = {"stop_reason": self.stop_reason, "stop_sequence": None}
        return [
            *self._close(),
            event("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}),
            event("message_stop", {"type": "message_stop"}),
        ]
