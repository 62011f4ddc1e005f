"""The OpenAI doors beyond chat (embeddings, files, batches, ...), as one entry of the door
table (routing/doors/table.py): a table of paths and methods.

Each of those door modules registers its paths here with `route()`; `serves()` says whether
a path is one of them, `handle()` finds the door's handler and turns every failure into
OpenAI's error envelope. Paths nobody registered go on to the chat door, whose 404 names them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

from routing.conf import knobs
from routing.doors.base import Reply
from routing.doors.openai_chat import TOO_LARGE, error_reply
from routing.errors import GatewayError

log = logging.getLogger("switchyard.api")


@dataclass
class Request:
    """One /v1 request as every door sees it (headers lower-cased)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    request_id: str
    query: str = ""
    params: tuple[str, ...] = ()  # the path's captured parts (an id)

    def arg(self, name: str) -> str | None:
        values = parse_qs(self.query).get(name)
        return values[-1] if values else None


Handler = Callable[[Request], Awaitable[Reply]]
_table: list[tuple[re.Pattern[str], dict[str, Handler]]] = []


def route(pattern: str, **methods: Handler) -> None:
    """Register a door's handlers for a path (a regex; groups become `Request.params`)."""
    _table.append((re.compile(pattern + r"\Z"), methods))


def body_limit(path: str) -> int:
    """Uploads to the Files API may be larger than any JSON request."""
    if path == "/v1/files":
        return knobs.SWITCHYARD_FILE_MAX_BYTES + 64 * 1024  # room for the multipart frame
    return knobs.DATA_UPLOAD_MAX_MEMORY_SIZE


def _match(path: str) -> tuple[dict[str, Handler], tuple[str, ...]] | None:
    _load_doors()
    for pattern, methods in _table:
        found = pattern.match(path)
        if found is not None:
            return methods, found.groups()
    return None


def serves(method: str, path: str, headers: Mapping[str, str]) -> bool:
    return _match(path) is not None


def _find(method: str, path: str) -> tuple[Handler, tuple[str, ...]]:
    matched = _match(path)
    if matched is None:
        raise GatewayError(404, f"Unknown endpoint: {method} {path}.", code="unknown_url")
    methods, params = matched
    handler = methods.get(method)
    if handler is None:
        raise GatewayError(405, f"Method {method} is not allowed on {path}.")
    return handler, params


_loaded = False


def _load_doors() -> None:
    """Import every door once; each registers its paths at import."""
    global _loaded
    if _loaded:
        return
    from routing.doors import (  # noqa: F401 - imported for their registrations
        openai_batches,
        openai_completions,
        openai_embeddings,
        openai_files,
        openai_responses,
    )

    _loaded = True


async def handle(
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes | None,
    request_id: str,
    query: str = "",
) -> Reply:
    """Answer one request of these doors; every failure becomes OpenAI's error envelope."""
    try:
        handler, params = _find(method, path)
        if body is None:
            raise TOO_LARGE
        reply = await handler(Request(method, path, headers, body, request_id, query, params))
    except GatewayError as err:
        reply = error_reply(err)
    except Exception:
        log.exception("unexpected error in %s", path)
        reply = error_reply(GatewayError(500, "Internal error in Switchyard.", "server_error"))
    reply.headers["x-request-id"] = request_id
    return reply
