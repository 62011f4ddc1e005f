"""The OpenAI Responses door (POST /v1/responses, GET/DELETE /v1/responses/{id},
GET /v1/responses/{id}/input_items): Codex CLI, the Agents SDK, `client.responses.create`.

A request is validated in the Responses API's terms, its conversation rebuilt from stored
turns (`previous_response_id`), and handed to the engine as one chat request carrying the
native body: an upstream that serves /v1/responses gets that body as it came (reasoning and
encrypted content intact, routing/providers/openai_responses.py); any other upstream gets the
chat translation (responses_translate.py) and its answer or stream is translated back
(responses_events.py). Responses are stored per key unless `store` is false.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from asgiref.sync import sync_to_async
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from routing.catalog import KeyEntry, Snapshot
from routing.doors import openai_paths
from routing.doors import responses_store as store
from routing.doors import responses_translate as rt
from routing.doors.base import Reply as Reply
from routing.doors.base import (
    api_key_header,
    cost_header,
    gateway_headers,
    json_reply,
    new_context,
    stream_reply,
)
from routing.doors.openai_paths import Request
from routing.doors.responses_events import EventWriter, sse
from routing.engine import gateway
from routing.engine.context import CallContext
from routing.engine.gateway import StreamSession
from routing.engine.live import plan_live
from routing.engine.policies import PolicyInput
from routing.errors import GatewayError, invalid
from routing.guards.keys import authenticate_header
from routing.models import StoredResponse
from routing.providers import Completion, UpstreamError
from routing.providers.openai_responses import PROTOCOL
from routing.schemas import ChatRequest, Native, validation_error

log = logging.getLogger("switchyard.api")
DOOR = "responses"
NOT_UPSTREAM = ("previous_response_id", "store", "stream")  # handled here, never sent


class ResponsesRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=300)
    input: str | list[Any]
    instructions: str | None = None
    tools: list[Any] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    max_output_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    text: dict[str, Any] | None = None
    reasoning: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    store: bool = True
    stream: bool = False
    previous_response_id: str | None = None
    include: list[str] | None = None


def parse(raw: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid(f"We could not parse the JSON body of your request: {exc}") from None
    if not isinstance(data, dict):
        raise invalid("The request body must be a JSON object.")
    try:
        ResponsesRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["loc"][:1] == ("input",) and first["type"] != "missing":
            raise invalid("'input' must be a string or a list of input items.", "input") from None
        raise validation_error(exc) from None
    return data


def _native_first(req: dict[str, Any], snapshot: Snapshot, key: KeyEntry) -> bool:
    """Whether the first model the policy would try serves the Responses API itself."""
    inp = PolicyInput(model=req["model"], allowed_regions=key.allowed_regions)
    try:
        plan = plan_live(inp, snapshot)
    except GatewayError:
        return False  # the engine raises it again, in order
    return plan.attempts[0].model.provider.serves_responses


def _chat(req: dict[str, Any], items: list[dict[str, Any]], native: bool) -> rt.Translation:
    tools = req.get("tools") or []
    if native and any(isinstance(t, dict) and t.get("type") != "function" for t in tools):
        functions = [t for t in tools if isinstance(t, dict) and t.get("type") == "function"]
        translation = rt.to_chat({**req, "tools": functions}, items)
        translation.dropped.append("tools (non-function, for fallbacks without Responses)")
        return translation
    return rt.to_chat(req, items)


def _native_body(req: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    body = {k: v for k, v in req.items() if k not in NOT_UPSTREAM}
    body["input"] = items
    body["store"] = False  # Switchyard keeps the conversation; the upstream need not
    return body


def _chat_request(translation: rt.Translation, native: dict[str, Any]) -> ChatRequest:
    try:
        chat = ChatRequest.model_validate(translation.body)
    except ValidationError as exc:
        raise validation_error(exc) from None
    return chat.with_native(Native(PROTOCOL, native))


def _headers(ctx: CallContext, dropped: list[str]) -> dict[str, str]:
    headers = gateway_headers(ctx)
    if dropped:
        headers["x-switchyard-dropped"] = ", ".join(dropped)
    return headers


async def _conversation(
    req: dict[str, Any], key: KeyEntry
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], StoredResponse | None]:
    items = rt.input_items(req["input"])
    previous = None
    history: list[dict[str, Any]] = []
    if req.get("previous_response_id"):
        history, previous = await sync_to_async(store.history)(
            key.id, str(req["previous_response_id"])
        )
    return items, history + items, previous


async def create(request: Request) -> Reply:
    key, snapshot = await authenticate_header(api_key_header(request.headers))
    req = parse(request.body)
    items, conversation, previous = await _conversation(req, key)
    native = _native_first(req, snapshot, key)
    translation = _chat(req, conversation, native)
    translation.body["stream"] = bool(req.get("stream"))
    chat = _chat_request(translation, _native_body(req, conversation))
    query_type = str((req.get("metadata") or {}).get("query_type") or "")
    ctx = new_context(
        DOOR,
        chat.model,
        key.id,
        chat.stream,
        query_type,
        key.allowed_regions,
        request.request_id,
        request.headers.get("cache-control", ""),
        request.body,
    )
    turn = Turn(req, items, previous, key.id)
    if req.get("stream"):
        session = await gateway.open_stream(chat, snapshot, ctx, key)
        return stream_reply(events(session, turn), _headers(ctx, translation.dropped))
    completion = await gateway.complete(chat, snapshot, ctx, key)
    body = turn.body(completion.native, completion.body, ctx)
    await turn.save(body)
    headers = _headers(ctx, translation.dropped)
    headers["x-switchyard-cost-usd"] = cost_header(ctx)
    return json_reply(body, headers)


class Turn:
    """One request's turn of the conversation: what it answers and how it is stored."""

    def __init__(
        self,
        req: dict[str, Any],
        items: list[dict[str, Any]],
        previous: StoredResponse | None,
        key_id: int,
    ) -> None:
        self.req, self.items, self.previous, self.key_id = req, items, previous, key_id
        self.ident = rt.new_id("resp")

    def body(
        self, native: dict[str, Any] | None, chat: dict[str, Any], ctx: CallContext
    ) -> dict[str, Any]:
        model = ctx.model.id if ctx.model else self.req["model"]
        if native is not None:
            body = {**native, "model": model}
            body.update(previous_response_id=self.req.get("previous_response_id"))
            body["store"] = self.req.get("store", True)
            return body
        return rt.response_object(self.req, self.ident, model, chat, ctx.usage)

    async def save(self, body: dict[str, Any]) -> None:
        if self.req.get("store", True) and body.get("status") != "failed":
            instructions = str(self.req.get("instructions") or "")
            await sync_to_async(store.save)(
                self.key_id, body, self.items, instructions, self.previous
            )


