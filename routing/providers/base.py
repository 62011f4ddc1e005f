"""The small interface every wire protocol implements, and upstream error classification."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from routing.catalog.pricing import TokenUsage
from routing.schemas import NATIVE_KEY, Native
from routing.transport.upstream import describe

if TYPE_CHECKING:
    from routing.catalog import ModelEntry

RETRYABLE = frozenset({"rate_limit", "server", "timeout", "connection", "malformed", "overloaded"})


class UpstreamError(Exception):
    """A failed upstream call, classified; the message never carries the provider's secret."""

    def __init__(
        self,
        kind: str,
        message: str,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE


@dataclass(slots=True)
class Completion:
    """A finished non-streaming answer, already in OpenAI's chat.completion shape; `native`
    is the upstream's own body when the request was passed through natively."""

    body: dict[str, Any]
    usage: TokenUsage
    native: dict[str, Any] | None = None


@dataclass(slots=True)
class Chunk:
    """One streamed chat.completion.chunk (OpenAI shape) and what the relay needs to know.

    A natively passed-through stream also carries the upstream's own event in
    `extra["native"]` as (event name, raw data); events with no OpenAI equivalent (ping,
    thinking deltas) come as chunks with empty `data`."""

    data: dict[str, Any]
    usage: TokenUsage | None = None
    text: str = ""
    finish_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The next chunk is already here (same network read) and follows without waiting on I/O:
    # a relay may hold this one and write both at once.
    more: bool = False


class Adapter(ABC):
    """Translate OpenAI chat requests to one wire protocol and back."""

    protocol: ClassVar[str]

    @abstractmethod
    async def complete(
        self, model: ModelEntry, body: dict[str, Any], read_timeout: float
    ) -> Completion: ...

    @abstractmethod
    def stream(
        self, model: ModelEntry, body: dict[str, Any], read_timeout: float
    ) -> AsyncIterator[Chunk]: ...

    async def embed(
        self, model: ModelEntry, body: dict[str, Any], read_timeout: float
    ) -> Completion:
        """OpenAI's /v1/embeddings; protocols without embeddings refuse it."""
        raise UpstreamError("bad_request", f"{model.provider.name} does not serve embeddings.", 400)

    async def complete_text(
        self, model: ModelEntry, body: dict[str, Any], read_timeout: float
    ) -> Completion:
        """The legacy /v1/completions; protocols without it refuse it."""
        raise UpstreamError(
            "bad_request", f"{model.provider.name} does not serve /v1/completions.", 400
        )

    async def count_tokens(
        self, model: ModelEntry, native: Native, read_timeout: float
    ) -> dict[str, Any] | None:
        """The upstream's own token count of a native request, or None when this protocol
        has no such endpoint (the door estimates instead)."""
        return None


def native_for(body: dict[str, Any], protocol: str) -> Native | None:
    """The native body riding in `body`, when it is in `protocol`'s terms."""
    native = body.get(NATIVE_KEY)
    return native if isinstance(native, Native) and native.protocol == protocol else None


def scrub(text: str, secret: str) -> str:
    """Remove the provider key (and anything that looks like a key) from upstream text."""
    if secret:
        text = text.replace(secret, "***")
    return re.sub(r"\b(sk|sy)-[A-Za-z0-9_\-]{8,}", "***", text)[:500]


def retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after-ms")
    if value:
        try:
            return float(value) / 1000
        except ValueError:
            return None
    value = headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            return None
    return None


def classify_status(status: int, message: str, headers: Mapping[str, str]) -> UpstreamError:
    if status == 429:
        kind = "rate_limit"
    elif status == 529:
        kind = "overloaded"
    elif status >= 500:
        kind = "server"
    elif status in (401, 403):
        kind = "auth"
    elif status == 404:
        kind = "not_found"
    elif status in (408, 409):
        kind = "server"
    else:
        kind = "bad_request"
    return UpstreamError(kind, message, status, retry_after(headers))


def classify_exception(exc: Exception) -> UpstreamError:
    if isinstance(exc, UpstreamError):
        return exc
    transport = describe(exc)
    if transport is not None:
        return UpstreamError(*transport)
    if isinstance(exc, ValueError):
        return UpstreamError("malformed", "The upstream sent a response that is not valid JSON.")
    if isinstance(exc, TypeError | KeyError | AttributeError | IndexError):
        # JSON of the wrong shape (a list where an object belongs, a string for `choices`...)
        return UpstreamError("malformed", "The upstream sent JSON of an unexpected shape.")
    raise exc


def error_message(response_text: str) -> str:
    """The upstream's own error message when its body is an OpenAI/Anthropic error."""
    import orjson

    try:
        data = orjson.loads(response_text)
    except orjson.JSONDecodeError:
        return response_text[:300] or "(empty body)"
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    if isinstance(error, str):
        return error
    return response_text[:300]
