"""The upstream contract (`upstream.py`) served by httpx: `SWITCHYARD_UPSTREAM_CLIENT=httpx`.

For an operator who would rather run the well-known library than the gateway's own client
(`fast.py`), at a CPU cost per call many times higher (`python -m bench.client_cost`). It
behaves as the contract says, which here means taming httpx's defaults:

- one `httpx.AsyncClient` per event loop and origin, so `SWITCHYARD_UPSTREAM_MAX_CONNECTIONS`
  caps connections per origin as in the fast client (httpx's cap is per client); waiting for
  a free connection has no timeout of its own (the request's deadline bounds it);
- `read` and `write` timeouts are the call's between-reads timeout, `connect` its connect one;
- TLS: the shared context (system store plus `SWITCHYARD_UPSTREAM_CA_FILE`); a change of the
  CA file or the cap gets a new client;
- no proxies from the environment, no cookies kept, no redirects followed; gzip and deflate
  only (an encoding httpx does not know would pass through undecoded: refused instead);
- httpx's exceptions become `TransportError`s of the contract's kinds. httpx raises one
  `RemoteProtocolError` both for a connection cut short and for bytes that are not HTTP;
  its wording ("Server disconnected...", "peer closed connection...") tells them apart.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from routing.transport.upstream import (
    CORRUPT,
    DECODED,
    KEEPALIVE_SECONDS,
    LINE_BREAK,
    LOST,
    MAX_IDLE,
    NO_CONNECT,
    NO_CONNECT_IN_TIME,
    NOT_HTTP,
    NOT_IN_TIME,
    NOT_LATIN1,
    USER_AGENT,
    EventStream,
    Response,
    TransportError,
    UpstreamClient,
    tls_context,
    unsupported_encoding,
)

CUT_SHORT = ("Server disconnected", "peer closed connection")  # httpcore's and h11's wording
_Key = tuple[str, str, int]  # origin (scheme://host:port), CA file, connection cap


def _mapped(exc: Exception) -> TransportError:
    """The contract's error for one of httpx's."""
    if isinstance(exc, httpx.ConnectTimeout):
        return TransportError("timeout", NO_CONNECT_IN_TIME)
    if isinstance(exc, httpx.TimeoutException):
        return TransportError("timeout", NOT_IN_TIME)
    if isinstance(exc, httpx.ConnectError):
        return TransportError("connection", NO_CONNECT)
    if isinstance(exc, httpx.DecodingError):
        return TransportError("malformed", CORRUPT)
    if isinstance(exc, httpx.RemoteProtocolError) and not str(exc).startswith(CUT_SHORT):
        return TransportError("malformed", NOT_HTTP)
    return TransportError("connection", LOST)  # read/write errors, a connection cut short


@functools.lru_cache(maxsize=256)
def _origin(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TransportError("connection", f"Unsupported upstream URL scheme: {parts.scheme!r}.")
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _outgoing(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    """The request's headers as bytes, refused if they cannot be sent as they are."""
    out = []
    for name, value in headers.items():
        if "\r" in name or "\n" in name or "\r" in value or "\n" in value:
            raise TransportError("connection", LINE_BREAK)
        try:
            out.append((name.encode("latin-1"), value.encode("latin-1")))
        except UnicodeEncodeError:
            raise TransportError("connection", NOT_LATIN1) from None
    return out


def _new_client(ca_file: str, cap: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        verify=tls_context(ca_file),
        limits=httpx.Limits(
            max_connections=cap,
            max_keepalive_connections=min(cap, MAX_IDLE),
            keepalive_expiry=KEEPALIVE_SECONDS,
        ),
        headers={"user-agent": USER_AGENT, "accept-encoding": "gzip, deflate"},
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        trust_env=False,
        follow_redirects=False,
    )


def _checked(response: httpx.Response) -> httpx.Response:
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in DECODED:
        raise unsupported_encoding(encoding)
    return response


def _headers(response: httpx.Response) -> dict[str, str]:
    return dict(response.headers.items())  # lower-case names, repeated ones joined


class _EventStream(EventStream):
    def __init__(self, response: httpx.Response) -> None:
        self.status, self.headers = response.status_code, _headers(response)
        self._response = response

    async def read_body(self) -> str:
        try:
            return (await self._response.aread()).decode(errors="replace")
        except httpx.HTTPError as exc:
            raise _mapped(exc) from None

    async def raw(self) -> AsyncIterator[bytes]:
        try:
            async for data in self._response.aiter_bytes():
                yield data
        except httpx.HTTPError as exc:
            raise _mapped(exc) from None


class HttpxClient:
    """The contract over httpx clients kept per event loop and origin."""

    def __init__(self) -> None:
        self._loops: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[_Key, httpx.AsyncClient]
        ] = weakref.WeakKeyDictionary()

    def _client(self, url: str) -> httpx.AsyncClient:
        clients = self._loops.setdefault(asyncio.get_running_loop(), {})
        ca_file, cap = (
            settings.SWITCHYARD_UPSTREAM_CA_FILE,
            settings.SWITCHYARD_UPSTREAM_MAX_CONNECTIONS,
        )
        key = (_origin(url), ca_file, cap)
        found = clients.get(key)
        if found is None:
            found = clients[key] = _new_client(ca_file, cap)
        return found

    async def _send(
        self,
        url: str,
        content: bytes,
        headers: Mapping[str, str],
        read_timeout: float,
        connect_timeout: float | None,
    ) -> httpx.Response:
        """Send the request; returns once the status and headers arrived."""
        client = self._client(url)
        connect = (
            settings.SWITCHYARD_CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
        )
        timeout = httpx.Timeout(read_timeout, connect=connect, pool=None)
        try:
            request = client.build_request(
                "POST", url, content=content, headers=_outgoing(headers), timeout=timeout
            )
            response = await client.send(request, stream=True)
        except httpx.InvalidURL:
            raise TransportError("connection", f"Not a valid upstream URL: {url!r}.") from None
        except httpx.HTTPError as exc:
            raise _mapped(exc) from None
        try:
            return _checked(response)
        except TransportError:
            await response.aclose()
            raise

    async def post(
        self,
        url: str,
        content: bytes,
        headers: Mapping[str, str],
        read_timeout: float,
        connect_timeout: float | None = None,
    ) -> Response:
        response = await self._send(url, content, headers, read_timeout, connect_timeout)
        try:
            body = await response.aread()
        except httpx.HTTPError as exc:
            raise _mapped(exc) from None
        finally:
            await response.aclose()
        return Response(response.status_code, _headers(response), body)

    @asynccontextmanager
    async def stream(
        self,
        url: str,
        content: bytes,
        headers: Mapping[str, str],
        read_timeout: float,
        connect_timeout: float | None = None,
    ) -> AsyncIterator[EventStream]:
        response = await self._send(url, content, headers, read_timeout, connect_timeout)
        try:
            yield _EventStream(response)
        finally:
            await response.aclose()  # unread rest: httpx closes the connection, not pools it

    async def close(self) -> None:
        clients = self._loops.pop(asyncio.get_running_loop(), {})
        for client in clients.values():
            await client.aclose()


if TYPE_CHECKING:
    _serves_the_contract: UpstreamClient = HttpxClient()
