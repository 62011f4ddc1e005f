"""The upstream contract (routing/transport/upstream.py) against real sockets on loopback, run
once per implementation (`fast`, `httpx`): a scripted raw HTTP server answers each request
with exactly the bytes a test gives it, so framing, keep-alive, timeouts, compression,
back-pressure, TLS and the error kinds are exercised for real, and both clients must pass
the same assertions. A behaviour reached differently by the two says so in its docstring."""

from __future__ import annotations

import asyncio
import gzip
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
import trustme

from routing.transport import upstream
from routing.transport.upstream import TransportError, UpstreamClient

Answer = Callable[[bytes, asyncio.StreamWriter], Awaitable[None]]
OK_JSON = b'{"ok": true}'


def fixed(*parts: bytes, pause: float = 0.0, close: bool = False) -> Answer:
    """Write `parts` (sleeping `pause` between them), then optionally close."""

    async def answer(request: bytes, writer: asyncio.StreamWriter) -> None:
        for index, part in enumerate(parts):
            if index and pause:
                await asyncio.sleep(pause)
            writer.write(part)
            await writer.drain()
        if close:
            writer.close()

    return answer


def length_delimited(body: bytes, *headers: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in headers)
    return f"HTTP/1.1 200 OK\r\ncontent-length: {len(body)}\r\n{head}\r\n".encode() + body


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


@dataclass
class Scripted:
    """A loopback HTTP/1.1 server: each request read is answered by the next scripted
    answer (the last one repeats); connections and requests are counted."""

    answers: list[Answer]
    port: int = 0
    connections: int = 0
    open_now: int = 0
    most_open: int = 0
    requests: list[bytes] = field(default_factory=list)
    server: asyncio.AbstractServer | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                answer = self.answers[min(len(self.requests) - 1, len(self.answers) - 1)]
                await answer(request, writer)
                if writer.is_closing():
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            return
        finally:
            self.open_now -= 1
            writer.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/chat/completions"


@pytest.fixture(params=sorted(upstream.IMPLEMENTATIONS))
def http(request: pytest.FixtureRequest) -> UpstreamClient:
    """Each implementation of the contract in turn."""
    return upstream.implementation(request.param)


@pytest.fixture
async def serve(http: UpstreamClient) -> AsyncIterator[Callable[..., Awaitable[Scripted]]]:
    servers: list[Scripted] = []

    async def start(*answers: Answer, tls: ssl.SSLContext | None = None) -> Scripted:
        scripted = Scripted(list(answers))
        scripted.server = await asyncio.start_server(scripted.handle, "127.0.0.1", 0, ssl=tls)
        scripted.port = scripted.server.sockets[0].getsockname()[1]
        servers.append(scripted)
        return scripted

    yield start
    await http.close()
    for scripted in servers:
        assert scripted.server is not None
        scripted.server.close()


async def post(http: UpstreamClient, url: str, read_timeout: float = 5.0) -> upstream.Response:
    return await http.post(
        url, b'{"model": "m"}', {"content-type": "application/json"}, read_timeout
    )


async def test_the_request_on_the_wire(
    http: UpstreamClient, serve: Callable[..., Awaitable[Scripted]]
) -> None:
    """Header names are compared case-insensitively: the fast client writes `host`, httpx
    `Host` (both are HTTP)."""
    answer = length_delimited(OK_JSON, "x-ratelimit-remaining: 9", "X-Twice: a", "x-twice: b")
    server = await serve(fixed(answer))
    response = await http.post(
        server.url, b'{"model": "m"}', {"authorization": "Bearer k", "x-extra": "1"}, 5.0
    )
    assert response.status == 200 and response.body == OK_JSON
    assert response.headers["x-ratelimit-remaining"] == "9"  # names are lower-cased
    assert response.headers["x-twice"] == "a, b"  # repeated ones joined
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    request_line, *header_lines = head.split(b"\r\n")
    lines = [
        name.lower() + b":" + value for name, _, value in (h.partition(b":") for h in header_lines)
    ]
    assert request_line == b"POST /v1/chat/completions HTTP/1.1"
    assert f"host: 127.0.0.1:{server.port}".encode() in lines
    assert b"content-length: 14" in lines and b"authorization: Bearer k" in lines
    assert b"user-agent: switchyard/0.1" in lines and b"x-extra: 1" in lines
    assert not any(line.startswith(b"cookie") for line in lines)
    assert body == b'{"model": "m"}'


