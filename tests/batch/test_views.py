"""/batch/: staff only, upload queues a job (never runs it), progress partial, downloads."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from batch.models import BatchJob
from batch.worker import Worker
from tests.batch.conftest import request_line
from tests.fake_upstream import FakeUpstream

pytestmark = pytest.mark.usefixtures("providers")


@pytest.fixture(autouse=True)
def var_dir(settings: Any, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path


@pytest.fixture
def staff() -> Client:
    user = User.objects.create_user("ops", password="x", is_staff=True)
    browser = Client()
    browser.force_login(user)
    return browser


def upload(browser: Client, name: str, data: bytes, **fields: Any) -> Any:
    form = {"file": SimpleUploadedFile(name, data), "concurrency": "4", "route": "", **fields}
    return browser.post("/batch/", {"model": "", **form})


def batch_file(n: int) -> bytes:
    return "".join(json.dumps(request_line(f"w{i}", f"web {i}")) + "\n" for i in range(n)).encode()


def test_page_needs_staff() -> None:
    """Anonymous users are sent to the sign-in page; non-staff users are refused (403)."""
    assert Client().get("/batch/")["Location"].startswith("/accounts/login/?next=/batch/")
    user = User.objects.create_user("viewer", password="x")
    browser = Client()
    browser.force_login(user)
    assert browser.get("/batch/").status_code == 403


def test_upload_queues_a_job_and_runs_nothing(staff: Client, fake: FakeUpstream) -> None:
    """Upload stores the file and queues a job; no model is called by the web request."""
    response = upload(staff, "in.jsonl", batch_file(3), max_total_usd="0.5")
    job = BatchJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/batch/jobs/{job.pk}/"
    assert job.status == "queued" and Path(job.input_path).read_bytes() == batch_file(3)
    assert job.options["max_total_usd"] == "0.5" and job.options["concurrency"] == 4
    assert fake.requests == []
    page = staff.get(response["Location"])
    assert page.status_code == 200 and b"in.jsonl" in page.content


def test_refused_upload_says_why(staff: Client) -> None:
    """A file that is not a batch is refused on the form; no job is created."""
    response = upload(staff, "photo.png", b"\x89PNG\r\n\x1a\nxxxx")
    assert response.status_code == 400
    assert b"binary file, not a batch" in response.content
    assert not BatchJob.objects.exists()


def test_text_upload_needs_a_model(staff: Client) -> None:
    """Plain text lines name no model: the form asks for one."""
    response = upload(staff, "prompts.txt", b"one\ntwo\n")
    assert response.status_code == 400 and b"name no model" in response.content
    response = upload(staff, "prompts.txt", b"one\ntwo\n", model="fakeai/gpt-4o-mini")
    assert response.status_code == 302


def test_progress_polls_until_done_then_offers_downloads(staff: Client) -> None:
    """The partial polls every second while queued/running; when done it stops and links files."""
    upload(staff, "in.jsonl", batch_file(4))
    job = BatchJob.objects.get()
    partial = staff.get(f"/batch/jobs/{job.pk}/progress/", HTTP_HX_REQUEST="true")
    assert b'hx-trigger="every 1s"' in partial.content and b"Queued" in partial.content
    asyncio.run(Worker(poll_seconds=0.05).serve(once=True))
    partial = staff.get(f"/batch/jobs/{job.pk}/progress/", HTTP_HX_REQUEST="true")
    assert b"hx-trigger" not in partial.content and b"Done" in partial.content
    assert b"4</strong> of 4" in partial.content
    output = staff.get(f"/batch/jobs/{job.pk}/output/")
    lines = [json.loads(x) for x in b"".join(output.streaming_content).splitlines()]
    assert sorted(x["custom_id"] for x in lines) == ["w0", "w1", "w2", "w3"]
    summary = staff.get(f"/batch/jobs/{job.pk}/summary/")
    assert json.loads(b"".join(summary.streaming_content))["succeeded"] == 4
    listing = staff.get("/batch/")
    assert b"4/4" in listing.content


def test_cancel_a_queued_job(staff: Client) -> None:
    """Cancelling a queued job ends it at once; the worker never picks it up."""
    upload(staff, "in.jsonl", batch_file(2))
    job = BatchJob.objects.get()
    response = staff.post(f"/batch/jobs/{job.pk}/cancel/", HTTP_HX_REQUEST="true")
    assert b"Cancelled" in response.content and b"hx-trigger" not in response.content
    assert asyncio.run(Worker(poll_seconds=0.05).serve(once=True)) == 0
