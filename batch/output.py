"""The output file: OpenAI Batch output lines, appended one whole line at a time.

Each line goes to the kernel with one `write` + flush as soon as its request finishes, so a
killed process leaves only whole lines. fsync runs in a thread, one at a time, each covering
every line written before it (group commit: a per-line fsync on the event loop cost ~3 ms a
line here and capped a job at a few hundred lines/s). A torn last line (power loss) is cut
off before a resumed run appends.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import Counter
from pathlib import Path
from typing import IO, Any

import orjson

from batch.inputs import Item, LineError
from routing.errors import GatewayError

DUPLICATE = "duplicate_custom_id"


def new_id() -> str:
    return "batch_req_" + uuid.uuid4().hex[:24]


def success_line(custom_id: str, request_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = {"status_code": 200, "request_id": request_id, "body": body}
    return {"id": new_id(), "custom_id": custom_id, "response": response, "error": None}


def gateway_error_line(custom_id: str, request_id: str, err: GatewayError) -> dict[str, Any]:
    """The gateway answered with an error: its status and envelope, and the error in brief."""
    response = {"status_code": err.status, "request_id": request_id, "body": err.payload()}
    error = {"code": err.code or err.type, "message": err.message}
    return {"id": new_id(), "custom_id": custom_id, "response": response, "error": error}


def line_error_line(custom_id: str, err: LineError) -> dict[str, Any]:
    """The line never became a request (malformed, duplicate, ...): no response."""
    error = {"code": err.code, "message": err.message}
    return {"id": new_id(), "custom_id": custom_id, "response": None, "error": error}


def line_key(line: dict[str, Any]) -> tuple[str, bool]:
    """The `Item.key` this output line answers."""
    error = line.get("error") or {}
    return (str(line.get("custom_id")), error.get("code") == DUPLICATE)


class OutputFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[bytes] | None = None
        self._dirty = False
        self._syncing: asyncio.Future[None] | None = None

    def existing(self) -> list[dict[str, Any]]:
        """Whole lines already written (a torn last line is removed from the file)."""
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            with self.path.open("r+b") as fh:
                fh.truncate(end)
        lines = []
        for raw in data[:end].splitlines():
            try:
                lines.append(orjson.loads(raw))
            except orjson.JSONDecodeError:
                continue
        return [line for line in lines if isinstance(line, dict) and "custom_id" in line]

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("ab")

    def append(self, line: dict[str, Any]) -> None:
        """One whole line to the kernel now (a killed process keeps it); fsync follows."""
        assert self._fh is not None, "open() first"
        self._fh.write(orjson.dumps(line) + b"\n")
        self._fh.flush()
        self._dirty = True
        self._sync_soon()

    def _sync_soon(self) -> None:
        """Group commit: one fsync at a time, off the event loop, covering every line so far."""
        if self._syncing is not None or not self._dirty or self._fh is None:
            return
        self._dirty = False
        self._syncing = asyncio.ensure_future(asyncio.to_thread(os.fsync, self._fh.fileno()))
        self._syncing.add_done_callback(self._synced)

    def _synced(self, _: asyncio.Future[None]) -> None:
        self._syncing = None
        self._sync_soon()

    async def aclose(self) -> None:
        """Wait for the last fsync, then close."""
        while self._syncing is not None:
            await asyncio.wait({self._syncing})
            await asyncio.sleep(0)  # let the done-callback run
        if self._fh is not None:
            if self._dirty:
                os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None


def pending(items: list[Item], written: list[dict[str, Any]]) -> list[Item]:
    """Items with no line in OUT yet (a custom_id seen once in OUT skips one item)."""
    left = Counter(line_key(line) for line in written)
    out = []
    for item in items:
        if left[item.key] > 0:
            left[item.key] -= 1
        else:
            out.append(item)
    return out