async def test_keep_alive_reuses_one_connection(
    http: UpstreamClient, serve: Callable[..., Awaitable[Scripted]]
) -> None:
    server = await serve(fixed(length_delimited(OK_JSON)))
    for _ in range(5):
        assert (await post(http, server.url)).body == OK_JSON
    assert server.connections == 1 and len(server.requests) == 5


async def test_chunked_and_close_delimited_bodies(
    http: UpstreamClient,
    serve: Callable[..., Awaitable[Scripted]],
) -> None:
    chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    chunked += chunk(b'{"a": ') + chunk(b"1}") + b"0\r\n\r\n"
    to_the_end = b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n" + b'{"b": 2}'
    server = await serve(fixed(chunked), fixed(to_the_end, close=True), fixed(chunked))
    assert (await post(http, server.url)).body == b'{"a": 1}'
    assert (await post(http, server.url)).body == b'{"b": 2}'
    assert (await post(http, server.url)).body == b'{"a": 1}'
    assert server.connections == 2  # the close-delimited answer ended its connection


async def test_gzip_bodies_are_decoded(
    http: UpstreamClient, serve: Callable[..., Awaitable[Scripted]]
) -> None:
    server = await serve(fixed(length_delimited(gzip.compress(OK_JSON), "content-encoding: gzip")))
    assert (await post(http, server.url)).body == OK_JSON


async def test_a_connection_the_server_closed_while_idle_is_not_reused(
    http: UpstreamClient,
    serve: Callable[..., Awaitable[Scripted]],
) -> None:
    server = await serve(fixed(length_delimited(OK_JSON), close=True))
    assert (await post(http, server.url)).body == OK_JSON
    await asyncio.sleep(0.05)  # the server's FIN arrives while the connection is idle
    assert (await post(http, server.url)).body == OK_JSON
    assert server.connections == 2


async def test_silence_between_reads_times_out_but_a_slow_steady_stream_does_not(
    http: UpstreamClient,
    serve: Callable[..., Awaitable[Scripted]],
) -> None:
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    events = [chunk(f"data: {i}\n\n".encode()) for i in range(6)]
    steady = fixed(head, *events, b"0\r\n\r\n", pause=0.1)
    stalled = fixed(head, events[0], pause=0.0)  # then nothing, connection left open
    server = await serve(steady, stalled)
    started = asyncio.get_running_loop().time()
    async with http.stream(server.url, b"{}", {}, read_timeout=0.3) as response:
        data = [event.data async for event in response.events()]
    assert data == [str(i) for i in range(6)]
    assert asyncio.get_running_loop().time() - started > 0.5  # longer than the read timeout

    with pytest.raises(TransportError) as caught:
        async with http.stream(server.url, b"{}", {}, read_timeout=0.3) as response:
            async for _ in response.events():
                pass
    assert caught.value.kind == "timeout"


