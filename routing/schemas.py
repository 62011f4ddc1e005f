"""The chat-completions request as the gateway validates it (pydantic, unknown fields kept).

It is also the engine's internal request: every front door translates its protocol into a
`ChatRequest`. A door whose protocol a back door speaks natively attaches the original body
(`Native`); that provider's adapter sends it as it came, so same protocol in and out loses
nothing (see routing/doors/__init__.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from routing.errors import GatewayError, invalid

NATIVE_KEY = "switchyard_native"  # where upstream_body() carries a Native to the adapter
PART_TYPES = frozenset({"text", "image_url", "input_audio", "file", "refusal"})
CONTENT_REQUIRED = frozenset({"system", "developer", "user", "tool"})


@dataclass(frozen=True)
class Native:
    """A request body in a provider protocol's own terms, and the headers to pass on."""

    protocol: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def _check_part(part: dict[str, Any], index: int) -> None:
    kind = part.get("type")
    if not isinstance(kind, str):
        raise ValueError(f"content part {index} has no 'type'")
    if kind not in PART_TYPES:
        raise ValueError(f"content part {index} has an unknown type '{kind}'")
    if kind == "text" and not isinstance(part.get("text"), str):
        raise ValueError(f"content part {index}: 'text' must be a string")


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _content_rules(self) -> Message:
        extra = self.model_extra or {}
        if self.content is None:
            if self.role in CONTENT_REQUIRED:
                raise ValueError(f"a '{self.role}' message needs 'content'")
            if self.role == "assistant" and not (
                extra.get("tool_calls") or extra.get("function_call")
            ):
                raise ValueError("an assistant message without 'tool_calls' needs 'content'")
        if isinstance(self.content, list):
            for index, part in enumerate(self.content):
                _check_part(part, index)
        return self


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: StrictBool = False


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=300)
    messages: list[Message] = Field(min_length=1)
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    n: int | None = Field(default=None, ge=1, le=16)
    stop: str | list[str] | None = None
    seed: int | None = None
    response_format: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: StrictBool | None = None
    logprobs: StrictBool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    store: StrictBool | None = None
    metadata: dict[str, Any] | None = None

    @field_validator("stop")
    @classmethod
    def _stop_limit(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > 4:
            raise ValueError("at most 4 stop sequences")
        return value

    @property
    def output_limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    @property
    def native(self) -> Native | None:
        """The body in its own protocol, for an upstream that speaks it (NativeChatRequest)."""
        return None

    def with_native(self, native: Native) -> ChatRequest:
        """This request carrying `native`: a NativeChatRequest with the same fields. Plain chat
        requests have no private attribute, which pydantic would set up on every request and
        read through its `__getattr__`."""
        fields = {**self.__dict__, **(self.model_extra or {})}
        carrying = NativeChatRequest.model_construct(set(self.model_fields_set), **fields)
        carrying._native = native
        return carrying

    def upstream_body(self) -> dict[str, Any]:
        """The body an OpenAI-compatible upstream receives (Switchyard-only fields removed);
        a native body rides along under NATIVE_KEY for the adapter that speaks it."""
        body = self.model_dump(exclude_unset=True, exclude_none=True, exclude={"metadata"})
        native = self.native
        if native is not None:
            body[NATIVE_KEY] = native
        return body


class NativeChatRequest(ChatRequest):
    """A chat request that also carries its body in the protocol it came in (Anthropic
    Messages, Responses): built by `ChatRequest.with_native`."""

    _native: Native | None = PrivateAttr(default=None)

    @property
    def native(self) -> Native | None:
        return self._native


def parse_json_object(raw: bytes) -> dict[str, Any]:
    import orjson

    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid(f"We could not parse the JSON body of your request: {exc}") from None
    if not isinstance(data, dict):
        raise invalid("The request body must be a JSON object.")
    return data


def parse_chat_request(raw: bytes) -> ChatRequest:
    return chat_request(parse_json_object(raw))


def chat_request(data: dict[str, Any]) -> ChatRequest:
    try:
        return ChatRequest.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None


def validation_error(exc: ValidationError) -> GatewayError:
    first = exc.errors()[0]
    param = ".".join(str(part) for part in first["loc"])
    message = first["msg"]
    if first["type"] == "missing":
        message = f"Missing required parameter: '{param}'."
    elif first["type"] == "too_short" and param == "messages":
        message = "'messages' must contain at least one message."
    elif first["type"] == "value_error":
        message = f"Invalid value for '{param}': {message.removeprefix('Value error, ')}."
    else:
        message = f"Invalid value for '{param}': {message}."
    return invalid(message, param=param)
