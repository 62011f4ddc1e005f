"""Shared state across workers: local memory by default, Redis when REDIS_URL is set.

Everything the gateway keeps between requests that must agree across workers goes through
here: the configuration version (catalog, keys, routes), model cooldowns, and the counters
that later guards use. Async clients are kept one per event loop.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from typing import Protocol

from django.conf import settings

CONFIG_VERSION_KEY = "sy:config-version"
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


def bump_config_version() -> int:
    """Tell every worker that the catalog, keys or routes changed."""
    return get_state().incr_sync(CONFIG_VERSION_KEY)
