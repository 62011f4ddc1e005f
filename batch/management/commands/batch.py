"""`manage.py batch run INPUT --output OUT ...` runs a batch file; `batch worker` runs queued jobs.

Exit status of `run`: 0 finished, 3 stopped at --max-total-usd, 130 interrupted (Ctrl+C).
Running the same command again resumes: custom_ids already in OUT are skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from batch.inputs import InputRefused, read_input
from batch.progress import Progress
from batch.runner import BatchRunner, Options, route_name, supervise
from batch.summary import render_text, write_json
from batch.worker import Worker
from routing.transport import records, upstream

REQUEST_LOGGER = "switchyard.requests"
EXIT_CODES = {"": 0, "max_total_usd": 3, "interrupted": 130}


def usd(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise argparse.ArgumentTypeError("must be a positive amount in USD")
    return value


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("must be a whole number of at least 1")
    return int(text)


def add_run_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument("input", type=Path, help="OpenAI Batch JSONL, text (a prompt a line) or CSV")
    run.add_argument("--output", "-o", type=Path, required=True, help="OpenAI Batch output JSONL")
    which = run.add_mutually_exclusive_group()
    which.add_argument("--route", help="send every line through route/<ROUTE>")
    which.add_argument("--model", help="send every line to this model")
    run.add_argument("--budget-per-request", type=usd, help="USD; the budget route picks")
    run.add_argument("--max-total-usd", type=usd, help="stop before the job spends more")
    run.add_argument("--concurrency", type=positive_int, default=8)
    run.add_argument("--summary", type=Path, help="also write the summary as JSON here")
    run.add_argument("--log-requests", action="store_true", help="keep the per-request log")


def cli_options(opts: dict[str, Any]) -> Options:
    if opts["model"] and opts["budget_per_request"] is not None:
        raise CommandError(
            "--budget-per-request lets the budget route pick: use --route, not --model."
        )
    model = route_name(opts["route"]) if opts["route"] else (opts["model"] or "")
    return Options(model, opts["budget_per_request"], opts["max_total_usd"], opts["concurrency"])


class Command(BaseCommand):
    help = "Run batch files through the gateway, or run the worker for jobs queued on /batch/."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add_run_arguments(sub.add_parser("run", help="run one batch file now"))
        worker = sub.add_parser("worker", help="run jobs queued from the /batch/ page")
        worker.add_argument("--once", action="store_true", help="exit when the queue is empty")
        worker.add_argument("--poll", type=float, default=1.0, help="seconds between polls")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["action"] == "worker":
            self.handle_worker(opts)
        else:
            self.handle_run(opts)

    def handle_run(self, opts: dict[str, Any]) -> None:
        options = cli_options(opts)
        if not opts["log_requests"]:  # one log line per request would bury the progress bar
            logging.getLogger(REQUEST_LOGGER).setLevel(logging.WARNING)
        try:
            batch_input = read_input(opts["input"])
        except (InputRefused, OSError) as exc:
            raise CommandError(f"{opts['input']}: {exc}") from None
        if batch_input.format != "jsonl" and not options.model and not options.budget_per_request:
            raise CommandError(
                f"{batch_input.format} input names no model: pass --model or --route."
            )
        runner = BatchRunner(batch_input.items, opts["output"], options)
        progress = Progress(self.stdout._out)  # type: ignore[attr-defined,arg-type]
        summary = asyncio.run(self._run(runner, progress))
        records.writer.flush(30)
        summary.update(input=str(opts["input"]), format=batch_input.format)
        summary["output"] = str(opts["output"])
        self.stdout.write(render_text(summary))
        if opts["summary"]:
            write_json(opts["summary"], summary)
        code = EXIT_CODES.get(runner.stop_reason, 1)
        if code:
            sys.exit(code)

    async def _run(self, runner: BatchRunner, progress: Progress) -> dict[str, Any]:
        def on_interrupt() -> None:
            if runner.stopping:
                progress.note("Abandoning in-flight requests (they run again on resume).")
                runner.abort()
                return
            progress.note(
                f"Stopping: waiting for {runner.inflight} in-flight requests "
                "(Ctrl+C again to abandon them)."
            )
            runner.stop()

        async def tick() -> None:
            progress.update(runner.tally, runner.inflight)

        with _signals(on_interrupt):
            try:
                summary = await supervise(runner, tick, 0.1)
            finally:
                await upstream.close()
        progress.finish(runner.tally)
        return summary

    def handle_worker(self, opts: dict[str, Any]) -> None:
        worker = Worker(poll_seconds=opts["poll"])

        async def serve() -> int:
            with _signals(worker.stop, on_second=worker.abort):
                try:
                    return await worker.serve(once=opts["once"])
                finally:
                    await upstream.close()

        self.stdout.write("batch worker: waiting for jobs (Ctrl+C to stop)")
        count = asyncio.run(serve())
        records.writer.flush(30)
        self.stdout.write(f"batch worker: stopped after {count} job(s)")


class _signals:
    """SIGINT/SIGTERM call `handler` on the running loop; a second signal calls `on_second`."""

    def __init__(
        self, handler: Callable[[], None], on_second: Callable[[], None] | None = None
    ) -> None:
        self.handler, self.on_second, self.count = handler, on_second, 0

    def _fire(self) -> None:
        self.count += 1
        if self.count > 1 and self.on_second is not None:
            self.on_second()
        else:
            self.handler()

    def __enter__(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._fire)

    def __exit__(self, *exc: object) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
