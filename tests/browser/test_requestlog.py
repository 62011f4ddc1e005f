"""The request log in a real browser: filters, search, click-through from tables and charts."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from routing.models import ApiKey
from tests.browser.conftest import open_signed_in
from tests.conftest import LiveServer
from tests.usage.conftest import D1, D2, D3, DEEPSEEK, GPT, at, failed, ok, record

pytestmark = pytest.mark.browser
RANGE = f"start={D1}&end={D3}"

BAR_CENTRE = """([id, index]) => {
  const chart = Chart.getChart(document.getElementById(id));
  const bar = chart.getDatasetMeta(0).data[index];
  const box = chart.canvas.getBoundingClientRect();
  return { x: box.left + bar.x - (bar.width || 0) / 4, y: box.top + bar.y + (bar.height || 0) / 4 };
}"""


@pytest.fixture
def log(chromium: Browser, live_app: LiveServer, gateway_db: None) -> Iterator[Page]:
    """Six requests over three days, two keys; a staff user logged in through the admin form."""
    User.objects.create_user("ops", password="pw", is_staff=True)
    alpha, beta = ApiKey.issue("alpha")[0], ApiKey.issue("beta")[0]
    record(at(D1), api_key=alpha, request_id="req_alpha_gpt_1", cost_usd=Decimal("0.5"))
    record(at(D1, 13), api_key=alpha, request_id="req_alpha_gpt_2", cost_usd=Decimal("0.25"),
           route="chat", attempts=[failed(DEEPSEEK), ok(GPT)], decision="fallback -> gpt")  # fmt: skip
    record(
        at(D2), model=DEEPSEEK, api_key=beta, request_id="req_beta_ds_1", cost_usd=Decimal("0.125")
    )
    record(
        at(D2, 14),
        model=DEEPSEEK,
        api_key=beta,
        request_id="req_beta_ds_2",
        cost_usd=Decimal("0.125"),
    )
    record(at(D3), model="", api_key=beta, request_id="req_beta_err_1", status="error",
           http_status=502, error_type="upstream_error", attempts=[failed(GPT)])  # fmt: skip
    record(at(D3, 15), model="", api_key=alpha, request_id="req_alpha_err_2", status="error",
           http_status=429, error_type="rate_limited", attempts=[])  # fmt: skip
    context = chromium.new_context(base_url=live_app.url, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(10_000)
    open_signed_in(page, "/usage/requests/", "ops", "pw")
    yield page
    context.close()


def listed(page: Page) -> list[str]:
    return page.locator("#us-log tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.requestId)"
    )


def test_filters_and_search(log: Page) -> None:
    """The selects and the request id search narrow the list; clearing brings every row back."""
    page = log
    page.goto(f"/usage/requests/?{RANGE}")
    assert len(listed(page)) == 6
    page.select_option("#f-status", "error")
    page.click("#log-filters button[type=submit]")
    expect(page.locator("#log-count")).to_have_text("2 requests")
    assert listed(page) == ["req_alpha_err_2", "req_beta_err_1"]
    page.select_option("#f-error_type", "rate_limited")
    page.click("#log-filters button[type=submit]")
    assert listed(page) == ["req_alpha_err_2"]
    page.click("text=Clear filters")
    expect(page.locator("#log-count")).to_have_text("6 requests")
    page.select_option("#f-key", label=f"beta ({ApiKey.objects.get(name='beta').prefix}…)")
    page.select_option("#f-model", DEEPSEEK)
    page.click("#log-filters button[type=submit]")
    assert listed(page) == ["req_beta_ds_2", "req_beta_ds_1"]
    page.click("text=Clear filters")
    page.fill("#f-q", "gpt_2")
    page.press("#f-q", "Enter")
    assert listed(page) == ["req_alpha_gpt_2"]
    page.click("#us-log tbody a")
    expect(page.locator("h1")).to_contain_text("req_alpha_gpt_2")
    expect(page.locator("#request-attempts tbody tr")).to_have_count(2)
    expect(page.locator("#request-decision")).to_have_text("fallback -> gpt")


def test_click_through_from_table_rows(log: Page) -> None:
    """A model's row, an error row and a day row of the dashboard open the requests behind them."""
    page = log
    page.goto(f"/usage/?{RANGE}")
    page.locator("#us-table-model a.us-drill", has_text=DEEPSEEK).click()
    expect(page.locator("#log-count")).to_have_text("2 requests")
    assert listed(page) == ["req_beta_ds_2", "req_beta_ds_1"]
    expect(page.locator("#f-model")).to_have_value(DEEPSEEK)
    page.go_back()
    page.locator("#us-table-error a.us-drill", has_text="upstream_error").click()
    assert listed(page) == ["req_beta_err_1"]
    page.go_back()
    page.click(".us-days summary")
    page.locator("#us-table-day a.us-drill", has_text=str(D2)).click()
    assert listed(page) == ["req_beta_ds_2", "req_beta_ds_1"]


def test_click_through_from_a_chart_bar(log: Page) -> None:
    """Clicking a bar of "spend by key" and of "spend per day" opens the log filtered to it."""
    page = log
    page.goto(f"/usage/?{RANGE}")
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.getElementById('us-chart-spend-key'))"
    )
    point = page.evaluate(BAR_CENTRE, ["us-chart-spend-key", 0])  # alpha spent the most
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url("**/usage/requests/?*key=*")
    assert listed(page) == ["req_alpha_err_2", "req_alpha_gpt_2", "req_alpha_gpt_1"]
    page.go_back()
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.getElementById('us-chart-requests-day'))"
    )
    point = page.evaluate(BAR_CENTRE, ["us-chart-requests-day", 0])  # D1's "ok" bar
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url(f"**/usage/requests/?start={D1}&end={D1}")
    assert listed(page) == ["req_alpha_gpt_2", "req_alpha_gpt_1"]
