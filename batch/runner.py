"""Run a batch: every line through its endpoint (batch/endpoints.py), bounded concurrency, a
spend ceiling.

The launcher takes items in input order, keeps at most `concurrency` requests in flight and,
with `max_total_usd`, reserves each request's estimated cost before it starts: a request
whose estimate would push spent + reserved past the ceiling waits for in-flight requests to
settle and, if it still does not fit, the job stops there. Lines are appended to OUT as they
finish (completion order, as OpenAI does); `stop()` stops launching and lets in-flight
requests finish, `abort()` cancels them (a cancelled request writes nothing).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from asgiref.sync import sync_to_async

from batch import endpoints, output
from batch.inputs import Item, LineError
from batch.summary import Outcome, Tally
from routing import catalog
from routing.engine import policies
from routing.engine.context import CallContext
from routing.errors import GatewayError
from routing.transport import records

log = logging.getLogger("switchyard.batch")
BUDGET_ROUTE = "route/budget"
RESERVE_MARGIN = Decimal("1.25")  # token estimates are rough: reserve a quarter more
STREAM_FIELDS = ("stream", "stream_options")


@dataclass(frozen=True)
class Options:
    model: str = ""  # --model M, or route/<slug> from --route
    budget_per_request: Decimal | None = None
    max_total_usd: Decimal | None = None
    concurrency: int = 8
    endpoint: str = ""  # the Batch API's endpoint: every line must call it ("" = any)
    api_key_id: int | None = None  # the Batch API's key: records, limits and budget are its

    def as_json(self) -> dict[str, Any]:
        def text(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {
            "model": self.model,
            "budget_per_request": text(self.budget_per_request),
            "max_total_usd": text(self.max_total_usd),
            "concurrency": self.concurrency,
            "endpoint": self.endpoint,
            "api_key_id": self.api_key_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Options:
        def dec(value: Any) -> Decimal | None:
            return None if value in (None, "") else Decimal(str(value))

        return cls(
            model=data.get("model") or "",
            budget_per_request=dec(data.get("budget_per_request")),
            max_total_usd=dec(data.get("max_total_usd")),
            concurrency=int(data.get("concurrency") or 8),
            endpoint=data.get("endpoint") or "",
            api_key_id=data.get("api_key_id"),
        )


def route_name(route: str) -> str:
    return route if route.startswith(policies.ROUTE_PREFIX) else policies.ROUTE_PREFIX + route


def request_body(body: dict[str, Any], options: Options) -> dict[str, Any]:
    """The line's body with the job's overrides: model/route, and the per-request budget."""
    body = {k: v for k, v in body.items() if k not in STREAM_FIELDS}
    if options.model:
        body["model"] = options.model
    if options.budget_per_request is not None:
        given_route = options.model.startswith(policies.ROUTE_PREFIX)
        body["model"] = options.model if given_route else BUDGET_ROUTE
        metadata = dict(body.get("metadata") or {})
        metadata["max_cost_usd"] = str(options.budget_per_request)
        body["metadata"] = metadata
    return body


def prepare(item: Item, options: Options) -> endpoints.Request | LineError | GatewayError:
    if item.error is not None or item.body is None:
        return item.error or LineError("invalid_request", "No request body.")
    if options.endpoint and item.url != options.endpoint:
        message = f"Line {item.line}: url {item.url!r} is not this batch's {options.endpoint!r}."
        return LineError("invalid_request", message)
    try:
        return endpoints.validate(item.url, request_body(item.body, options))
    except GatewayError as err:
        return err


def new_context(chat: endpoints.Request, options: Options | None = None) -> CallContext:
    return endpoints.context(chat, options.api_key_id if options else None)


def estimate(chat: endpoints.Request, snapshot: catalog.Snapshot) -> Decimal | None:
    """Worst-case estimated cost of this request's plan, with a margin (token estimates are
    rough)."""
    worst = endpoints.estimate(chat, snapshot)
    return None if worst is None else worst * RESERVE_MARGIN


def _key(snapshot: catalog.Snapshot, key_id: int | None) -> catalog.KeyEntry | None:
    if key_id is None:
        return None
    return next((k for k in snapshot.keys.values() if k.id == key_id), None)


def _record_outcomes(request_ids: list[str]) -> dict[str, Outcome]:
    """What the usage records say about requests of an earlier run (resume)."""
    from usage.records import by_request_ids

    return {
        r.request_id: Outcome(
            r.status == "ok",
            r.model,
            r.cost_usd if r.price_known else None,
            r.input_tokens,
            r.output_tokens,
            r.latency_ms,
            r.error_type,
        )  # fmt: skip
        for r in by_request_ids(request_ids)
    }


def _line_outcome(line: dict[str, Any], found_records: dict[str, Outcome]) -> Outcome:
    response, error = line.get("response") or {}, line.get("error") or {}
    found = found_records.get(response.get("request_id") or "")
    ok = response.get("status_code") == 200 and not error
    if found is not None:
        return Outcome(ok, found.model, found.cost, found.input_tokens, found.output_tokens,
                       found.latency_ms, "" if ok else error.get("code", ""))  # fmt: skip
    return Outcome(ok, cost=Decimal(0), reason=error.get("code", ""))


class BatchRunner:
    def __init__(self, items: list[Item], out: Path, options: Options) -> None:
        self.items = items
        self.options = options
        self.output = output.OutputFile(out)
        self.tally = Tally(total=len(items))
        self.stop_reason = ""
        self._inflight: set[asyncio.Task[None]] = set()
        self._reserved = Decimal(0)
        self._wake = asyncio.Event()
        self._stopping = False

    def stop(self, reason: str = "interrupted") -> None:
        """Launch nothing more; in-flight requests finish and write their lines."""
        if not self._stopping:
            self._stopping, self.stop_reason = True, reason
        self._wake.set()

    def abort(self) -> None:
        """Stop and cancel in-flight requests: they write nothing and run again on resume."""
        self.stop()
        for task in list(self._inflight):
            task.cancel()

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def run(self) -> dict[str, Any]:
        written = self.output.existing()
        await self._count_previous(written)
        todo = output.pending(self.items, written)
        self.output.open()
        try:
            await self._launch_all(todo)
        finally:
            await self._drain()
            await self.output.aclose()
        return self.summary()

    def summary(self) -> dict[str, Any]:
        return self.tally.as_dict(self.stop_reason)

    async def _count_previous(self, written: list[dict[str, Any]]) -> None:
        if not written:
            return
        await sync_to_async(records.writer.flush)(30)  # this process's earlier runs
        ids = [(line.get("response") or {}).get("request_id") for line in written]
        found = await sync_to_async(_record_outcomes)([i for i in ids if i])
        for line in written:
            self.tally.add(_line_outcome(line, found), resumed=True)

    async def _launch_all(self, todo: list[Item]) -> None:
        for item in todo:
            if self._stopping:
                return
            prepared = prepare(item, self.options)
            if isinstance(prepared, LineError | GatewayError):
                self._write_failure(item, prepared)
                continue
            if not await self._launch(item, prepared):
                return

    async def _launch(self, item: Item, chat: endpoints.Request) -> bool:
        while len(self._inflight) >= self.options.concurrency and not self._stopping:
            await self._wait_change()
        if self._stopping:
            return False
        snapshot = await catalog.current()
        reserved = await self._reserve(item, chat, snapshot)
        if reserved is None:
            return not self._stopping
        task = asyncio.create_task(self._one(item, chat, snapshot, reserved))
        self._inflight.add(task)
        task.add_done_callback(self._finished)
        return True

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("batch request crashed", exc_info=task.exception())

    async def _wait_change(self) -> None:
        self._wake.clear()
        await self._wake.wait()

    async def _reserve(
        self, item: Item, chat: endpoints.Request, snapshot: catalog.Snapshot
    ) -> Decimal | None:
        """The amount held for this request, or None when it must not start."""
        ceiling = self.options.max_total_usd
        if ceiling is None:
            return Decimal(0)
        cost = estimate(chat, snapshot)
        if cost is None:
            message = "--max-total-usd needs a known price, and a model of this plan has none."
            self._write_failure(item, LineError("price_unknown", message))
            return None
        while self.tally.spent + self._reserved + cost > ceiling:
            if not self._inflight or self._stopping:
                self.stop("max_total_usd")
                return None
            await self._wait_change()
        self._reserved += cost
        return cost

    async def _one(
        self,
        item: Item,
        chat: endpoints.Request,
        snapshot: catalog.Snapshot,
        reserved: Decimal,
    ) -> None:
        ctx = new_context(chat, self.options)
        try:
            key = _key(snapshot, self.options.api_key_id)
            completion = await endpoints.complete(chat, snapshot, ctx, key)
        except GatewayError as err:
            line = output.gateway_error_line(item.custom_id, ctx.request_id, err)
            outcome = Outcome(False, cost=ctx.cost(), reason=err.code or err.type)
        except Exception as exc:  # noqa: BLE001 - one broken request must not end the job
            log.exception("batch line %s failed", item.custom_id)
            crash = GatewayError(500, f"Internal error: {type(exc).__name__}", "server_error")
            line = output.gateway_error_line(item.custom_id, ctx.request_id, crash)
            outcome = Outcome(False, cost=ctx.cost(), reason="internal_error")
        else:
            line = output.success_line(item.custom_id, ctx.request_id, completion.body)
            outcome = self._success(ctx)
        finally:
            self._reserved -= reserved
        self.output.append(line)
        self.tally.add(outcome)

    @staticmethod
    def _success(ctx: CallContext) -> Outcome:
        model = ctx.model.id if ctx.model else ctx.requested_model
        usage = ctx.usage
        return Outcome(
            True, model, ctx.cost(), usage.input_tokens, usage.output_tokens, ctx.latency_ms
        )

    def _write_failure(self, item: Item, err: LineError | GatewayError) -> None:
        if isinstance(err, GatewayError):
            line = output.gateway_error_line(item.custom_id, "", err)
            reason = err.code or err.type
        else:
            line, reason = output.line_error_line(item.custom_id, err), err.code
        self.output.append(line)
        self.tally.add(Outcome(False, reason=reason))

    async def _drain(self) -> None:
        while self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)


async def supervise(
    runner: BatchRunner, tick: Callable[[], Awaitable[None]], every: float
) -> dict[str, Any]:
    """Run the batch, calling `tick()` every `every` seconds and once at the end."""
    task = asyncio.create_task(runner.run())
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=every)
            await tick()
    except asyncio.CancelledError:
        runner.abort()
        await asyncio.wait({task})
        raise
    return task.result()
