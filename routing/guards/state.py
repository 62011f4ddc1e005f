"""Shared state across workers: local memory by default, Redis when REDIS_URL is set.

Everything the gateway keeps between requests that must agree across workers goes through
here: the configuration version's counter (routing/catalog/version.py), model cooldowns, and the counters
that later guards use. Async clients are kept one per event loop.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

LOCAL_CACHE_BYTES = 4 * 1024 * 1024  # response cache in local memory (per process)


class SharedState(Protocol):
    async def get_int(self, key: str) -> int: ...
    def incr_sync(self, key: str) -> int: ...
    async def set_until(self, key: str, seconds: float) -> None: ...
    async def is_set(self, key: str) -> bool: ...
    async def incr_window(self, key: str, seconds: float) -> int: ...
    async def add(self, key: str, amount: int, seconds: float) -> int: ...
    async def get_bytes(self, key: str) -> bytes | None: ...
    async def set_bytes(self, key: str, value: bytes, seconds: float) -> None: ...
    async def init_if_missing(self, key: str, value: int, seconds: float) -> None: ...
    async def take_all(self, takes: list[Take]) -> tuple[int, list[int], list[int]]: ...
    async def adjust_existing(self, changes: list[tuple[str, int]]) -> None: ...


@dataclass(frozen=True)
class Take:
    """Add `amount` to counter `key` (expiring after `seconds`) unless it would pass `limit`.
    `must_exist`: the counter is only valid if someone initialised it (budgets).
    `floor` > 0: take as much of `amount` as fits under `limit`, but at least `floor`
    (a budget that pays for a shorter answer rather than none)."""

    key: str
    amount: int
    limit: int
    seconds: float
    must_exist: bool = False
    floor: int = 0


MISSING = -2


class LocalState:
    """Single-process state: enough for one worker, and what tests use without Redis."""

    def __init__(self) -> None:
        self._ints: dict[str, int] = {}
        self._expiry: dict[str, float] = {}
        self._bytes: dict[str, bytes] = {}
        self._size = 0

    async def get_int(self, key: str) -> int:
        return self._ints.get(key, 0)

    def incr_sync(self, key: str) -> int:
        self._ints[key] = self._ints.get(key, 0) + 1
        return self._ints[key]

    async def set_until(self, key: str, seconds: float) -> None:
        self._expiry[key] = time.monotonic() + seconds

    async def is_set(self, key: str) -> bool:
        until = self._expiry.get(key)
        return until is not None and until > time.monotonic()

    async def incr_window(self, key: str, seconds: float) -> int:
        if not await self.is_set(key + ":win"):
            self._ints[key] = 0
            await self.set_until(key + ":win", seconds)
        self._ints[key] = self._ints.get(key, 0) + 1
        return self._ints[key]

    def _live(self, key: str) -> bool:
        until = self._expiry.get(key)
        if until is not None and until <= time.monotonic():
            self._expiry.pop(key, None)
            self._ints.pop(key, None)
            dropped = self._bytes.pop(key, None)
            self._size -= len(dropped) if dropped else 0
            return False
        return key in self._ints or key in self._bytes

    async def add(self, key: str, amount: int, seconds: float) -> int:
        if not self._live(key):
            self._expiry[key] = time.monotonic() + seconds
        self._ints[key] = self._ints.get(key, 0) + amount
        return self._ints[key]

    async def init_if_missing(self, key: str, value: int, seconds: float) -> None:
        if not self._live(key):
            self._ints[key] = value
            self._expiry[key] = time.monotonic() + seconds

    async def get_bytes(self, key: str) -> bytes | None:
        return self._bytes.get(key) if self._live(key) else None

    async def set_bytes(self, key: str, value: bytes, seconds: float) -> None:
        """Bounded by LOCAL_CACHE_BYTES: the oldest entries go first."""
        previous = self._bytes.pop(key, None)
        self._size += len(value) - (len(previous) if previous else 0)
        while self._bytes and self._size > LOCAL_CACHE_BYTES:
            oldest = next(iter(self._bytes))
            self._size -= len(self._bytes.pop(oldest))
            self._expiry.pop(oldest, None)
        self._bytes[key] = value
        self._expiry[key] = time.monotonic() + seconds

    async def take_all(self, takes: list[Take]) -> tuple[int, list[int], list[int]]:
        """All or nothing: (0, counts, taken) when every take fits (taken: the amounts, less
        than asked for a `floor` take that was shortened); (i, counts, []) when take i
        (1-based) would pass its limit (nothing taken; counts[i-1] is its use before);
        (MISSING, [i], []) when a must-exist counter is missing."""
        for i, take in enumerate(takes, 1):
            if take.must_exist and not self._live(take.key):
                return MISSING, [i], []
        counts: list[int] = []
        taken: list[int] = []
        for i, take in enumerate(takes, 1):
            amount = take.amount
            if take.floor:
                room = take.limit - (self._ints.get(take.key, 0) if self._live(take.key) else 0)
                amount = max(take.floor, min(amount, room))
            value = await self.add(take.key, amount, take.seconds)
            counts.append(value)
            taken.append(amount)
            if value > take.limit:
                for done, done_amount in zip(takes[:i], taken):
                    await self.add(done.key, -done_amount, done.seconds)
                counts[-1] = value - amount
                return i, counts, []
        return 0, counts, taken

    async def adjust_existing(self, changes: list[tuple[str, int]]) -> None:
        for key, amount in changes:
            if self._live(key) and key in self._ints:
                self._ints[key] += amount


TAKE_ALL = """
local n = #KEYS
for i = 1, n do
  if ARGV[(i - 1) * 5 + 4] == '1' and redis.call('EXISTS', KEYS[i]) == 0 then
    return {-2, i}
  end
