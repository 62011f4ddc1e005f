"""Which front door answers a /v1 request: each door says which requests are its own, in
order; the OpenAI chat door answers the rest (its 404 for an unknown endpoint included)."""

from __future__ import annotations

from collections.abc import Mapping

from routing.doors import anthropic_messages, openai_chat, openai_paths
from routing.doors.base import Reply
from routing.errors import GatewayError

DOORS = (anthropic_messages,)  # checked in order before the chat door
CHAT_PATH = "/v1/chat/completions"  # most requests: straight to its door, no table to search


body_limit = openai_paths.body_limit  # the largest body read for a path (uploads may be large)


async def handle(
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes | None,
    request_id: str,
    query: str = "",
) -> Reply:
    if path == CHAT_PATH:
        return await openai_chat.handle(method, path, headers, body, request_id)
    for door in DOORS:
        if door.serves(method, path, headers):
            return await door.handle(method, path, headers, body, request_id)
    if openai_paths.serves(method, path, headers):  # embeddings, files, batches, ...
        return await openai_paths.handle(method, path, headers, body, request_id, query)
    return await openai_chat.handle(method, path, headers, body, request_id)


def error_reply(
    method: str, path: str, headers: Mapping[str, str], err: GatewayError, request_id: str
) -> Reply:
    """`err` in the envelope of the door that would have answered (refusals made before any
    door runs, e.g. a Host not in ALLOWED_HOSTS)."""
    if anthropic_messages.serves(method, path, headers):
        return anthropic_messages.error_reply(err, request_id)
    return openai_chat.error_reply(err)
