"""The request log: usage records one by one, filtered, newest first, and one record's detail.

The dashboard's tables and charts link here with the filter of the row or bar that was
clicked (``?model=openai/gpt-4o&start=...``), so every number leads to the requests behind
it. Filter values are the stored values; :data:`NONE` selects the empty value (a request no
model answered, a call without a key, a direct model call with no route).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet

from usage.models import UsageRecord

from .reports import NONE_VALUE, DateRange, key_label, key_value, records

NONE = NONE_VALUE
PER_PAGE = 50
FILTERS = ("key", "model", "route", "status", "http_status", "error_type", "source")
FIELDS = {"key": "api_key", "http_status": "http_status"}  # filter name -> field, when not equal
STATUSES = ("ok", "error", "cancelled")
MAX_QUERY = 100


@dataclass(frozen=True)
class Filters:
    """What the log is narrowed to: one value per dimension ("" means any) and a request id."""

    key: str = ""
    model: str = ""
    route: str = ""
    status: str = ""
    http_status: str = ""
    error_type: str = ""
    source: str = ""
    q: str = ""

    @classmethod
    def from_query(cls, data: Any) -> Filters:
        values = {name: str(data.get(name, "")).strip()[:250] for name in FILTERS}
        return cls(**values, q=str(data.get("q", "")).strip()[:MAX_QUERY])

    def active(self) -> dict[str, str]:
        return {name: value for name, value in self.as_dict().items() if value}

    def as_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in (*FILTERS, "q")}


def _match(field: str, value: str) -> Q:
    if field == "api_key" and value.startswith("user:"):  # a playground user's calls (no key)
        user = value[len("user:") :]
        if not (user.isdigit() and len(user) < 10):
            return Q(pk__in=[])
        return Q(api_key__isnull=True, user_id=int(user))
    if field == "api_key" and value == NONE:
        return Q(api_key__isnull=True, user__isnull=True)
    numeric = field in ("api_key", "http_status")
    if value == NONE:
        return Q(**{f"{field}__isnull": True}) if numeric else Q(**{field: ""})
    if numeric:  # an id or a status; anything else matches nothing (never a 500)
        return Q(**{field: int(value)}) if value.isdigit() and len(value) < 10 else Q(pk__in=[])
    return Q(**{field: value})


def filtered(rng: DateRange, filters: Filters, protocol: str = "") -> QuerySet[UsageRecord]:
    """The range's records (of one front door when `protocol` is given) matching every
    filter, newest first."""
    qs = records(rng, protocol)
    for name in FILTERS:
        value = getattr(filters, name)
        if value:
            qs = qs.filter(_match(FIELDS.get(name, name), value))
    if filters.q:
        qs = qs.filter(request_id__icontains=filters.q)
    return qs.select_related("api_key", "user").order_by("-created_at", "-id")


def page(qs: QuerySet[UsageRecord], number: Any) -> Page[UsageRecord]:
    return Paginator(qs, PER_PAGE).get_page(number)


def _distinct(qs: QuerySet[UsageRecord], field: str) -> list[str]:
    values = qs.order_by(field).values_list(field, flat=True).distinct()
    return [value or NONE for value in values]


def choices(
    rng: DateRange, filters: Filters, protocol: str = ""
) -> dict[str, list[tuple[str, str]]]:
    """The values each filter can take in this range (and door), selects, not free text, plus
    the value in use when the range has none of it (so the select shows what filters)."""
    qs = records(rng, protocol)
    keys = qs.order_by("api_key__name", "user__username").values(
        "api_key_id", "api_key__name", "api_key__prefix", "user_id", "user__username"
    )
    key_choices = [(key_value(row), key_label(row)) for row in keys.distinct()]
    result: dict[str, list[tuple[str, str]]] = {"key": key_choices}
    for name in ("model", "route", "error_type", "source"):
        result[name] = [(value, value) for value in _distinct(qs, name)]
    result["status"] = [(value, value) for value in STATUSES]
    statuses = qs.order_by("http_status").values_list("http_status", flat=True).distinct()
    result["http_status"] = [(str(value), str(value)) for value in statuses]
    for name, options in result.items():
        value = getattr(filters, name)
        if value and value not in {v for v, _ in options}:
            options.append((value, value))
    return result


def link(rng: DateRange, **filters: str) -> str:
    """The query string of the log for this range and these filters."""
    return urlencode({"start": rng.start, "end": rng.end, **filters})


def neighbours(record: UsageRecord) -> list[UsageRecord]:
    """Other records of the same request id (a retried batch line, an ensemble's judge...)."""
    same = UsageRecord.objects.filter(request_id=record.request_id).exclude(pk=record.pk)
    return list(same.order_by("created_at")[:20])