def _native_event(raw: str, model: str, turn: Turn) -> tuple[bytes, dict[str, Any]]:
    data = orjson.loads(raw)
    response = data.get("response")
    if isinstance(response, dict):
        response.update(model=model, previous_response_id=turn.req.get("previous_response_id"))
        response["store"] = turn.req.get("store", True)
    return sse(data), data


async def _native_events(session: StreamSession, turn: Turn, chunks: Any) -> AsyncIterator[bytes]:
    seq, final = 0, None
    try:
        async for chunk in chunks:
            native = chunk.extra.get("native")
            if native is None:
                continue
            model = session.ctx.model.id if session.ctx.model else turn.req["model"]
            encoded, data = _native_event(native[1], model, turn)
            seq = int(data.get("sequence_number") or seq) + 1
            if data.get("type") in ("response.completed", "response.incomplete"):
                final = data["response"]
            yield encoded
    except UpstreamError as err:
        failed = {"id": turn.ident, "object": "response", "status": "failed",
                  "error": {"code": f"stream_{err.kind}", "message": err.message}}  # fmt: skip
        yield sse({"type": "response.failed", "sequence_number": seq, "response": failed})
    if final is not None:
        await turn.save(final)


async def _translated_events(
    session: StreamSession, turn: Turn, chunks: Any, head: Any
) -> AsyncIterator[bytes]:
    ctx = session.ctx
    writer = EventWriter(turn.req, turn.ident, ctx.model.id if ctx.model else turn.req["model"])
    out = writer.start() + writer.feed(head.data)
    try:
        yield b"".join(sse(e) for e in out)
        async for chunk in chunks:
            out = writer.feed(chunk.data)
            if out:
                yield b"".join(sse(e) for e in out)
        yield b"".join(sse(e) for e in writer.finish_events(ctx.usage))
    except UpstreamError as err:
        message = f"The upstream failed mid-stream: {err.message}"
        yield b"".join(sse(e) for e in writer.failed(f"stream_{err.kind}", message))
        return
    await turn.save(writer.final)


