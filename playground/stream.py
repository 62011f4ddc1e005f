"""One POST, one SSE stream, N panes.

Each pane is one `gateway.open_stream` call running in its own task; the tasks feed one
queue and `run_stream` turns what arrives into `<hx-partial>` messages. Tokens that arrive
close together are coalesced (at most one message per `window`), but a message that follows
a quiet spell, a pane's first token, and every status change go out at once.

Markdown is rendered while the pane streams: at most every `RENDER_SECONDS` per pane the
pane's text so far is rendered (raw HTML disabled, then sanitised) and replaces its output;
tokens in between are appended escaped, so every token shows at once and the formatting
catches up within a fifth of a second.

When the client goes away Django cancels the response generator: the `finally` cancels every
pane task, which closes its `StreamSession.chunks()` generator and with it the upstream
connection. The gateway writes each pane's usage record (source "playground") either way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from playground import render
from playground.forms import PaneSpec
from routing.catalog import Snapshot
from routing.engine import gateway
from routing.engine.context import CallContext
from routing.errors import GatewayError
from routing.providers import UpstreamError

log = logging.getLogger("switchyard.playground")
WINDOW_SECONDS = 0.02
RENDER_SECONDS = 0.2
Event = tuple[int, str, str]  # (pane index, "open" | "text" | "done" | "error", text)


@dataclass
class Pane:
    """A pane's live state: the call context the gateway fills in, and the text so far."""

    index: int
    spec: PaneSpec
    ctx: CallContext
    simulated: bool = False
    parts: list[str] = field(default_factory=list)
    status: str = "streaming"  # streaming | done | error | stopped
    error: str = ""
    finished_ms: float | None = None
    turns: list[dict[str, Any]] = field(default_factory=list)  # earlier turns, for display
    prompt: str = ""  # this turn's prompt (shown above the answer after earlier turns)
    rendered_at: float = 0.0

    @property
    def dom_id(self) -> str:
        return f"pane-{self.index}"

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def finish(self, status: str, error: str = "") -> None:
        self.status, self.error = status, error
        self.finished_ms = self.ctx.latency_ms

    def metrics(self) -> dict[str, Any]:
        ctx = self.ctx
        total = self.finished_ms if self.finished_ms is not None else ctx.latency_ms
        ttft = ctx.ttft_ms
        out = ctx.usage.output_tokens
        rate = out / ((total - ttft) / 1000) if ttft is not None and total - ttft > 1 else None
        cost = ctx.cost() if ctx.model is not None else None
        return {
            "answered_by": ctx.model.id if ctx.model else "",
            "decision": ctx.decision if ctx.route else "",
            "ttft_ms": ttft,
            "total_ms": total,
            "tokens_in": ctx.usage.input_tokens or None,
            "tokens_out": out,
            "estimated": ctx.usage.estimated or self.status == "streaming",
            "tokens_per_second": rate,
            "cost_usd": cost,
        }

    def view(self) -> dict[str, Any]:
        """What the pane templates show (the same shape as a stored pane's view)."""
        view = render.pane_view(self.index, self.saved(), streaming=self.status == "streaming")
        view.update(turns=self.turns, prompt=self.prompt)
        return view

    def saved(self) -> dict[str, Any]:
        """What a Run keeps of this pane (JSON-safe)."""
        metrics = self.metrics()
        cost = metrics["cost_usd"]
        metrics["cost_usd"] = str(cost) if cost is not None else None
        return {
            "model": self.spec.model,
            "params": self.spec.params,
            "system": self.spec.system,
            "status": self.status,
            "text": self.text,
            "error": self.error,
            "simulated": self.simulated,
            "metrics": metrics,
        }


def new_panes(
    specs: list[PaneSpec],
    snapshot: Snapshot,
    turns: list[list[dict[str, Any]]] | None = None,
    user_id: int | None = None,
) -> list[Pane]:
    panes = []
    for index, spec in enumerate(specs):
        entry = snapshot.resolve(spec.model)
        ctx = CallContext(
            requested_model=spec.model, source="playground", stream=True, user_id=user_id
        )
        pane = Pane(index, spec, ctx, simulated=bool(entry and entry.simulated))
        pane.turns = turns[index] if turns and index < len(turns) else []
        panes.append(pane)
    return panes


async def pump(pane: Pane, snapshot: Snapshot, queue: asyncio.Queue[Event]) -> None:
    """Run one pane's call through the gateway, reporting what happens on the queue."""
    index = pane.index
    try:
        session = await gateway.open_stream(pane.spec.request, snapshot, pane.ctx)
    except GatewayError as err:
        return queue.put_nowait((index, "error", err.message))
    except Exception:
        log.exception("playground pane %s failed to open", pane.spec.model)
        return queue.put_nowait((index, "error", "Internal error in Switchyard."))
    queue.put_nowait((index, "open", ""))
    chunks = session.chunks()
    try:
        async for chunk in chunks:
            if chunk.text:
                queue.put_nowait((index, "text", chunk.text))
        queue.put_nowait((index, "done", ""))
    except UpstreamError as err:
        queue.put_nowait((index, "error", f"The upstream failed mid-stream: {err.message}"))
    except Exception:
        log.exception("playground pane %s failed mid-stream", pane.spec.model)
        queue.put_nowait((index, "error", "Internal error in Switchyard."))
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]


