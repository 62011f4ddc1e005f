"""Usage records written in batches by one background thread, off the request path.

`submit()` turns the record into INSERT parameters and hands them to a `Gatherer` (no lock,
no wake-up per record): the writer thread wakes when records start arriving, gathers for
SWITCHYARD_USAGE_FLUSH_SECONDS or until SOON rows wait, writes what came with one prepared
INSERT per batch, keeps
rows it could not write and tries again (a database that went away loses nothing
acknowledged), and flushes what is left when the process exits.

The same thread writes the opt-in request bodies (`submit_body`, rare: the ORM is fine for
them) and, at most every PRUNE_SECONDS, deletes those past their retention.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connection, connections, transaction
from django.utils import timezone

from routing.transport.gather import Gatherer

log = logging.getLogger(__name__)
BATCH = 500
SOON = 128  # rows that cut the gathering short: writes stay small and evenly spread
PRUNE_SECONDS = 600.0


def drop_broken_connection() -> None:
    """Outside Django's request cycle nobody closes a connection an outage broke: do it here
    (never inside a transaction, whose connection belongs to its owner)."""
    from django.db import connection

    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


_MISSING = object()
_STAMP = object()  # default of created_at: now, prepared by the stamper
_NONE = type(None)


Column = tuple[str, str, Any, Any, frozenset[type], Callable[[Any, Any], Any]]


def _json_text(field: Any) -> Callable[[Any, Any], Any]:
    """SQLite stores JSON as text: orjson writes the same JSON as the field's json.dumps
    (without its spaces) in a fraction of the time; anything orjson refuses goes through
    the field."""

    def convert(value: Any, db: Any) -> Any:
        if type(value) in (list, dict):
            try:
                return orjson.dumps(value).decode()
            except TypeError:
                pass
        return field.get_db_prep_save(value, db)

    return convert


@functools.cache
def _insert_plan(vendor: str) -> tuple[str, list[Column]]:
    """The INSERT and, per column, (attname, name, default, field, as_is, convert): values
    whose exact type is in `as_is` are what the field would produce on every backend and go
    in as they are; the rest (dates, decimals, JSON, anything unexpected) go through
    `convert`, the field's own preparation (or, for JSON on SQLite, the same JSON faster)."""
    from django.db import models

    from usage.models import UsageRecord

    def as_is(f: Any) -> frozenset[type]:
        if isinstance(f, models.BooleanField):
            return frozenset({bool, _NONE})
        if isinstance(f, models.IntegerField | models.ForeignKey):  # integer primary keys
            return frozenset({int, _NONE})
        if isinstance(f, models.CharField | models.TextField):
            return frozenset({str, _NONE})
        if isinstance(f, models.FloatField):
            return frozenset({float, _NONE})
        if isinstance(f, models.DecimalField | models.DateTimeField):
            return frozenset({_NONE})  # NULL; values go through the field
        return frozenset()

    fields = [f for f in UsageRecord._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    table = quote(UsageRecord._meta.db_table)

    def convert(f: Any) -> Callable[[Any, Any], Any]:
        if vendor == "sqlite" and isinstance(f, models.JSONField) and f.encoder is None:
            return _json_text(f)
        return f.get_db_prep_save

    default = {f.name: _STAMP if f.name == "created_at" else f.get_default() for f in fields}
    plan = [(f.attname, f.name, default[f.name], f, as_is(f), convert(f)) for f in fields]
    return f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", plan


@functools.cache
def _preparing_wrapper() -> tuple[Any, Callable[[], Any]]:
    """A database wrapper of the default alias used only to convert values (it never
    connects), and the `created_at` stamp as the INSERT wants it. `connections[alias]` is
    task-local under ASGI: looked up from a request's task it built a new wrapper for
    every request."""
    db = connections.create_connection(DEFAULT_DB_ALIAS)
    return db, _stamper(db)


def _stamper(db: Any) -> Callable[[], Any]:
    """`created_at` = now, prepared: the cheapest of three ways that gives what the field
    gives on this database (checked here on a sample, once per process)."""
    from usage.models import UsageRecord

    field = UsageRecord._meta.get_field("created_at")
    sample = timezone.now()
    prepared = field.get_db_prep_save(sample, db)
    if prepared is sample:  # PostgreSQL: the aware datetime itself
        return timezone.now
    if prepared == str(sample.replace(tzinfo=None)) and sample.tzinfo is dt.UTC:
        return lambda: str(dt.datetime.now(dt.UTC).replace(tzinfo=None))  # SQLite in UTC
    return lambda: field.get_db_prep_save(timezone.now(), db)


def prepare(record: dict[str, Any]) -> list[Any]:
    """The record as the INSERT's parameters, in column order (a few microseconds: done by
    the submitting thread, so the writer only executes and never holds the GIL for long)."""
    db, stamp = _preparing_wrapper()
    _, plan = _insert_plan(db.vendor)
    row = []
    for attname, name, default, _, as_is, convert in plan:
        value = record.get(attname, _MISSING)
        if value is _MISSING:
            value = record.get(name, _MISSING)
            if value is _MISSING:
                if default is _STAMP:
                    row.append(stamp())
                    continue
                value = default
        if type(value) not in as_is:
            value = convert(value, db)
        row.append(value)
    return row


class UsageWriter(Gatherer):
    thread_name = "usage-writer"
    soon = SOON

    def __init__(self) -> None:
        super().__init__()
        self._busy = False  # rows taken off the deque and not yet written
        self._cond = threading.Condition()

    def submit(self, fields: dict[str, Any]) -> None:
        self.add(prepare(fields))

    def submit_body(self, fields: dict[str, Any]) -> None:
        """A request's bodies (`usage.models.RequestBody` columns); rows stay lists."""
        self.add(fields)

    def interval(self) -> float:
        return float(settings.SWITCHYARD_USAGE_FLUSH_SECONDS)

    def idle(self) -> None:
        connection.close()  # no database connection held until records come

    def drain(self) -> None:
        with self._cond:
            self._busy = True
        rows = self.take()
        bodies = [item for item in rows if type(item) is dict]
        if bodies:
            rows = [item for item in rows if type(item) is not dict]
        for start in range(0, len(rows), BATCH):
            self._write_until_done(rows[start : start + BATCH])
        if bodies:
            self._until_done(lambda: write_bodies(bodies), len(bodies))
        with self._cond:
            self._busy = False
            self._cond.notify_all()

    def _write_until_done(self, batch: list[list[Any]]) -> None:
        self._until_done(lambda: self.write(batch), len(batch))

    @staticmethod
    def _until_done(write: Callable[[], None], count: int) -> None:
        delay = 0.5
        while True:
            try:
                write()
                return
            except Exception:  # noqa: BLE001 - the database may be away; keep the rows
                log.exception("usage records not written yet (%d rows), retrying", count)
                with contextlib.suppress(Exception):
                    close_old_connections()
                time.sleep(delay)
                delay = min(delay * 2, 10)

    @staticmethod
    def write(rows: list[list[Any]]) -> None:
        """One INSERT executed for the whole batch of prepared rows, on the writer's own
        long-lived connection (the ORM's bulk_create costs about five times more CPU)."""
        if connection.connection is not None and connection.errors_occurred:
            close_old_connections()  # a failed write left it broken (or not: checked there)
        sql, _ = _insert_plan(connection.vendor)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, rows)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every record submitted so far is written (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._items or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.start()
                self.wake()
                self._cond.wait(min(remaining, 0.05))
        return True


_pruned = [0.0]  # monotonic time of the last deletion of expired bodies


def write_bodies(bodies: list[dict[str, Any]]) -> None:
    """Insert the bodies (a request id already kept is left as it is) and, now and then,
    delete those whose retention has ended."""
    from usage.models import RequestBody

    if connection.connection is not None and connection.errors_occurred:
        close_old_connections()
    RequestBody.objects.bulk_create(
        [RequestBody(**fields) for fields in bodies], ignore_conflicts=True
    )
    if time.monotonic() - _pruned[0] > PRUNE_SECONDS:
        from usage import bodies as stored

        stored.prune()
        _pruned[0] = time.monotonic()


writer = UsageWriter()
atexit.register(writer.flush, 30.0)


def submit(fields: dict[str, Any]) -> None:
    writer.submit(fields)


def submit_body(fields: dict[str, Any]) -> None:
    writer.submit_body(fields)