async def events(session: StreamSession, turn: Turn) -> AsyncIterator[bytes]:
    """The stream as Responses events: the upstream's own when it served /v1/responses,
    translated from chat chunks otherwise. A failure after the first byte ends the stream
    with response.failed, never a clean-looking response.completed."""
    chunks = session.chunks()
    try:
        head = await anext(chunks)
        if head.extra.get("native") is not None:

            async def again() -> AsyncIterator[Any]:
                yield head
                async for chunk in chunks:
                    yield chunk

            async for part in _native_events(session, turn, again()):
                yield part
        else:
            async for part in _translated_events(session, turn, chunks, head):
                yield part
    except StopAsyncIteration:
        return
    except Exception:
        log.exception("responses stream relay failed")
        yield sse({"type": "error", "sequence_number": 0, "code": "server_error",
                   "message": "Internal error in Switchyard while streaming.", "param": None})  # fmt: skip
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]


async def _owner(request: Request) -> int:
    key, _ = await authenticate_header(api_key_header(request.headers))
    return key.id


async def retrieve(request: Request) -> Reply:
    owner = await _owner(request)
    stored = await sync_to_async(store.get)(owner, request.params[0])
    return json_reply(stored.body)


async def delete(request: Request) -> Reply:
    owner = await _owner(request)
    return json_reply(await sync_to_async(store.delete)(owner, request.params[0]))


async def input_items(request: Request) -> Reply:
    owner = await _owner(request)
    return json_reply(await sync_to_async(store.input_item_list)(owner, request.params[0]))


openai_paths.route("/v1/responses", POST=create)
openai_paths.route("/v1/responses/([A-Za-z0-9_-]+)", GET=retrieve, DELETE=delete)
openai_paths.route("/v1/responses/([A-Za-z0-9_-]+)/input_items", GET=input_items)


class Line:
    """A validated Responses request without streaming or storage: a batch line."""

    def __init__(self, data: dict[str, Any]) -> None:
        try:
            ResponsesRequest.model_validate(data)
        except ValidationError as exc:
            raise validation_error(exc) from None
        if data.get("stream") or data.get("previous_response_id"):
            raise invalid("A batch line cannot stream or continue a stored response.", "body")
        self.data = data
        self.model = str(data["model"])
        self.items = rt.input_items(data["input"])

    def input_tokens(self) -> int:
        return max(1, len(orjson.dumps(self.items)) // 4)


async def complete_line(
    line: Line, snapshot: Snapshot, ctx: CallContext, key: KeyEntry | None
) -> Completion:
    """One Responses request through the engine, answered as a Responses response."""
    native = key is not None and _native_first(line.data, snapshot, key)
    chat = _chat_request(_chat(line.data, line.items, native), _native_body(line.data, line.items))
    ctx.protocol = DOOR
    completion = await gateway.complete(chat, snapshot, ctx, key)
    turn = Turn({**line.data, "store": False}, line.items, None, key.id if key else 0)
    completion.body = turn.body(completion.native, completion.body, ctx)
    return completion
