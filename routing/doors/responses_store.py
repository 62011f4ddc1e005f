"""Stored Responses API responses (sync ORM code, called through sync_to_async): saving a
turn, the conversation behind a `previous_response_id`, reading, deleting, input items, and
purging what is older than the retention period. Every read is limited to one API key."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.utils import timezone

from routing.errors import GatewayError
from routing.models import StoredResponse

MAX_TURNS = 200  # a previous_response_id chain longer than this is cut (oldest turns dropped)


def not_found(ident: str, param: str = "id") -> GatewayError:
    return GatewayError(
        404, f"No response with id '{ident}' was found.", code="not_found", param=param
    )


def get(key_id: int, ident: str) -> StoredResponse:
    found = StoredResponse.objects.filter(api_key_id=key_id, public_id=ident).first()
    if found is None:
        raise not_found(ident)
    return found


def history(key_id: int, ident: str) -> tuple[list[dict[str, Any]], StoredResponse]:
    """The conversation up to and including response `ident`: every turn's input items and
    output items, oldest first."""
    start = StoredResponse.objects.filter(api_key_id=key_id, public_id=ident).first()
    if start is None:
        raise not_found(ident, "previous_response_id")
    turns: list[StoredResponse] = []
    current: StoredResponse | None = start
    while current is not None and len(turns) < MAX_TURNS:
        turns.append(current)
        current = current.previous
    items: list[dict[str, Any]] = []
    for turn in reversed(turns):
        items += list(turn.input_items) + list(turn.body.get("output") or [])
    return items, start


def save(
    key_id: int,
    body: dict[str, Any],
    items: list[dict[str, Any]],
    instructions: str,
    previous: StoredResponse | None,
) -> None:
    StoredResponse.objects.create(
        public_id=str(body["id"]),
        api_key_id=key_id,
        previous=previous,
        input_items=items,
        instructions=instructions or "",
        body=body,
    )


def delete(key_id: int, ident: str) -> dict[str, Any]:
    get(key_id, ident).delete()
    return {"id": ident, "object": "response", "deleted": True}


def _listed(item: dict[str, Any]) -> dict[str, Any]:
    """An input item as OpenAI lists it: a message's text content as an input_text part."""
    if item.get("type", "message") == "message" and isinstance(item.get("content"), str):
        kind = "output_text" if item.get("role") == "assistant" else "input_text"
        return {"type": "message", **item, "content": [{"type": kind, "text": item["content"]}]}
    return item


def input_item_list(key_id: int, ident: str) -> dict[str, Any]:
    stored = get(key_id, ident)
    data = []
    for index, item in enumerate(stored.input_items):
        data.append({"id": item.get("id") or f"item_{stored.pk}_{index}", **_listed(item)})
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": False,
    }


def purge(days: int | None = None) -> int:
    """Delete stored responses older than `days` (the retention setting by default)."""
    keep = settings.SWITCHYARD_RESPONSES_RETENTION_DAYS if days is None else days
    cutoff = timezone.now() - dt.timedelta(days=keep)
    deleted, _ = StoredResponse.objects.filter(created_at__lt=cutoff).delete()
    return deleted
