"""The batch page in a real browser: refused uploads, the estimate, the failure badge."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from batch.models import BatchJob
from batch.worker import Worker
from tests.batch.conftest import request_line
from tests.browser.conftest import open_signed_in
from tests.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("providers")]

BROKEN = "{not json\n[1, 2]\n" + json.dumps(request_line("x", "hi", model="nobody/nothing")) + "\n"
MIXED = "".join(json.dumps(line) + "\n" for line in [
    request_line("a", "first"), request_line("b", "second"),
    request_line("c", "third", model="nobody/nothing")]) + "{not json\n"  # fmt: skip


@pytest.fixture
def batch_page(
    chromium: Browser, live_app: LiveServer, settings: Any, tmp_path: Path
) -> Iterator[Page]:
    settings.VAR_DIR = tmp_path
    User.objects.create_user("ops", password="pw", is_staff=True)
    context = chromium.new_context(base_url=live_app.url, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(10_000)
    open_signed_in(page, "/batch/", "ops", "pw")
    yield page
    context.close()


def run_worker() -> None:
    """The batch worker, in its own thread (Playwright's loop runs in this one)."""
    from django.db import connection

    def work() -> None:
        try:
            asyncio.run(Worker(poll_seconds=0.05).serve(once=True))
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(60)


def choose(page: Page, tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    page.set_input_files("#id_file", str(path))


def test_a_file_that_would_only_fail_is_refused(batch_page: Page, tmp_path: Path) -> None:
    """Every line invalid: the form says why on the file field, and no job appears."""
    page = batch_page
    choose(page, tmp_path, "broken.jsonl", BROKEN)
    page.get_by_role("button", name="Queue job").click()
    expect(page.locator("#field-file .field-error")).to_contain_text(
        "Every line of the file would fail"
    )
    assert BatchJob.objects.count() == 0


def test_estimate_then_failure_badge(batch_page: Page, tmp_path: Path) -> None:
    """Choosing a file shows its estimate; after a run with failures the job has an amber
    "Done · 2 failed" badge (not a green Done), the reasons and a row per line."""
    page = batch_page
    choose(page, tmp_path, "mixed.jsonl", MIXED)
    expect(page.locator("#batch-estimate-text")).to_contain_text("for 2 lines")
    expect(page.locator("#batch-estimate-text")).to_contain_text("2 lines will fail")
    page.get_by_role("button", name="Queue job").click()
    page.wait_for_url("**/batch/jobs/*/")
    run_worker()
    badge = page.locator("#batch-progress [data-badge]")
    expect(badge).to_have_text("Done · 2 failed")  # the progress partial polls until finished
    expect(badge).to_have_attribute("data-badge", "partial")
    colour = badge.evaluate("b => getComputedStyle(b).color")
    assert colour != page.evaluate("() => getComputedStyle(document.body).getPropertyValue('--ok')")
    assert colour == "rgb(154, 103, 0)"  # --warn, not --ok's green
    page.reload()
    expect(page.locator("#batch-failures")).to_contain_text("model_not_found")
    expect(page.locator("#batch-failures")).to_contain_text("invalid_json")
    expect(page.locator("#batch-results tbody tr")).to_have_count(4)
    page.goto("/batch/")
    expect(page.locator(".batch-jobs [data-badge]").first).to_have_text("Done · 2 failed")
