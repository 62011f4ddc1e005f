"""What the simulator answers besides prose: JSON for `response_format` (matching the schema
when one is given), a tool call when `tool_choice` requires one, and one answer per `n`.
The no-key demo is where people try the langchain and instructor quickstarts first, so these
must behave like a real model's, never be dropped."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

MAX_DEPTH = 6


@dataclass
class Answer:
    """One choice: text, or tool calls (OpenAI shape), and why it finished."""

    text: str
    finish: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    words: list[str] = field(default_factory=list)  # how the text streams, one token each

    @property
    def tokens(self) -> int:
        if self.words:
            return len(self.words)
        return max(1, len(self.text or orjson.dumps(self.tool_calls).decode()) // 4)


def instance(schema: Any, label: str, depth: int = 0) -> Any:
    """A value that validates against a (JSON Schema) `schema`; strings carry `label`."""
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return label
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return instance(schema[key][0], label, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    return _typed(kind, schema, label, depth)


def _typed(kind: Any, schema: dict[str, Any], label: str, depth: int) -> Any:
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties") or {}
        return {name: instance(sub, label, depth + 1) for name, sub in properties.items()}
    if kind == "array":
        count = max(1, int(schema.get("minItems") or 1))
        return [instance(schema.get("items"), label, depth + 1) for _ in range(count)]
    if kind == "integer":
        return int(schema.get("minimum") or 1)
    if kind == "number":
        return float(schema.get("minimum") or 1.5)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    minimum = int(schema.get("minLength") or 0)
    return label.ljust(minimum, ".")


def json_answer(response_format: dict[str, Any], prose: str) -> str | None:
    """The JSON text for a response_format, or None for plain text."""
    kind = response_format.get("type")
    if kind == "json_object":
        return orjson.dumps({"answer": prose, "simulated": True}).decode()
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        return orjson.dumps(instance(schema, "simulated")).decode()
    return None


def forced_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    """The tool a request requires a call to (tool_choice required or a named function)."""
    tools = [t for t in body.get("tools") or () if isinstance(t, dict)]
    choice = body.get("tool_choice")
    if not tools or choice in (None, "auto", "none"):
        return None
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        return next((t for t in tools if (t.get("function") or {}).get("name") == name), None)
    return tools[0] if choice == "required" else None


def tool_call(tool: dict[str, Any], index: int) -> dict[str, Any]:
    function = tool.get("function") or {}
    arguments = instance(function.get("parameters") or {"type": "object"}, "simulated")
    return {
        "id": f"call_sim{index}",
        "type": "function",
        "function": {
            "name": function.get("name", ""),
            "arguments": orjson.dumps(arguments).decode(),
        },
    }


def answers(body: dict[str, Any], prose: list[list[str]], finish: str) -> list[Answer]:
    """`n` answers (prose[i] is the i-th answer's words) shaped by the request."""
    tool = forced_tool(body)
    out = []
    for index, words in enumerate(prose):
        if tool is not None:
            out.append(Answer("", "tool_calls", [tool_call(tool, index)]))
            continue
        text = "".join(words)
        shaped = json_answer(body.get("response_format") or {}, text)
        if shaped is not None:
            out.append(Answer(shaped, "stop", words=[shaped]))
        else:
            out.append(Answer(text, finish, words=words))
    return out
