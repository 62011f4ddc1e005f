"""The contract between the gateway and whatever carries its calls to providers.

Providers (`routing/providers/`) and the batch worker need five things from an upstream
HTTP client, and this module is all they import:

- `client().post(url, content, headers, read_timeout, connect_timeout=None) -> Response`:
  POST a JSON body, get the status, the headers (lower-case names, repeated ones joined
  with ", ") and the whole body, gzip/deflate decoded.
- `async with client().stream(...) as events:` the same request, returning once the status
  and headers arrived; then `events.events()` yields `ServerSentEvent`s (`events.pending`
  says how many more already arrived), `events.raw()` the decoded body as it arrives, and
  `events.read_body()` the rest as text (an error answer). Leaving the block early closes
  the connection: it cannot carry another request.
- Pools: connections are kept alive and reused per event loop and origin, at most
  `SWITCHYARD_UPSTREAM_MAX_CONNECTIONS` open per origin (more requests wait for one);
  never shared across loops, never opened per request. `await close()` closes the running
  loop's pools (call it before an `asyncio.run` loop ends; a server's loop keeps them).
- Timeouts: `connect_timeout` (default `SWITCHYARD_CONNECT_TIMEOUT`) bounds opening a
  connection; `read_timeout` bounds the silence between two reads, so a slow steady stream
  never times out and a stalled one does. TLS trusts the system's store plus
  `SWITCHYARD_UPSTREAM_CA_FILE`. No proxies, redirects, cookies or HTTP/2.
- Errors: a failure below HTTP semantics raises `TransportError` with `kind` "timeout",
  "connection" (refused, reset, cut short, TLS, a header that cannot be sent) or
  "malformed" (not HTTP, a corrupt or unsupported encoding); `describe()` turns one into
  the (kind, message) of an `UpstreamError`. An HTTP error status is not an exception.

Two implementations, chosen by `SWITCHYARD_UPSTREAM_CLIENT`: `fast` (the default,
`fast.py`: asyncio protocols + httptools, measured at a fraction of httpx's CPU per call by
`python -m bench.client_cost`) and `httpx` (`httpx_client.py`: the well-known library, for
when an operator would rather trust it than speed). `tests/routing/transport/` runs the same
tests against both.
"""

from __future__ import annotations

import functools
import ssl
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from routing.transport.sse import ServerSentEvent, SSEDecoder

__all__ = ["EventStream", "Response", "ServerSentEvent", "TransportError", "UpstreamClient"]

USER_AGENT = "switchyard/0.1"
KEEPALIVE_SECONDS = 15.0  # an idle connection older than this is closed, not reused
MAX_IDLE = 256  # idle connections kept per origin

# The one wording per failure, whichever client met it.
NOT_IN_TIME = "The upstream did not answer in time."
NO_CONNECT_IN_TIME = "Could not connect to the upstream in time."
NO_CONNECT = "Could not connect to the upstream."
LOST = "The upstream closed the connection unexpectedly."
NOT_HTTP = "The upstream sent malformed HTTP."
CORRUPT = "The upstream sent a corrupt body."
LINE_BREAK = "A header for the upstream contains a line break."
NOT_LATIN1 = "A header for the upstream is not ISO-8859-1 text."
DECODED = ("identity", "gzip", "x-gzip", "deflate")  # content encodings both clients decode

IMPLEMENTATIONS = {
    "fast": "routing.transport.fast.FastClient",
    "httpx": "routing.transport.httpx_client.HttpxClient",
}


class TransportError(Exception):
    """The exchange failed below HTTP semantics; `kind` is an UpstreamError kind."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def unsupported_encoding(encoding: str) -> TransportError:
    return TransportError("malformed", f"Unsupported content encoding {encoding!r}.")


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


class EventStream(ABC):
    """A streamed answer whose status and headers arrived; the body is read on demand."""

    status: int
    headers: Mapping[str, str]  # lower-case names
    pending: int = 0  # events already received after the one just yielded

    @abstractmethod
    def raw(self) -> AsyncIterator[bytes]:
        """The decoded body as it arrives, in the pieces it arrived in."""

    @abstractmethod
    async def read_body(self) -> str:
        """The rest of the body as text (for an error answer)."""

    async def events(self) -> AsyncIterator[ServerSentEvent]:
        decoder = SSEDecoder()
        async for data in self.raw():
            ready = decoder.feed(data)
            last = len(ready) - 1
            for index, event in enumerate(ready):
                self.pending = last - index
                yield event
        self.pending = 0
        for event in decoder.end():
            yield event


class UpstreamClient(Protocol):
    """What an implementation provides (see the module docstring)."""

    async def post(
        self,
        url: str,
        content: bytes,
        headers: Mapping[str, str],
        read_timeout: float,
        connect_timeout: float | None = None,
    ) -> Response: ...

    def stream(
        self,
        url: str,
        content: bytes,
        headers: Mapping[str, str],
        read_timeout: float,
        connect_timeout: float | None = None,
    ) -> AbstractAsyncContextManager[EventStream]: ...

    async def close(self) -> None:
        """Close the running event loop's pooled connections."""


_built: dict[str, UpstreamClient] = {}
_chosen: UpstreamClient | None = None  # what the setting names, until the setting changes


def client() -> UpstreamClient:
    """The implementation `SWITCHYARD_UPSTREAM_CLIENT` names. Called once per upstream call,
    so it does not read the setting each time: on Django 5.2 reading a setting costs about
    a microsecond (`LazyObject.__getattribute__`), a few percent of the fast client's call."""
    return _chosen or _choose()


def _choose() -> UpstreamClient:
    global _chosen
    _chosen = implementation(settings.SWITCHYARD_UPSTREAM_CLIENT)
    return _chosen


@receiver(setting_changed)
def _forget_choice(*, setting: str, **kwargs: object) -> None:
    """`override_settings` (and pytest-django's `settings`) change it: choose again."""
    global _chosen
    if setting == "SWITCHYARD_UPSTREAM_CLIENT":
        _chosen = None


def implementation(name: str) -> UpstreamClient:
    """One implementation by its name, whatever the setting says (tests, benchmarks)."""
    found = _built.get(name)
    if found is None:
        if name not in IMPLEMENTATIONS:
            choices = ", ".join(IMPLEMENTATIONS)
            raise ImproperlyConfigured(
                f"SWITCHYARD_UPSTREAM_CLIENT is {name!r}; it must be one of: {choices}."
            )
        found = _built[name] = import_string(IMPLEMENTATIONS[name])()
    return found


async def close() -> None:
    """Close the running loop's pools of every implementation in use."""
    for built in list(_built.values()):
        await built.close()


def describe(exc: BaseException) -> tuple[str, str] | None:
    """(kind, message) for a transport failure, or None if it is not one."""
    if isinstance(exc, TransportError):
        return exc.kind, exc.message
    if isinstance(exc, TimeoutError):
        return "timeout", NOT_IN_TIME
    return None


@functools.lru_cache(maxsize=4)
def tls_context(extra_ca_file: str) -> ssl.SSLContext:
    """The system's trust store, plus SWITCHYARD_UPSTREAM_CA_FILE when set."""
    context = ssl.create_default_context()
    if extra_ca_file:
        context.load_verify_locations(cafile=extra_ca_file)
    return context
