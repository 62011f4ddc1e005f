"""Progress of a running batch: a redrawn bar on a terminal, plain periodic lines otherwise.

Hand-rolled (`\\r` + ANSI erase-line) rather than tqdm: one line, four numbers, no dependency.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from batch.summary import Tally

ERASE_LINE = "\r\x1b[2K"
BAR_WIDTH = 24


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "--"
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "#" * filled + "-" * (width - filled)


def status_text(tally: Tally, inflight: int = 0) -> str:
    return (
        f"{tally.finished}/{tally.total} (ok {tally.done}, failed {tally.failed})  "
        f"{tally.rate():.1f}/s  ETA {duration(tally.eta_seconds())}  "
        f"spent ${tally.spent:.4f}  {inflight} in flight"
    )


class Progress:
    """Call `update()` as often as you like; it draws at most every `interval` seconds."""

    def __init__(
        self, stream: TextIO | None = None, tty: bool | None = None, interval: float | None = None
    ) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval = interval if interval is not None else (0.1 if self.tty else 5.0)
        self._last = 0.0

    def update(self, tally: Tally, inflight: int = 0, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        if self.tty:
            fraction = tally.finished / tally.total if tally.total else 1.0
            self.stream.write(f"{ERASE_LINE}[{bar(fraction)}] {status_text(tally, inflight)}")
        else:
            self.stream.write(f"batch: {status_text(tally, inflight)}\n")
        self.stream.flush()

    def note(self, message: str) -> None:
        """A message on its own line that does not garble the bar."""
        prefix = ERASE_LINE if self.tty else ""
        self.stream.write(f"{prefix}{message}\n")
        self.stream.flush()

    def finish(self, tally: Tally) -> None:
        self.update(tally, 0, force=True)
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
