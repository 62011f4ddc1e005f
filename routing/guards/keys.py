"""API keys: `Authorization: Bearer sy-...`, checked against hashes held in memory."""

from __future__ import annotations

from routing.catalog import KeyEntry, Snapshot, current
from routing.errors import unauthorized
from routing.models import hash_key


async def authenticate_header(header: str) -> tuple[KeyEntry, Snapshot]:
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise unauthorized(
            "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'."
        )
    snapshot = await current()
    key = snapshot.keys.get(hash_key(raw.strip()))
    if key is None:
        raise unauthorized("Incorrect API key provided.")
    if not key.active:
        raise unauthorized("This API key has been revoked.")
    return key, snapshot
