"""/batch/: checks at upload, the cost estimate, badges, failed-lines summary, results, retry, delete."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from batch.models import BatchJob
from batch.worker import Worker
from routing.models import Provider, Route
from routing.transport import records
from tests.batch.conftest import MINI, make_route, request_line
from tests.batch.test_views import staff, upload, var_dir  # noqa: F401 - fixtures
from tests.fake_upstream import FakeUpstream
from usage.models import UsageRecord

pytestmark = pytest.mark.usefixtures("providers")


def jsonl(*lines: dict[str, Any] | str) -> bytes:
    return "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines).encode()


def run_worker() -> None:
    asyncio.run(Worker(poll_seconds=0.05).serve(once=True))


MIXED = jsonl(
    request_line("a", "first question"),
    request_line("b", "second question"),
    request_line("c", "third", model="nobody/nothing"),
    "{not json",
)


def test_unknown_route_or_model_is_refused_at_upload(staff: Client) -> None:  # noqa: F811
    """An unknown route, an unknown model or one whose provider has no key: refused, nothing queued."""
    data = jsonl(request_line("a", "hi"))
    response = upload(staff, "in.jsonl", data, route="no-such-route")
    assert (
        response.status_code == 400
        and b"no-such-route is not one of the available" in response.content
    )
    response = upload(staff, "in.jsonl", data, model="nobody/nothing")
    assert (
        response.status_code == 400
        and b"Unknown model &#x27;nobody/nothing&#x27;" in response.content
    )
    Provider.objects.filter(slug="fakeai").update(api_key="")
    from routing import catalog

    catalog.invalidate_local()
    response = upload(staff, "in.jsonl", data, model=MINI)
    assert response.status_code == 400 and b"FAKEAI_API_KEY" in response.content
    assert not BatchJob.objects.exists()


def test_a_file_whose_every_line_fails_is_refused(staff: Client) -> None:  # noqa: F811
    """Every line invalid or naming an unknown model: refused with the reasons, not a green DONE."""
    data = jsonl("{broken", request_line("x", "hi", model="nobody/nothing"), "[1]")
    response = upload(staff, "in.jsonl", data)
    body = response.content.decode()
    assert response.status_code == 400 and "Every line of the file would fail" in body
    assert "invalid_json" in body and "nobody/nothing" in body
    assert not BatchJob.objects.exists()


def test_route_choices_are_the_enabled_routes(staff: Client) -> None:  # noqa: F811
    """The route is a select of the routing table's enabled routes; the model is the picker."""
    make_route("cheap", "fallback", [MINI])
    make_route("off", "fallback", [MINI], enabled=False)
    body = staff.get("/batch/").content.decode()
    assert '<option value="cheap">route/cheap · fallback</option>' in body
    assert 'value="off"' not in body
    assert "data-model-pick" in body and "js/model-pick.js" in body
    assert body.count('class="usd-input"') == 2
    response = upload(staff, "prompts.txt", b"one\ntwo\n", route="cheap")
    assert response.status_code == 302
    assert BatchJob.objects.get().options["model"] == "route/cheap"