async def test_no_headers_in_time_is_a_timeout(
    http: UpstreamClient, serve: Callable[..., Awaitable[Scripted]]
) -> None:
    async def never(request: bytes, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    server = await serve(never)
    with pytest.raises(TransportError) as caught:
        await post(http, server.url, read_timeout=0.2)
    assert caught.value.kind == "timeout"
    assert upstream.describe(caught.value) == ("timeout", "The upstream did not answer in time.")


async def test_transport_failures_are_classified(
    http: UpstreamClient,
    serve: Callable[..., Awaitable[Scripted]],
) -> None:
    cut = fixed(b'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"half', close=True)
    garbage = fixed(b"NOT HTTP AT ALL\r\n\r\n")
    server = await serve(cut, garbage)
    with pytest.raises(TransportError) as caught:
        await post(http, server.url)
    assert caught.value.kind == "connection"
    with pytest.raises(TransportError) as caught:
        await post(http, server.url)
    assert caught.value.kind == "malformed"

    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    with pytest.raises(TransportError) as caught:
        await post(http, f"http://127.0.0.1:{port}/v1")
    assert upstream.describe(caught.value) == ("connection", "Could not connect to the upstream.")


async def test_a_header_with_a_line_break_is_refused_before_sending(
    http: UpstreamClient,
    serve: Callable[..., Awaitable[Scripted]],
) -> None:
    server = await serve(fixed(length_delimited(OK_JSON)))
    with pytest.raises(TransportError, match="line break"):
        await http.post(server.url, b"{}", {"authorization": "Bearer k\r\nx-evil: 1"}, 5.0)
    assert server.requests == []


async def test_a_large_stream_read_slowly_arrives_whole(
    http: UpstreamClient,
    serve: Callable[..., Awaitable[Scripted]],
) -> None:
    """More than a stream buffers, read slowly, arrives whole and in order. The fast client
    gets there by pausing the socket past 1 MiB unread (back-pressure); httpx reads the
    socket only when asked, so it never buffers ahead."""
    piece = bytes(range(256)) * 256  # 64 KiB
    pieces = [chunk(piece) for _ in range(64)]  # 4 MiB
    head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    server = await serve(fixed(head, *pieces, b"0\r\n\r\n"))
    received = bytearray()
    async with http.stream(server.url, b"{}", {}, read_timeout=5.0) as response:
        async for data in response.raw():
            received += data
            await asyncio.sleep(0.001)
    assert bytes(received) == piece * 64


async def test_a_cancelled_request_closes_its_connection(
    http: UpstreamClient,
    serve: Callable[..., Awaitable[Scripted]],
) -> None:
    async def slow_then_ok(request: bytes, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.3)
        writer.write(length_delimited(OK_JSON))

    server = await serve(slow_then_ok)
    task = asyncio.ensure_future(post(http, server.url))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.4)  # the late answer has gone out on the first connection
    assert (await post(http, server.url)).body == OK_JSON
    assert server.connections == 2  # the half-answered connection was closed, not pooled


async def test_connections_per_origin_are_capped(
    http: UpstreamClient, serve: Callable[..., Awaitable[Scripted]], settings: object
) -> None:
    settings.SWITCHYARD_UPSTREAM_MAX_CONNECTIONS = 2  # type: ignore[attr-defined]

    async def slow_ok(request: bytes, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.05)
        writer.write(length_delimited(OK_JSON))

    server = await serve(slow_ok)
    answers = await asyncio.gather(*(post(http, server.url) for _ in range(6)))
    assert [a.body for a in answers] == [OK_JSON] * 6
    assert server.most_open == 2 and server.connections == 2


async def test_tls_with_an_extra_ca(
    http: UpstreamClient,
    serve: Callable[..., Awaitable[Scripted]],
    settings: object,
    tmp_path: object,
) -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    server = await serve(fixed(length_delimited(OK_JSON)), tls=server_context)
    url = server.url.replace("http://", "https://")

    with pytest.raises(TransportError) as caught:  # not trusted by the system store
        await post(http, url)
    assert caught.value.kind == "connection"

    ca_file = tmp_path / "ca.pem"  # type: ignore[operator]
    ca.cert_pem.write_to_path(str(ca_file))
    settings.SWITCHYARD_UPSTREAM_CA_FILE = str(ca_file)  # type: ignore[attr-defined]
    assert (await post(http, url)).body == OK_JSON


async def test_a_large_body_read_whole_and_an_unknown_encoding(
    http: UpstreamClient,
    serve: Callable[..., Awaitable[Scripted]],
) -> None:
    """A body larger than a stream may buffer arrives whole through `post` (nothing pauses
    a reader that wants it all), and the connection then serves the next request."""
    big = b"[" + b'"x",' * 1_000_000 + b'"y"]'  # 4 MB
    brotli = length_delimited(b"\x0b\x01\x80", "content-encoding: br")
    server = await serve(
        fixed(length_delimited(big)), fixed(length_delimited(OK_JSON)), fixed(brotli)
    )
    assert (await post(http, server.url)).body == big
    assert (await post(http, server.url)).body == OK_JSON
    assert server.connections == 1
    with pytest.raises(TransportError) as caught:
        await post(http, server.url)
    assert caught.value.kind == "malformed" and "br" in caught.value.message


