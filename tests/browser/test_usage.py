"""The usage dashboard in a real browser: every chart draws, and record text never runs."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page

from tests.browser.conftest import open_signed_in
from tests.conftest import LiveServer
from tests.usage.conftest import D1, D3, at, record

pytestmark = pytest.mark.browser

EVIL = "<script>alert(1)</script>"


@pytest.fixture
def dashboard(
    chromium: Browser, live_app: LiveServer, gateway_db: None
) -> Iterator[tuple[Page, list[str]]]:
    """A staff user signed in through the tools' sign-in page; the page and any JS errors or
    dialogs."""
    User.objects.create_user("ops", password="pw", is_staff=True)
    record(at(D1), model=EVIL, cost_usd=Decimal("0.5"), latency_ms=900, ttft_ms=120)
    record(at(D3), cost_usd=None, latency_ms=1200, ttft_ms=300)
    context = chromium.new_context(base_url=live_app.url, viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: (problems.append("dialog " + d.message), d.dismiss()))
    open_signed_in(page, "/usage/", "ops", "pw")
    yield page, problems
    context.close()


def test_charts_draw_and_nothing_runs(dashboard: tuple[Page, list[str]]) -> None:
    """Seven charts exist, the model id shows as text, no script or dialog ran."""
    page, problems = dashboard
    page.goto(f"/usage/?start={D1}&end={D3}")
    page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length === 7")
    assert page.locator("#us-table-model code", has_text=EVIL).count() == 1
    assert page.locator(".us-big .us-unknown").count() == 1
    assert problems == []