def test_estimate_before_queueing(staff: Client, fake: FakeUpstream) -> None:  # noqa: F811
    """The estimate prices each line at its model (catalog prices), says which lines will fail, calls nothing."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    form = {"file": SimpleUploadedFile("in.jsonl", MIXED), "concurrency": "4", "route": "",
            "model": ""}  # fmt: skip
    body = staff.post("/batch/estimate/", form).content.decode()
    # two gpt-4o lines at $2.50 / $10 per 1M: a few input tokens and the default answer length
    match = re.search(r"About <strong>\$([0-9.]+)</strong> for 2 lines", body)
    assert match and 0 < float(match.group(1)) < 0.1, body
    assert "2 lines will fail" in body and "invalid_json" in body and "nobody/nothing" in body
    assert not BatchJob.objects.exists() and fake.requests == []
    form["file"] = SimpleUploadedFile("x.png", b"\x89PNG\r\n")
    refused = staff.post("/batch/estimate/", form).content.decode()
    assert "binary file" in refused


def test_job_with_failures_has_its_own_badge_summary_and_lines(staff: Client) -> None:  # noqa: F811
    """Two lines answer and two fail: "Done · 2 failed", the reasons, and a row per line."""
    upload(staff, "mixed.jsonl", MIXED)
    job = BatchJob.objects.get()
    run_worker()
    records.writer.flush(10)
    job.refresh_from_db()
    assert (job.status, job.done, job.failed) == ("done", 2, 2)
    body = staff.get(f"/batch/jobs/{job.pk}/").content.decode()
    assert 'data-badge="partial">Done · 2 failed' in body
    failures = body[body.index('id="batch-failures"') : body.index('id="batch-lines"')]
    assert "model_not_found" in failures and "invalid_json" in failures
    rows = re.findall(r'data-custom-id="([^"]+)"', body)
    assert rows == ["a", "b", "c", "line-4"]
    lines = body[body.index('id="batch-results"') :]
    assert "first question" in lines and "us-status-ok" in lines
    row_a = lines[lines.index('data-custom-id="a"') :].split("</tr>")[0]
    link = re.search(r"/usage/requests/(\d+)/", row_a)
    assert link, row_a  # the cost links to the line's usage record
    cost = UsageRecord.objects.get(pk=link.group(1)).cost_usd
    assert cost and cost > 0 and f"${cost:,.4f}" in row_a
    assert re.findall(
        r'data-custom-id="([^"]+)"',
        staff.get(f"/batch/jobs/{job.pk}/?lines=failed").content.decode(),
    ) == ["c", "line-4"]
    assert 'data-badge="partial"' in staff.get("/batch/").content.decode()


def test_all_lines_failed_badge(staff: Client) -> None:  # noqa: F811
    """A route deleted after upload makes every line fail: "All lines failed", never "Done"."""
    make_route("gone", "fallback", [MINI])
    upload(staff, "in.jsonl", jsonl(request_line("a", "x"), request_line("b", "y")), route="gone")
    Route.objects.filter(slug="gone").delete()
    run_worker()
    body = staff.get(f"/batch/jobs/{BatchJob.objects.get().pk}/").content.decode()
    assert 'data-badge="allfailed">All lines failed' in body and ">Done<" not in body


def test_retry_failed_lines_makes_a_new_job(staff: Client) -> None:  # noqa: F811
    """Retry queues the failed lines that hold a request (not the broken JSON) as a new job."""
    upload(staff, "mixed.jsonl", MIXED)
    job = BatchJob.objects.get()
    run_worker()
    response = staff.post(f"/batch/jobs/{job.pk}/retry/")
    retry = BatchJob.objects.exclude(pk=job.pk).get()
    assert response["Location"] == f"/batch/jobs/{retry.pk}/"
    lines = [json.loads(x) for x in Path(retry.input_path).read_text().splitlines()]
    assert [x["custom_id"] for x in lines] == ["c"] and lines[0]["body"][
        "model"
    ] == "nobody/nothing"
    assert retry.options == job.options and retry.name.startswith(f"retry of #{job.pk}")


def test_delete_a_finished_job_only(staff: Client) -> None:  # noqa: F811
    """A queued job cannot be deleted; a finished one goes with its files."""
    upload(staff, "in.jsonl", jsonl(request_line("a", "x")))
    job = BatchJob.objects.get()
    staff.post(f"/batch/jobs/{job.pk}/delete/")
    assert BatchJob.objects.filter(pk=job.pk).exists()
    run_worker()
    job.refresh_from_db()
    files = [Path(job.input_path), Path(job.output_path), Path(job.summary_path)]
    assert all(f.is_file() for f in files)
    response = staff.post(f"/batch/jobs/{job.pk}/delete/", follow=True)
    assert f"Deleted batch #{job.pk}" in response.content.decode()
    assert not BatchJob.objects.exists() and not any(f.exists() for f in files)
    assert staff.get(f"/batch/jobs/{job.pk}/").status_code == 404


def test_rate_and_eta(staff: Client) -> None:  # noqa: F811
    """The job page shows lines per second, and the time left while running."""
    upload(staff, "in.jsonl", jsonl(request_line("a", "x"), request_line("b", "y")))
    job = BatchJob.objects.get()
    run_worker()
    job.refresh_from_db()
    assert job.rate and job.rate > 0 and job.eta_seconds is None
    assert "lines/s" in staff.get(f"/batch/jobs/{job.pk}/").content.decode()
    import datetime as dt

    from django.utils import timezone

    BatchJob.objects.filter(pk=job.pk).update(
        status="running", total=10, done=2, failed=0, finished_at=None,
        started_at=timezone.now() - dt.timedelta(seconds=4),
    )  # fmt: skip
    job.refresh_from_db()
    assert 15 < (job.eta_seconds or 0) < 17  # 8 lines left at 0.5 lines/s
    assert "left" in staff.get(f"/batch/jobs/{job.pk}/progress/").content.decode()
