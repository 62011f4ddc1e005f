"""The one code path every consumer takes: plan, dispatch, usage record.

`/v1` (routing/api.py), the playground and batch jobs all call these two functions.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from routing import dispatch, records
from routing.catalog import Snapshot
from routing.context import CallContext
from routing.errors import GatewayError
from routing.plan import Plan
from routing.policies import plan_for
from routing.providers import Chunk, Completion, UpstreamError
from routing.schemas import ChatRequest


def _plan(request: ChatRequest, snapshot: Snapshot, ctx: CallContext) -> Plan:
    plan = plan_for(request.model, snapshot)
    ctx.route, ctx.decision = plan.route, plan.reason
    return plan


def _failed(ctx: CallContext, err: GatewayError) -> None:
    ctx.status = "error"
    ctx.http_status = err.status
    ctx.error_type = ctx.error_type or err.code or err.type
    records.submit(ctx.record())


async def complete(request: ChatRequest, snapshot: Snapshot, ctx: CallContext) -> Completion:
    try:
        plan = _plan(request, snapshot, ctx)
        completion = await dispatch.complete(plan, request.upstream_body(), ctx)
    except GatewayError as err:
        _failed(ctx, err)
        raise
    except asyncio.CancelledError:
        ctx.status, ctx.http_status, ctx.error_type = "cancelled", 499, "client_disconnected"
        records.submit(ctx.record())
        raise
    records.submit(ctx.record())
    return completion


class StreamSession:
    """An opened stream: iterate `chunks()` once; the usage record is written when it ends."""

    def __init__(self, ctx: CallContext, opened: dispatch.OpenStream, messages: list[Any]) -> None:
        self.ctx = ctx
        self.opened = opened
        self.messages = messages

    async def chunks(self) -> AsyncIterator[Chunk]:
        ctx = self.ctx
        try:
            for chunk in self.opened.head:
                dispatch.track(ctx, chunk)
                yield chunk
            async for chunk in self.opened.rest:
                dispatch.track(ctx, chunk)
                yield chunk
        except UpstreamError as err:
            ctx.status, ctx.http_status, ctx.error_type = "error", 502, err.kind
            raise
        except BaseException:
            ctx.status, ctx.http_status, ctx.error_type = "cancelled", 499, "client_disconnected"
            raise
        finally:
            await self.opened.rest.aclose()  # type: ignore[attr-defined]
            dispatch.fill_estimates(ctx, self.messages)
            records.submit(ctx.record())


async def open_stream(request: ChatRequest, snapshot: Snapshot, ctx: CallContext) -> StreamSession:
    body = request.upstream_body()
    try:
        plan = _plan(request, snapshot, ctx)
        opened = await dispatch.open_stream(plan, body, ctx)
    except GatewayError as err:
        _failed(ctx, err)
        raise
    except asyncio.CancelledError:
        ctx.status, ctx.http_status, ctx.error_type = "cancelled", 499, "client_disconnected"
        records.submit(ctx.record())
        raise
    return StreamSession(ctx, opened, body["messages"])
