"""Validation of Anthropic Messages requests, as strict as Anthropic's own: each refusal is a
400 naming the field (`messages.0.content.1.tool_use_id`), never a 500 further in.

Unknown top-level fields are kept (betas add them; a native pass-through sends them on, a
translation names them in `x-switchyard-dropped`); unknown content block types are refused.
"""

from __future__ import annotations

from typing import Any

from routing.errors import GatewayError, invalid

BLOCK_TYPES = frozenset(
    {
        "text",
        "image",
        "document",
        "tool_use",
        "tool_result",
        "thinking",
        "redacted_thinking",
        "server_tool_use",
        "web_search_tool_result",
        "web_fetch_tool_result",
        "code_execution_tool_result",
        "bash_code_execution_tool_result",
        "text_editor_code_execution_tool_result",
        "mcp_tool_use",
        "mcp_tool_result",
        "search_result",
        "container_upload",
    }
)
TOOL_CHOICES = frozenset({"auto", "any", "tool", "none"})
THINKING_TYPES = frozenset({"enabled", "adaptive", "disabled"})  # Claude Code sends adaptive
IMAGE_SOURCES = frozenset({"base64", "url", "file"})


def _fail(path: str, message: str) -> GatewayError:
    return invalid(f"{path}: {message}", param=path)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(data: dict[str, Any], name: str, low: float, high: float) -> None:
    value = data.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise _fail(name, f"Input should be a number between {low} and {high}")


def _string(value: Any, path: str, required: bool = True) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str):
        raise _fail(
            path, "Input should be a valid string" if value is not None else "Field required"
        )


def _boolean(data: dict[str, Any], name: str, path: str | None = None) -> None:
    if name in data and not isinstance(data[name], bool):
        raise _fail(path or name, "Input should be a valid boolean")


def _image(block: dict[str, Any], path: str) -> None:
    source = block.get("source")
    if not isinstance(source, dict) or source.get("type") not in IMAGE_SOURCES:
        raise _fail(f"{path}.source", "Input should be a base64, url or file image source")
    if source["type"] == "base64":
        _string(source.get("media_type"), f"{path}.source.media_type")
        _string(source.get("data"), f"{path}.source.data")
    elif source["type"] == "url":
        _string(source.get("url"), f"{path}.source.url")


def _block(block: Any, path: str, role: str) -> None:
    if not isinstance(block, dict):
        raise _fail(path, "Input should be a valid content block object")
    kind = block.get("type")
    if not isinstance(kind, str):
        raise _fail(f"{path}.type", "Field required")
    if kind not in BLOCK_TYPES:
        raise _fail(f"{path}.type", f"Input tag '{kind}' does not match any of the block types")
    if kind == "text":
        _string(block.get("text"), f"{path}.text")
    elif kind == "image":
        _image(block, path)
    elif kind in ("tool_use", "server_tool_use"):
        _string(block.get("id"), f"{path}.id")
        _string(block.get("name"), f"{path}.name")
        if not isinstance(block.get("input"), dict):
            raise _fail(f"{path}.input", "Input should be a valid dictionary")
    elif kind == "tool_result":
        _string(block.get("tool_use_id"), f"{path}.tool_use_id")
        _tool_result_content(block.get("content"), f"{path}.content")
    elif kind == "thinking":
        _string(block.get("thinking"), f"{path}.thinking")
        _string(block.get("signature"), f"{path}.signature")
    elif kind == "redacted_thinking":
        _string(block.get("data"), f"{path}.data")


def _tool_result_content(content: Any, path: str) -> None:
    if content is None or isinstance(content, str):
        return
    if not isinstance(content, list):
        raise _fail(path, "Input should be a valid string or list of content blocks")
    for index, block in enumerate(content):
        _block(block, f"{path}.{index}", "user")


def _messages(messages: Any) -> None:
    if not isinstance(messages, list):
        raise _fail(
            "messages", "Input should be a valid list" if messages is not None else "Field required"
        )
    if not messages:
        raise _fail("messages", "at least one message is required")
    for index, message in enumerate(messages):
        path = f"messages.{index}"
        if not isinstance(message, dict):
            raise _fail(path, "Input should be a valid message object")
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise _fail(f"{path}.role", "Input should be 'user' or 'assistant'")
        if index == 0 and role != "user":
            raise _fail(f"{path}.role", "the first message must use the 'user' role")
        content = message.get("content")
        if isinstance(content, str):
            continue
        if not isinstance(content, list):
            raise _fail(f"{path}.content", "Input should be a valid string or list of blocks")
        for number, block in enumerate(content):
            _block(block, f"{path}.content.{number}", role)


def _system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list):
        raise _fail("system", "Input should be a valid string or list of text blocks")
    for index, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise _fail(f"system.{index}.type", "system blocks must be text blocks")
        _string(block.get("text"), f"system.{index}.text")


def _tools(tools: Any) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise _fail("tools", "Input should be a valid list")
    for index, tool in enumerate(tools):
        path = f"tools.{index}"
        if not isinstance(tool, dict):
            raise _fail(path, "Input should be a valid tool object")
        _string(tool.get("name"), f"{path}.name")
        if tool.get("type") in (None, "custom") and not isinstance(tool.get("input_schema"), dict):
            raise _fail(f"{path}.input_schema", "Field required")


def _tool_choice(choice: Any) -> None:
    if choice is None:
        return
    if not isinstance(choice, dict) or choice.get("type") not in TOOL_CHOICES:
        raise _fail("tool_choice.type", "Input should be 'auto', 'any', 'tool' or 'none'")
    if choice["type"] == "tool":
        _string(choice.get("name"), "tool_choice.name")
    _boolean(choice, "disable_parallel_tool_use", "tool_choice.disable_parallel_tool_use")


def _thinking(thinking: Any) -> None:
    if thinking is None:
        return
    if not isinstance(thinking, dict) or thinking.get("type") not in THINKING_TYPES:
        raise _fail("thinking.type", "Input should be 'enabled', 'adaptive' or 'disabled'")
    if thinking["type"] == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1024:
            raise _fail("thinking.budget_tokens", "Input should be an integer of at least 1024")


def _scalars(data: dict[str, Any], count_only: bool) -> None:
    model = data.get("model")
    if not isinstance(model, str) or not model.strip():
        raise _fail("model", "Field required" if model is None else "Input should be a model name")
    if not count_only:
        max_tokens = data.get("max_tokens")
        if max_tokens is None:
            raise _fail("max_tokens", "Field required")
        if not _is_int(max_tokens) or max_tokens < 1:
            raise _fail("max_tokens", "Input should be an integer of at least 1")
    _boolean(data, "stream")
    _number(data, "temperature", 0, 1)
    _number(data, "top_p", 0, 1)
    if (
        "top_k" in data
        and data["top_k"] is not None
        and (not _is_int(data["top_k"]) or data["top_k"] < 0)
    ):
        raise _fail("top_k", "Input should be a non-negative integer")
    stops = data.get("stop_sequences")
    if stops is not None and (
        not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)
    ):
        raise _fail("stop_sequences", "Input should be a list of strings")
    metadata = data.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise _fail("metadata", "Input should be a valid dictionary")


def validate(data: dict[str, Any], count_only: bool = False) -> None:
    """Raise a 400 naming the first field Anthropic would refuse."""
    _scalars(data, count_only)
    _system(data.get("system"))
    _messages(data.get("messages"))
    _tools(data.get("tools"))
    _tool_choice(data.get("tool_choice"))
    _thinking(data.get("thinking"))
