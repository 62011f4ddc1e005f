"""The configuration version: how every server process learns that catalog, keys or routes
changed, whichever process changed them (the admin, a management command, `manage.py shell`).

Two parts, compared as one value:
- a counter bumped on every change (the post_save/post_delete signals and the commands that
  write in bulk), once the change is committed. With Redis it lives there and is read on every
  request; without Redis it is a row in the database, read at most once a second;
- a fingerprint of the API keys table (how many keys, the newest, which are live), also read
  at most once a second. It catches what no signal sees, such as a revocation written with
  `QuerySet.update()`: revoking a key is a security action, no path may leave it working.
"""

from __future__ import annotations

import time
from typing import Any

from asgiref.sync import sync_to_async
from django.db import DatabaseError, transaction
from django.db.models import Count, F, Max, Q, Sum

from routing.conf import knobs
from routing.guards.state import get_state

CONFIG_VERSION_KEY = "sy:config-version"
READ_EVERY = 1.0  # seconds between database reads of the version and the keys' fingerprint

_db_read: tuple[float, tuple[int, tuple[Any, ...]]] | None = None


def _read_database() -> tuple[int, tuple[Any, ...]]:
    from routing.models import ApiKey, ConfigVersion
    from routing.transport.records import drop_broken_connection

    drop_broken_connection()
    row = ConfigVersion.objects.filter(pk=1).values_list("version", flat=True).first()
    keys = ApiKey.objects.aggregate(
        n=Count("id"), top=Max("id"), live=Sum("id", filter=Q(revoked_at__isnull=True))
    )
    return row or 0, (keys["n"], keys["top"], keys["live"])


async def _database_part() -> tuple[int, tuple[Any, ...]]:
    global _db_read
    now = time.monotonic()
    if _db_read is not None and now - _db_read[0] < READ_EVERY:
        return _db_read[1]
    try:
        value = await sync_to_async(_read_database, thread_sensitive=True)()
    except DatabaseError:
        if _db_read is not None:  # the database is away: try again in a second, not per request
            _db_read = (now, _db_read[1])
        raise
    _db_read = (now, value)
    return value


async def current() -> tuple[int, int, tuple[Any, ...]]:
    """(shared counter, database counter, keys' fingerprint): a change to any means reload."""
    counter = await get_state().get_int(CONFIG_VERSION_KEY) if knobs.REDIS_URL else 0
    read = _db_read  # read this second already (nearly every request): no coroutine to await
    if read is not None and time.monotonic() - read[0] < READ_EVERY:
        stored, keys = read[1]
    else:
        stored, keys = await _database_part()
    return counter, stored, keys


def forget() -> None:
    """Read the database again on the next request (this process just changed something)."""
    global _db_read
    _db_read = None


def _bump_now() -> None:
    from routing.models import ConfigVersion

    if knobs.REDIS_URL:
        get_state().incr_sync(CONFIG_VERSION_KEY)
    else:
        updated = ConfigVersion.objects.filter(pk=1).update(version=F("version") + 1)
        if not updated:
            ConfigVersion.objects.get_or_create(pk=1, defaults={"version": 1})
    forget()


def bump() -> None:
    """Tell every process the configuration changed, once the change is committed (a server
    that reloaded before the commit would keep the old rows under the new version)."""
    transaction.on_commit(_bump_now)