async def batches(
    queue: asyncio.Queue[Event], count: int, window: float
) -> AsyncIterator[list[Event]]:
    """Events grouped so that at most one batch goes out per `window` while tokens flow."""
    last_flush = -window
    started: set[int] = set()
    while count:
        batch = [await queue.get()]
        index, kind, _ = batch[0]
        urgent = kind != "text" or index not in started
        wait = last_flush + window - time.monotonic()
        if not urgent and wait > 0:
            await asyncio.sleep(wait)
        while not queue.empty():
            batch.append(queue.get_nowait())
        started.update(i for i, k, _ in batch if k == "text")
        count -= sum(1 for _, k, _ in batch if k in ("done", "error"))
        last_flush = time.monotonic()
        yield batch


def apply(panes: list[Pane], batch: list[Event], now: float | None = None) -> str:
    """Update pane state from a batch and return the HTML partials that show it."""
    texts: dict[int, list[str]] = {}
    changed: list[int] = []
    for index, kind, text in batch:
        pane = panes[index]
        if kind == "text":
            pane.parts.append(text)
            texts.setdefault(index, []).append(text)
        elif kind in ("done", "error"):
            pane.finish(kind, text)
        if index not in changed:
            changed.append(index)
    clock = time.monotonic() if now is None else now
    parts = [
        progress(panes[i], "".join(t), clock)
        for i, t in texts.items()
        if panes[i].status == "streaming"
    ]
    parts += [pane_update(panes[index]) for index in changed]
    return "\n".join(parts)


def progress(pane: Pane, new_text: str, now: float) -> str:
    """A streaming pane's new text: its whole answer as Markdown when a render is due, else
    the new text appended (escaped) after what was rendered."""
    target = f"#{pane.dom_id}-output"
    if now - pane.rendered_at >= RENDER_SECONDS:
        pane.rendered_at = now
        return render.partial(target, render.markdown(pane.text))
    return render.append_text(target, new_text)


def pane_update(pane: Pane) -> str:
    """Metrics (always), and when the pane ended: its status and final Markdown body."""
    view = pane.view()
    parts = [
        render.partial(
            f"#{pane.dom_id}-metrics", render.template("_pane_metrics.html", {"p": view})
        )
    ]
    if pane.status != "streaming":
        parts.append(
            render.partial(
                f"#{pane.dom_id}-status",
                render.template("_pane_status.html", {"p": view}),
                "outerHTML",
            )
        )
        parts.append(
            render.partial(f"#{pane.dom_id}-body", render.template("_pane_body.html", {"p": view}))
        )
    return "\n".join(parts)


def total_cost(panes: list[Pane]) -> Decimal | None:
    costs = [pane.metrics()["cost_usd"] for pane in panes if pane.ctx.model is not None]
    if any(cost is None for cost in costs):
        return None
    return sum(costs, Decimal(0))


OnFinish = Callable[[list[Pane], bool], Awaitable[str]]


async def run_stream(
    specs: list[PaneSpec],
    snapshot: Snapshot,
    on_finish: OnFinish,
    window: float = WINDOW_SECONDS,
    turns: list[list[dict[str, Any]]] | None = None,
    prompt: str = "",
    permalink: str = "",
    user_id: int | None = None,
) -> AsyncIterator[bytes]:
    """The SSE body: panes laid out, tokens as they come, final metrics, the run's total.

    `turns[i]` are pane i's earlier turns (a follow-up), shown above this turn's `prompt`;
    `permalink` (the page's query) is pushed to the address bar as the run starts.
    `on_finish(panes, stopped)` saves the run and returns HTML partials to send last (it
    also runs, without sending anything, when the client went away).
    """
    panes = new_panes(specs, snapshot, turns, user_id)
    for pane in panes:
        pane.prompt = prompt
    queue: asyncio.Queue[Event] = asyncio.Queue()
    tasks = [asyncio.create_task(pump(pane, snapshot, queue)) for pane in panes]
    finished = False
    try:
        start = {"panes": panes, "permalink": permalink, "followup": bool(turns and turns[0])}
        yield render.sse(render.template("_stream_start.html", start))
        async for batch in batches(queue, len(panes), window):
            yield render.sse(apply(panes, batch))
        finished = True
        closing = await on_finish(panes, False)
        context = {"panes": panes, "total": total_cost(panes)}
        yield render.sse(render.template("_stream_end.html", context) + "\n" + closing)
    finally:
        await _stop(tasks)
        if not finished:
            for pane in panes:
                if pane.status == "streaming":
                    pane.finish("stopped")
            await on_finish(panes, True)


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
