"""A non-streaming answer built from a stream.

Attempts that have a fallback after them are requested upstream as streams even when the
client asked for one JSON answer: the first-token deadline then tells a hung provider from a
slow one (a non-streaming upstream sends nothing until it is done). The chunks are put back
together here in OpenAI's chat.completion shape.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from routing.catalog.pricing import TokenUsage
from routing.providers import Chunk, Completion


class _Choice:
    def __init__(self, index: int) -> None:
        self.index = index
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.tools: dict[int, dict[str, Any]] = {}
        self.finish: str | None = None

    def add(self, choice: dict[str, Any]) -> None:
        delta = choice.get("delta") or {}
        self.content.append(delta.get("content") or "")
        self.reasoning.append(delta.get("reasoning_content") or "")
        for call in delta.get("tool_calls") or ():
            self._tool(call)
        self.finish = choice.get("finish_reason") or self.finish

    def _tool(self, call: dict[str, Any]) -> None:
        slot = self.tools.setdefault(
            call.get("index", len(self.tools)),
            {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
        )
        slot["id"] = call.get("id") or slot["id"]
        function = call.get("function") or {}
        slot["function"]["name"] += function.get("name") or ""
        slot["function"]["arguments"] += function.get("arguments") or ""

    def body(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.content) or None}
        if any(self.reasoning):
            message["reasoning_content"] = "".join(self.reasoning)
        if self.tools:
            message["tool_calls"] = [self.tools[i] for i in sorted(self.tools)]
        return {"index": self.index, "message": message, "logprobs": None,
                "finish_reason": self.finish}  # fmt: skip


def assemble(chunks: Iterable[Chunk]) -> Completion:
    choices: dict[int, _Choice] = {}
    first: dict[str, Any] = {}
    usage: TokenUsage | None = None
    for chunk in chunks:
        first = first or chunk.data
        for choice in chunk.data.get("choices") or ():
            index = choice.get("index", 0)
            choices.setdefault(index, _Choice(index)).add(choice)
        if chunk.usage is not None:
            usage = chunk.usage
    body = {
        "id": first.get("id", ""),
        "object": "chat.completion",
        "created": first.get("created", 0),
        "model": first.get("model", ""),
        "choices": [choices[i].body() for i in sorted(choices)],
    }
    if usage is not None:
        body["usage"] = usage.to_openai()
    return Completion(body=body, usage=usage or TokenUsage())


async def collect(head: list[Chunk], rest: AsyncIterator[Chunk]) -> Completion:
    """The whole stream (its first token already in `head`) as one answer."""
    chunks = list(head)
    try:
        async for chunk in rest:
            chunks.append(chunk)
    finally:
        await rest.aclose()  # type: ignore[attr-defined]
    return assemble(chunks)
