"""Server-sent events decoded as bytes arrive: a push parser both upstream clients share.

Why our own: the client hands over the body in the pieces the socket delivered and wants
every event those pieces completed at once (the OpenAI adapter marks a chunk `more` when
others already wait, so the relay can write them together). httpx-sse's public API is a
pull iterator over an `httpx.Response` (and refuses bodies not labelled
`text/event-stream`); its push decoder is private (`httpx_sse._decoders`); sseclient-py
pulls from a blocking iterator. What fits is the WHATWG "event stream interpretation",
which is short:

- lines end in CRLF, LF or CR (a CRLF split across two pieces is one line end); a leading
  UTF-8 byte order mark is dropped; lines are UTF-8 (invalid bytes raise `ValueError`,
  which the adapters classify as a malformed answer);
- `:` starts a comment; `field: value` (one space after the colon dropped); a line without a
  colon is a field with an empty value; unknown fields are ignored;
- `data` lines are joined with newlines; `event` names the event (default `message`); `id`
  sets the last event id, kept across events (ignored if it contains NUL); `retry` is
  kept only when it is all ASCII digits;
- a blank line dispatches the event.

Two choices keep what the gateway did with httpx-sse's decoder, where the browser's
EventSource differs: an event with fields but no `data` is still delivered (an upstream's
`event:` line is never dropped silently), and `end()` delivers an event the stream ended
without its blank line (an answer's last event is not lost to a missing newline).
"""

from __future__ import annotations

from typing import NamedTuple

BOM = b"\xef\xbb\xbf"


class ServerSentEvent(NamedTuple):
    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None


class SSEDecoder:
    """Feed body bytes in any pieces; get back the events they completed."""

    __slots__ = ("_buffer", "_cr", "_started", "_event", "_data", "_id", "_retry", "_fields")

    def __init__(self) -> None:
        self._buffer = b""  # the start of a line not yet ended
        self._cr = False  # the last piece ended in CR: an LF opening the next one belongs to it
        self._started = False  # past the byte order mark, if any
        self._event = ""
        self._data: list[str] = []
        self._id = ""
        self._retry: int | None = None
        self._fields = False  # a field was seen since the last dispatch

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        if not data:
            return []
        if not self._started:
            data = self._skip_bom(data)
        if self._cr:
            self._cr = False
            if data[:1] == b"\n":
                data = data[1:]
        buffer = self._buffer + data if self._buffer else data
        if b"\r" in buffer:
            self._cr = buffer[-1:] == b"\r"
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *lines, self._buffer = buffer.split(b"\n")
        events = []
        for line in lines:
            event = self._line(line.decode())
            if event is not None:
                events.append(event)
        return events

    def end(self) -> list[ServerSentEvent]:
        """The stream ended: what its unterminated last line and event held."""
        events = []
        if self._buffer:
            line, self._buffer = self._buffer, b""
            event = self._line(line.decode())
            if event is not None:
                events.append(event)
        event = self._line("")
        if event is not None:
            events.append(event)
        return events

    def _skip_bom(self, data: bytes) -> bytes:
        pending = self._buffer + data
        if len(pending) < len(BOM) and BOM.startswith(pending):
            self._buffer, data = pending, b""  # too short to tell yet
            return data
        self._started = True
        self._buffer = b""
        return pending[len(BOM) :] if pending.startswith(BOM) else pending

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line[0] == ":":
            return None
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry":
            if value.isascii() and value.isdigit():
                self._retry = int(value)
        else:
            return None
        self._fields = True
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._fields:
            return None
        event = ServerSentEvent(
            self._event or "message", "\n".join(self._data), self._id, self._retry
        )
        self._event, self._data, self._retry, self._fields = "", [], None, False
        return event
