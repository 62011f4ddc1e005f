"""`manage.py batch worker`: picks up queued jobs, saves progress, stops and resumes cleanly."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from batch.models import BatchJob
from batch.worker import Worker
from tests.batch.conftest import batch_cost_in_records, by_id, read_out, request_line
from tests.fake_upstream import FakeUpstream, Fault

pytestmark = pytest.mark.usefixtures("providers", "fast_timeouts")


@pytest.fixture(autouse=True)
def var_dir(settings: Any, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path


def queue_job(n: int, **options: Any) -> BatchJob:
    data = "".join(json.dumps(request_line(f"j{i}", f"job prompt {i}")) + "\n" for i in range(n))
    options = {"concurrency": 4, **options}
    return BatchJob.create_queued("prompts.jsonl", data.encode(), options, None)


def test_worker_runs_a_queued_job(var_dir: Path) -> None:
    """A queued job is claimed, run to the end, and its counters, output and summary saved."""
    job = queue_job(10)
    assert Path(job.input_path).parent == var_dir / "batch"
    ran = asyncio.run(Worker(poll_seconds=0.05).serve(once=True))
    job.refresh_from_db()
    assert ran == 1 and job.status == "done" and job.finished_at is not None
    assert (job.total, job.done, job.failed) == (10, 10, 0)
    assert len(by_id(read_out(Path(job.output_path)))) == 10
    summary = json.loads(Path(job.summary_path).read_text())
    assert summary["succeeded"] == 10
    assert job.spent_usd == batch_cost_in_records() > 0


def test_counters_move_while_running(fake: FakeUpstream) -> None:
    """The job page sees progress during the run (counters saved about every 0.5 s)."""
    fake.add_fault("gpt-4o", Fault.slow(0.25), times=20)
    job = queue_job(16, concurrency=2)
    seen: list[tuple[str, int]] = []

    async def main() -> None:
        worker = Worker(poll_seconds=0.05)
        task = asyncio.create_task(worker.serve(once=True))
        while not task.done():
            fresh = await BatchJob.objects.aget(pk=job.pk)
            seen.append((fresh.status, fresh.done))
            await asyncio.sleep(0.2)
        await task

    asyncio.run(main())
    partial = [done for status, done in seen if status == "running" and 0 < done < 16]
    assert partial, seen


def test_stopped_worker_requeues_then_resumes(fake: FakeUpstream) -> None:
    """SIGTERM to the worker: in-flight lines finish, the job goes back to the queue, and the
    next worker finishes it without sending any line twice."""
    fake.add_fault("gpt-4o", Fault.slow(0.2), times=40)
    job = queue_job(20)

    async def stop_after(worker: Worker, lines: int) -> None:
        task = asyncio.create_task(worker.serve())
        while worker.runner is None or worker.runner.tally.finished < lines:
            await asyncio.sleep(0.01)
        worker.stop()
        await task

    asyncio.run(stop_after(Worker(poll_seconds=0.05), 5))
    job.refresh_from_db()
    assert job.status == "queued" and 5 <= job.done < 20
    asyncio.run(Worker(poll_seconds=0.05).serve(once=True))
    job.refresh_from_db()
    assert job.status == "done" and job.done == 20
    assert len(by_id(read_out(Path(job.output_path)))) == 20
    assert len(fake.requests) == 20


def test_cancel_stops_a_running_job(fake: FakeUpstream) -> None:
    """Cancel on the page: the worker stops launching at its next tick; status cancelled."""
    fake.add_fault("gpt-4o", Fault.slow(0.2), times=40)
    job = queue_job(30, concurrency=2)

    async def main() -> None:
        task = asyncio.create_task(Worker(poll_seconds=0.05).serve(once=True))
        await asyncio.sleep(0.5)
        await sync_to_async(job.request_cancel)()
        await task

    asyncio.run(main())
    job.refresh_from_db()
    assert job.status == "cancelled" and job.stop_reason == "cancelled"
    assert 0 < job.done < 30
    assert len(read_out(Path(job.output_path))) == job.done


def test_refused_file_fails_the_job(var_dir: Path) -> None:
    """A stored input that is not a batch fails the job with the reason, nothing runs."""
    job = BatchJob.create_queued("x.bin", b"\x00\x01\x02garbage", {}, None)
    asyncio.run(Worker(poll_seconds=0.05).serve(once=True))
    job.refresh_from_db()
    assert job.status == "failed" and "binary" in job.error
