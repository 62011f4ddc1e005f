"""The server-sent events push decoder (routing/transport/sse.py): the WHATWG event-stream
rules, fed in every way a socket may cut the bytes."""

from __future__ import annotations

import pytest

from routing.transport.sse import ServerSentEvent, SSEDecoder

STREAM = (
    b"\xef\xbb\xbf: a comment\r\n"
    b'event: message_start\r\ndata: {"a": 1}\r\n\r\n'
    b"data: line one\ndata: line two\n\n"
    b"id: 7\rretry: 1500\rdata\r\r"
    b"event: ping\n\n"
    b"data:no space\nunknown: ignored\nretry: soon\n\n"
)
EXPECTED = [
    ServerSentEvent("message_start", '{"a": 1}'),
    ServerSentEvent("message", "line one\nline two"),
    ServerSentEvent("message", "", "7", 1500),
    ServerSentEvent("ping", "", "7"),  # no data: still delivered; the last id is kept
    ServerSentEvent("message", "no space", "7"),  # a retry that is not digits is ignored
]


def decode(pieces: list[bytes]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events = [event for piece in pieces for event in decoder.feed(piece)]
    return events + decoder.end()


def test_a_whole_stream_at_once() -> None:
    assert decode([STREAM]) == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 16])
def test_the_same_stream_in_pieces(size: int) -> None:
    """Cut anywhere (inside the byte order mark, between CR and LF, inside a UTF-8
    character), the stream decodes the same."""
    pieces = [STREAM[i : i + size] for i in range(0, len(STREAM), size)]
    assert decode(pieces) == EXPECTED
    text = "data: caf\u00e9 \u6f22\n\n".encode()
    assert decode([text[i : i + 1] for i in range(len(text))]) == [
        ServerSentEvent("message", "caf\u00e9 \u6f22")
    ]


def test_events_come_back_from_the_piece_that_completed_them() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: 1\n\ndata: 2\n\ndata: 3") == [
        ServerSentEvent(data="1"),
        ServerSentEvent(data="2"),
    ]
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"\n") == [ServerSentEvent(data="3")]


def test_the_end_delivers_an_unterminated_last_event() -> None:
    assert decode([b"data: [DONE]"]) == [ServerSentEvent(data="[DONE]")]
    assert decode([b"data: [DONE]\n"]) == [ServerSentEvent(data="[DONE]")]
    assert decode([b"\n\n: only comments\n\n"]) == []


def test_an_id_with_nul_is_ignored_and_invalid_utf8_raises() -> None:
    assert decode([b"id: a\x00b\ndata: x\n\n"]) == [ServerSentEvent(data="x")]
    with pytest.raises(ValueError):
        decode([b"data: \xff\n\n"])
