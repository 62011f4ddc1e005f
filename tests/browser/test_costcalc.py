"""The cost calculator in a real browser: inputs update totals and charts in place."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect

from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

CHART_TOTAL = """() => window.ccCharts.policies.data.datasets
    .reduce((sum, d) => sum + d.data.reduce((a, b) => a + b, 0), 0)"""


@pytest.fixture
def calc(chromium: Browser, live_app: LiveServer, gateway_db: None) -> Iterator[Page]:
    """The calculator page over the real catalog and default routes."""
    call_command("sync_catalog", stdout=io.StringIO())
    call_command("install_default_routes", stdout=io.StringIO())
    context = chromium.new_context(base_url=live_app.url, viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/costcalc/")
    yield page
    context.close()


def dollars(text: str) -> float:
    return float(re.sub(r"[^0-9.]", "", text))


def baseline_monthly(page: Page) -> float:
    return dollars(page.locator("tr[data-policy=baseline] .cc-monthly").inner_text())


def test_changing_requests_updates_totals_and_chart(calc: Page) -> None:
    """Doubling the monthly requests doubles the totals and the chart, without a reload."""
    page = calc
    page.wait_for_function("() => window.ccCharts && window.ccCharts.policies")
    before, chart_before = baseline_monthly(page), page.evaluate(CHART_TOTAL)
    assert before > 0 and chart_before > 0
    page.evaluate("() => { window.__sameDocument = true; }")
    page.fill("#id_requests", "2000000")
    expect(page.locator("#cc-requests")).to_have_text("2,000,000")
    assert baseline_monthly(page) == pytest.approx(before * 2, rel=1e-3)
    page.wait_for_function(f"() => ({CHART_TOTAL})() > {chart_before * 1.5}")
    assert page.evaluate(CHART_TOTAL) == pytest.approx(chart_before * 2, rel=1e-3)
    assert page.evaluate("() => window.__sameDocument") is True  # htmx swap, no reload
    assert "requests=2000000" in page.url  # the URL stays a permalink


def test_bad_input_shows_inline_error_and_no_numbers(calc: Page) -> None:
    """A negative number names the field inline and hides the (now wrong) totals."""
    page = calc
    page.fill("#id_requests", "-3")
    expect(page.locator("#err-requests")).to_contain_text("Requests per month")
    expect(page.locator("#cc-invalid")).to_be_visible()
    expect(page.locator("#cc-summary")).to_have_count(0)
    page.fill("#id_requests", "1000000")
    expect(page.locator("#cc-summary")).to_be_visible()
    expect(page.locator("#err-requests")).to_have_text("")


def test_add_and_remove_query_types(calc: Page) -> None:
    """Removing a type breaks the 100 % total (inline error); adding one back fixes it."""
    page = calc
    rows = page.locator("#cc-type-rows tr.cc-type-row")
    expect(rows).to_have_count(7)
    rows.nth(6).locator(".cc-remove").click()  # reasoning, 7 %
    expect(rows).to_have_count(6)
    expect(page.locator("#err-types")).to_contain_text("add up to 93")
    page.click("#cc-add-type")
    expect(rows).to_have_count(7)
    new = rows.nth(6)
    new.locator("input[name='t-6-name']").fill("summaries")
    new.locator("input[name='t-6-share']").fill("7")
    expect(page.locator("#cc-summary")).to_be_visible()
    expect(page.locator("#cc-summary")).to_contain_text("Rule-based")
    expect(page.locator(".cc-breakdown")).to_contain_text("summaries")


@pytest.mark.parametrize(
    ("scheme", "text", "grid"), [("light", "#57606a", "#eef1f4"), ("dark", "#9ba7b4", "#262c34")]
)
def test_charts_follow_the_colour_scheme(
    chromium: Browser, live_app: LiveServer, gateway_db: None, scheme: str, text: str, grid: str
) -> None:
    """Chart text and grid lines take the page's colours: light on dark in dark mode."""
    call_command("sync_catalog", stdout=io.StringIO())
    call_command("install_default_routes", stdout=io.StringIO())
    context = chromium.new_context(base_url=live_app.url, color_scheme=scheme)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto("/costcalc/")
    expect(page.locator("canvas").first).to_be_visible()
    drawn = page.evaluate("() => [Chart.defaults.color, Chart.defaults.borderColor]")
    assert drawn == [text, grid]
    context.close()