end
local counts = {}
local taken = {}
for i = 1, n do
  local base = (i - 1) * 5
  local amount = tonumber(ARGV[base + 1])
  local limit = tonumber(ARGV[base + 2])
  local floor = tonumber(ARGV[base + 5])
  if floor > 0 then
    local room = limit - tonumber(redis.call('GET', KEYS[i]) or '0')
    amount = math.max(floor, math.min(amount, room))
  end
  local value = redis.call('INCRBY', KEYS[i], amount)
  redis.call('PEXPIRE', KEYS[i], ARGV[base + 3], 'NX')
  counts[i] = value
  taken[i] = amount
  if value > limit then
    for j = 1, i do
      redis.call('DECRBY', KEYS[j], taken[j])
    end
    counts[i] = value - amount
    table.insert(counts, 1, i)
    return counts
  end
end
table.insert(counts, 1, 0)
for i = 1, n do
  table.insert(counts, taken[i])
end
return counts
"""
ADJUST_EXISTING = """
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('INCRBY', KEYS[i], ARGV[i])
  end
end
return 1
"""


class RedisState:
    """State shared by every worker through one Redis."""

    def __init__(self, url: str) -> None:
        import redis

        self._url = url
        self._sync = redis.Redis.from_url(url)
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, object] = (
            weakref.WeakKeyDictionary()
        )

    def _client(self):  # type: ignore[no-untyped-def]
        import redis.asyncio as aredis

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = aredis.Redis.from_url(self._url, socket_timeout=2, socket_connect_timeout=2)
            self._clients[loop] = client
        return client

    async def get_int(self, key: str) -> int:
        value = await self._client().get(key)
        return int(value or 0)

    def incr_sync(self, key: str) -> int:
        return int(self._sync.incr(key))

    async def set_until(self, key: str, seconds: float) -> None:
        await self._client().set(key, 1, px=max(1, int(seconds * 1000)))

    async def is_set(self, key: str) -> bool:
        return bool(await self._client().exists(key))

    async def incr_window(self, key: str, seconds: float) -> int:
        pipe = self._client().pipeline()
        pipe.incr(key)
        pipe.pexpire(key, max(1, int(seconds * 1000)), nx=True)
        count, _ = await pipe.execute()
        return int(count)

    async def add(self, key: str, amount: int, seconds: float) -> int:
        pipe = self._client().pipeline()
        pipe.incrby(key, amount)
        pipe.pexpire(key, max(1, int(seconds * 1000)), nx=True)
        value, _ = await pipe.execute()
        return int(value)

    async def init_if_missing(self, key: str, value: int, seconds: float) -> None:
        await self._client().set(key, value, px=max(1, int(seconds * 1000)), nx=True)

    async def take_all(self, takes: list[Take]) -> tuple[int, list[int], list[int]]:
        """One round trip: the same contract as LocalState.take_all, atomic in Redis."""
        args: list[object] = []
        for take in takes:
            args += [
                take.amount,
                take.limit,
                max(1, int(take.seconds * 1000)),
                1 if take.must_exist else 0,
                take.floor,
            ]
        result = await self._client().eval(TAKE_ALL, len(takes), *[t.key for t in takes], *args)
        failed, values = int(result[0]), [int(v) for v in result[1:]]
        if failed:
            return failed, values, []
        return 0, values[: len(takes)], values[len(takes) :]

    async def adjust_existing(self, changes: list[tuple[str, int]]) -> None:
        keys = [key for key, _ in changes]
        await self._client().eval(ADJUST_EXISTING, len(keys), *keys, *[a for _, a in changes])

    async def get_bytes(self, key: str) -> bytes | None:
        value = await self._client().get(key)
        return bytes(value) if value is not None else None

    async def set_bytes(self, key: str, value: bytes, seconds: float) -> None:
        await self._client().set(key, value, px=max(1, int(seconds * 1000)))


_state: SharedState | None = None


def get_state() -> SharedState:
    global _state
    if _state is None:
        _state = RedisState(settings.REDIS_URL) if settings.REDIS_URL else LocalState()
    return _state
