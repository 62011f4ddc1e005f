"""The playground in Debian's chromium: streaming panes, metrics, Stop, errors, XSS, permalink."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect

from playground.models import Run
from tests.fake_upstream import FakeUpstream, Fault

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("providers")]

MODELS = ["fakeai/gpt-4o", "fakeai/gpt-4o-mini", "fakeai/deepseek-chat"]
PANE_TEXT = """() => Array.from(document.querySelectorAll('[data-testid="pane"]')).map(
    p => p.querySelector('[data-testid="pane-output"]').textContent.length)"""


def open_permalink(
    pg: Page, models: list[str], prompt: str = "Tell me a story", **extra: str
) -> None:
    pg.goto("/playground/?" + urlencode({"models": ",".join(models), "prompt": prompt, **extra}))
    pg.wait_for_function("() => window.htmx && document.querySelectorAll('.pane-row').length")


def statuses(pg: Page) -> list[str]:
    return pg.locator('[data-testid="pane-status"]').evaluate_all(
        "els => els.map(e => e.dataset.status)"
    )


def wait_finished(pg: Page, count: int = 3) -> None:
    pg.wait_for_function(
        f"""() => {{ const s = Array.from(document.querySelectorAll('[data-testid="pane-status"]'));
        return s.length === {count} && s.every(e => e.dataset.status !== 'streaming'); }}"""
    )


def story(words: int, tag: str) -> str:
    return " ".join(f"{tag}{i}" for i in range(words))


def test_three_panes_fill_progressively_and_concurrently(pg: Page, fake: FakeUpstream) -> None:
    """Three panes grow at the same time from one request; metrics appear; all end done."""
    for model in ("gpt-4o", "gpt-4o-mini", "deepseek-chat"):
        fake.set_reply(model, story(30, model[:3]))
        fake.set_chunk_delay(model, 0.04)
    open_permalink(pg, MODELS)
    pg.get_by_test_id("run").click()
    expect(pg.get_by_test_id("pane")).to_have_count(3)
    samples = []
    for _ in range(6):
        time.sleep(0.2)
        samples.append(pg.evaluate(PANE_TEXT))
    wait_finished(pg)
    final = pg.evaluate(PANE_TEXT)
    partway = [s for s in samples if all(0 < n < end for n, end in zip(s, final))]
    assert len(partway) >= 2, (samples, final)  # all three panes part-filled at once, twice
    growing = [sum(1 for a, b in zip(s1, s2) if b > a) for s1, s2 in zip(samples, samples[1:])]
    assert max(growing) == 3, samples  # between two samples every pane grew
    assert statuses(pg) == ["done", "done", "done"]
    assert len(fake.requests) == 3
    assert [p.get_attribute("data-model") for p in pg.get_by_test_id("pane").all()] == MODELS
    for ttft in pg.get_by_test_id("pane-ttft").all_text_contents():
        assert ttft.endswith(" ms") or ttft.endswith(" s")
    for cost in pg.get_by_test_id("pane-cost").all_text_contents():
        assert cost.startswith("$")
    expect(pg.get_by_test_id("run-total")).to_contain_text("$")
    assert "models=fakeai" in pg.url  # the permalink was pushed


def test_stop_cancels_every_upstream_call(pg: Page, fake: FakeUpstream) -> None:
    """Stop aborts the stream; the fake upstream sees the disconnect and panes stop growing."""
    fake.set_reply("*", story(200, "w"))
    fake.set_chunk_delay("*", 0.05)
    open_permalink(pg, MODELS[:2])
    pg.get_by_test_id("run").click()
    pg.wait_for_function(f"() => ({PANE_TEXT})().filter(n => n > 10).length === 2")
    pg.get_by_test_id("stop").click()
    assert fake.wait_for_disconnect(5) is not None
    assert statuses(pg) == ["stopped", "stopped"]
    before = pg.evaluate(PANE_TEXT)
    time.sleep(0.3)
    assert pg.evaluate(PANE_TEXT) == before
    deadline = time.monotonic() + 5
    while not Run.objects.filter(status="stopped").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert Run.objects.get().status == "stopped"


def test_error_pane_does_not_break_the_others(pg: Page, fake: FakeUpstream) -> None:
    """A failing model shows its error in its pane while the other panes finish."""
    fake.add_fault("gpt-4o", Fault.status_code(500), times=5)
    fake.set_chunk_delay("*", 0.01)
    open_permalink(pg, MODELS)
    pg.get_by_test_id("run").click()
    wait_finished(pg)
    assert statuses(pg) == ["error", "done", "done"]
    first, second = pg.get_by_test_id("pane").nth(0), pg.get_by_test_id("pane").nth(1)
    expect(first.locator(".pane-error")).to_contain_text("Error")
    expect(second.get_by_test_id("pane-output")).to_contain_text("Hello from gpt-4o-mini")


XSS = {
    "gpt-4o": "Look <script>window.__xss = 1; alert(1)</script> here",
    "gpt-4o-mini": 'An image <img src=x onerror="window.__xss = 2; alert(2)"> there',
    "deepseek-chat": 'A [link](javascript:alert(3)) and <a href="javascript:alert(4)">raw</a>',
}


def test_model_output_cannot_inject_markup(pg: Page, fake: FakeUpstream) -> None:
    """<script>, <img onerror> and javascript: links from models stay inert text."""
    dialogs: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    for model, reply in XSS.items():
        fake.set_reply(model, reply)
    fake.set_chunk_delay("*", 0.01)
    open_permalink(pg, MODELS)
    pg.get_by_test_id("run").click()
    wait_finished(pg)
    outputs = pg.get_by_test_id("pane-output").all_text_contents()
    assert "<script>window.__xss = 1; alert(1)</script>" in outputs[0]
    assert '<img src=x onerror="window.__xss = 2; alert(2)">' in outputs[1]
    assert "[link](javascript:alert(3))" in outputs[2]
    injected = pg.evaluate(
        """() => document.querySelectorAll('#panes script, #panes img, #panes [onerror],'
            + ' #panes a[href^="javascript"], #panes a:not([href])').length"""
    )
    assert injected == 0
    assert pg.evaluate("() => window.__xss") is None
    time.sleep(0.2)
    assert dialogs == []


def test_bad_input_shows_inline_errors_without_calling_models(pg: Page, fake: FakeUpstream) -> None:
    """An empty prompt is reported next to the field (plain HTML answer, not SSE)."""
    open_permalink(pg, MODELS[:1], prompt="")
    pg.get_by_test_id("run").click()
    expect(pg.locator("#error-prompt")).to_have_text("Write a prompt first.")
    expect(pg.locator("#form-errors")).to_contain_text("Nothing was sent")
    pg.locator("input[name=temperature]").fill("5")
    pg.get_by_test_id("prompt").fill("Now with a prompt")
    pg.get_by_test_id("prompt").press("Control+Enter")
    expect(pg.locator(".pane-row .row-error")).to_contain_text("less than or equal to 2")
    expect(pg.locator("#error-prompt")).to_be_empty()
    assert fake.requests == [] and pg.get_by_test_id("pane").count() == 0


def test_picker_search_keyboard_and_permalink(pg: Page, fake: FakeUpstream) -> None:
    """Pick models by search, run with Ctrl+Enter, then the pushed permalink restores it all."""
    pg.goto("/playground/")
    pg.get_by_test_id("prompt").fill("Compare these two")
    search = pg.locator("#model-search")
    for query in ("gpt-4o-mini", "deepseek-chat"):
        search.fill(query)
        expect(pg.locator("#model-results button.result").first).to_contain_text(query)
        search.press("Enter")
    expect(pg.locator(".pane-row")).to_have_count(2)
    expect(pg.locator(".pane-row").first.locator(".row-estimate")).to_contain_text("$")
    pg.locator(".pane-row").nth(1).locator("input[name=temperature]").fill("0.7")
    pg.get_by_test_id("prompt").press("Control+Enter")
    wait_finished(pg, 2)
    assert (
        fake.requests[-1].body.get("temperature") == 0.7
        or fake.requests[0].body.get("temperature") == 0.7
    )
    permalink = pg.url
    assert "models=fakeai%2Fgpt-4o-mini%2Cfakeai%2Fdeepseek-chat" in permalink
    pg.goto(permalink)
    expect(pg.get_by_test_id("prompt")).to_have_value("Compare these two")
    rows = pg.locator(".pane-row")
    assert [rows.nth(i).get_attribute("data-model") for i in range(2)] == MODELS[1:]
    expect(rows.nth(1).locator("input[name=temperature]")).to_have_value("0.7")
    pg.get_by_test_id("run").click()
    wait_finished(pg, 2)
    expect(pg.locator("#recent-runs li")).to_have_count(2)
    pg.locator("#recent-runs li a").first.click()
    expect(pg.get_by_test_id("pane")).to_have_count(2)
    expect(pg.get_by_test_id("pane-output").first).to_contain_text("Hello from gpt-4o-mini")
