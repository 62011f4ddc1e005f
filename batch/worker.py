"""The batch worker: claims queued jobs one at a time and runs them, counters saved every ~0.5 s.

A stopped worker (SIGTERM/SIGINT) puts its running job back in the queue; the next worker
resumes it from the output file. One worker per database is assumed: at start-up, jobs left
"running" by a worker that died are queued again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from asgiref.sync import sync_to_async
from django.utils import timezone

from batch import api
from batch.inputs import InputRefused, read_input
from batch.models import BatchJob
from batch.runner import BatchRunner, Options, supervise
from batch.summary import write_json

log = logging.getLogger("switchyard.batch")
SAVE_EVERY = 0.5
WORKER_STOPPED = "worker_stopped"
Status = BatchJob.Status


def requeue_orphans() -> int:
    return BatchJob.objects.filter(status=Status.RUNNING).update(status=Status.QUEUED)


def claim_next() -> BatchJob | None:
    """The oldest queued job, marked running (an atomic compare-and-set on its status)."""
    for job in BatchJob.objects.filter(status=Status.QUEUED).order_by("created_at", "id")[:5]:
        claimed = BatchJob.objects.filter(pk=job.pk, status=Status.QUEUED).update(
            status=Status.RUNNING, started_at=job.started_at or timezone.now()
        )
        if claimed:
            job.refresh_from_db()
            return job
    return None


def save_counters(job: BatchJob, runner: BatchRunner) -> bool:
    """Store progress; returns whether someone asked to cancel the job."""
    tally = runner.tally
    BatchJob.objects.filter(pk=job.pk).update(
        total=tally.total, done=tally.done, failed=tally.failed, spent_usd=tally.spent
    )
    return BatchJob.objects.filter(pk=job.pk, cancel_requested=True).exists()


def finish(job: BatchJob, status: str, stop_reason: str = "", error: str = "") -> None:
    fields: dict[str, Any] = {"status": status, "stop_reason": stop_reason, "error": error}
    if status != Status.QUEUED:
        fields["finished_at"] = timezone.now()
    BatchJob.objects.filter(pk=job.pk).update(**fields)


def final_status(stop_reason: str) -> str:
    return {WORKER_STOPPED: Status.QUEUED, "cancelled": Status.CANCELLED}.get(
        stop_reason, Status.DONE
    )


class Worker:
    def __init__(self, poll_seconds: float = 1.0) -> None:
        self.poll_seconds = poll_seconds
        self.runner: BatchRunner | None = None
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Finish in-flight requests of the current job, requeue it, and exit."""
        self._stopping.set()
        if self.runner is not None:
            self.runner.stop(WORKER_STOPPED)

    def abort(self) -> None:
        self.stop()
        if self.runner is not None:
            self.runner.abort()

    async def serve(self, once: bool = False) -> int:
        """Run jobs until stopped (or, with `once`, until the queue is empty). Returns jobs run."""
        await sync_to_async(requeue_orphans)()
        count = 0
        while not self._stopping.is_set():
            job = await sync_to_async(claim_next)()
            if job is None:
                if once:
                    break
                await self._idle()
                continue
            await self.run_job(job)
            count += 1
        return count

    async def _idle(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), self.poll_seconds)

    async def run_job(self, job: BatchJob) -> None:
        log.info("batch job %s: %s", job.pk, job.name)
        try:
            batch_input = read_input(Path(job.input_path))
        except (InputRefused, OSError) as exc:
            await sync_to_async(finish)(job, Status.FAILED, error=str(exc))
            return
        runner = BatchRunner(
            batch_input.items, Path(job.output_path), Options.from_json(job.options)
        )
        self.runner = runner
        try:
            summary = await supervise(runner, lambda: self._tick(job, runner), SAVE_EVERY)
        except Exception as exc:
            log.exception("batch job %s crashed", job.pk)
            await sync_to_async(finish)(job, Status.FAILED, error=f"{type(exc).__name__}: {exc}")
            return
        finally:
            self.runner = None
        write_json(Path(job.summary_path), summary)
        await sync_to_async(save_counters)(job, runner)
        reason = runner.stop_reason
        if final_status(reason) != Status.QUEUED:
            await sync_to_async(api.finalize)(job)  # files first: then the status says done
        await sync_to_async(finish)(job, final_status(reason), reason)

    async def _tick(self, job: BatchJob, runner: BatchRunner) -> None:
        cancel = await sync_to_async(save_counters)(job, runner)
        if cancel and not runner.stopping:
            runner.stop("cancelled")