def test_a_closed_session_lets_its_event_loop_go(
    http: UpstreamClient, fast_upstream_port: int
) -> None:
    """`close()` (the batch worker calls it before each job's loop ends) leaves nothing that
    keeps the loop alive."""
    import gc
    import weakref

    url = f"http://127.0.0.1:{fast_upstream_port}/v1/chat/completions"

    async def one() -> weakref.ref[asyncio.AbstractEventLoop]:
        assert (await post(http, url)).status == 200
        await http.close()
        return weakref.ref(asyncio.get_running_loop())

    loop_ref = asyncio.run(one())
    gc.collect()
    assert loop_ref() is None


async def test_connecting_too_long_is_a_connect_timeout(
    http: UpstreamClient, serve: Callable[..., Awaitable[Scripted]]
) -> None:
    """A TLS handshake the server never answers is part of connecting: the connect timeout
    ends it, not the read timeout."""

    async def silent(request: bytes, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    server = await serve(silent)  # plain TCP: the client's ClientHello gets no answer
    url = server.url.replace("http://", "https://")
    started = asyncio.get_running_loop().time()
    with pytest.raises(TransportError) as caught:
        await http.post(url, b"{}", {}, 30.0, connect_timeout=0.2)
    assert upstream.describe(caught.value) == (
        "timeout",
        "Could not connect to the upstream in time.",
    )
    assert asyncio.get_running_loop().time() - started < 5


async def test_events_that_arrived_together_are_counted_pending(
    http: UpstreamClient, serve: Callable[..., Awaitable[Scripted]]
) -> None:
    """Events one read delivered are yielded one by one, each saying how many more are
    already here; CRLF line ends and an event split across two writes decode too."""
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    together = chunk(b"data: 1\r\n\r\nevent: e\r\ndata: 2\r\n\r\ndata: 3\n\n")
    split = [chunk(b"data: 4\r"), chunk(b"\ndata: x\r\n\r\n")]
    server = await serve(fixed(head, together, *split, b"0\r\n\r\n", pause=0.05))
    seen = []
    async with http.stream(server.url, b"{}", {}, read_timeout=5.0) as response:
        assert response.status == 200
        async for event in response.events():
            seen.append((event.event, event.data, response.pending))
    assert seen == [
        ("message", "1", 2),
        ("e", "2", 1),
        ("message", "3", 0),
        ("message", "4\nx", 0),
    ]


async def test_an_error_answer_to_a_stream_is_read_whole(
    http: UpstreamClient, serve: Callable[..., Awaitable[Scripted]]
) -> None:
    """A 4xx/5xx is not an exception: the stream hands over its status, headers and body."""
    error = b'{"error": {"message": "slow down"}}'
    answer = length_delimited(error, "retry-after: 3").replace(b"200 OK", b"429 Too Many")
    server = await serve(fixed(answer))
    async with http.stream(server.url, b"{}", {}, read_timeout=5.0) as response:
        assert response.status == 429 and response.headers["retry-after"] == "3"
        assert await response.read_body() == error.decode()


async def test_cookies_and_redirects_are_not_followed(
    http: UpstreamClient, serve: Callable[..., Awaitable[Scripted]]
) -> None:
    """A Set-Cookie is not sent back and a redirect is an answer like any other."""
    moved = length_delimited(b"", "set-cookie: session=1; Path=/", "location: /elsewhere")
    server = await serve(fixed(moved.replace(b"200 OK", b"302 Found")))
    first = await post(http, server.url)
    assert first.status == 302 and first.headers["location"] == "/elsewhere"
    assert (await post(http, server.url)).status == 302
    assert len(server.requests) == 2 and b"cookie" not in server.requests[1].lower()
    assert server.requests[1].startswith(b"POST /v1/chat/completions ")


async def test_a_header_that_is_not_latin1_is_refused_before_sending(
    http: UpstreamClient, serve: Callable[..., Awaitable[Scripted]]
) -> None:
    server = await serve(fixed(length_delimited(OK_JSON)))
    with pytest.raises(TransportError, match="ISO-8859-1") as caught:
        await http.post(server.url, b"{}", {"x-name": "\u20ac"}, 5.0)
    assert caught.value.kind == "connection" and server.requests == []
