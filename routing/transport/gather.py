"""Work handed to a background thread in batches, without a lock or a wake-up per item.

Usage records and log lines are produced on every request; writing each one as it comes
(a lock, a thread wake-up, a write) cost more than the rest of the request. A `Gatherer`
takes items on a deque; its thread sleeps until items come, then gathers for `interval()`
seconds, or until `soon` items wait (under load the batches stay short and evenly spread:
one long batch delays every request in flight on that core), and hands them to `drain()`.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any


class Gatherer:
    thread_name = "gatherer"
    soon = 128  # waiting items that cut the gathering short

    def __init__(self) -> None:
        self._items: deque[Any] = deque()
        self._wake = threading.Event()
        self._parked = False  # the thread waits for the next item (nothing to gather)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._drain_lock = threading.Lock()  # one drain at a time: batches stay in order

    def add(self, item: Any) -> None:
        items = self._items
        items.append(item)
        if self._parked or len(items) == self.soon:
            self._parked = False
            self._wake.set()
        thread = self._thread
        if thread is None or not thread.is_alive():
            self.start()

    def start(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name=self.thread_name, daemon=True
                )
                self._thread.start()

    def wake(self) -> None:
        """End the current gathering now (flushes use it)."""
        self._wake.set()

    def take(self) -> list[Any]:
        """Everything waiting, in order of arrival."""
        items = self._items
        return [items.popleft() for _ in range(len(items))]

    def _run(self) -> None:
        while True:
            self._parked = True  # before looking: an item added after the look wakes us
            if not self._items:
                self.idle()
                self._wake.wait()
            self._parked = False
            self._wake.clear()
            if len(self._items) < self.soon:  # (a wake-up for `soon` may be cleared above)
                self._wake.wait(self.interval())
            self._wake.clear()
            self.drain_now()

    def drain_now(self) -> None:
        """Drain what is waiting, here: from the thread, or from a flush elsewhere."""
        with self._drain_lock:
            self.drain()

    # for subclasses
    def interval(self) -> float:
        raise NotImplementedError

    def drain(self) -> None:
        raise NotImplementedError

    def idle(self) -> None:
        """Called before the thread parks with nothing to do."""
