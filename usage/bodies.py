"""Stored request bodies (opt-in per key or route, see `routing.models.StoresBodies`): what the
request page shows of them, and their deletion when the retention ends.

The writer (`routing.transport.records`) inserts them off the request path and deletes expired
ones every few minutes; `manage.py prune_bodies` does the same on demand (a cron line).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from django.utils import timezone

from usage.models import BODY_CAP, RequestBody


@dataclass(frozen=True)
class Shown:
    """A stored body as the request page shows it (the template escapes the text)."""

    row: RequestBody
    request: str
    answer: str

    @property
    def cap_kb(self) -> int:
        return BODY_CAP // 1024


def _pretty(text: str) -> str:
    """JSON indented for reading; anything else (a cut body, a stream's text) as it is."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def for_request(request_id: str, now: dt.datetime | None = None) -> Shown | None:
    """The request's stored body, unless there is none or its retention has ended."""
    now = now or timezone.now()
    row = RequestBody.objects.filter(request_id=request_id, expires_at__gt=now).first()
    if row is None:
        return None
    return Shown(row, _pretty(row.request), _pretty(row.answer))


def prune(now: dt.datetime | None = None) -> int:
    """Delete the bodies whose retention has ended; how many."""
    deleted, _ = RequestBody.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
