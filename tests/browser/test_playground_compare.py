"""The playground as people use it, in Debian's chromium: panes side by side, the picker's
dropdown, unconfigured models, follow-ups, compare tools, recent runs, permalinks, Markdown
while streaming, dark mode and phones."""

from __future__ import annotations

import json
import time
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, Page, expect

from playground.models import Run
from routing.models import Model, Provider
from tests.browser.test_playground import MODELS, open_permalink, statuses, wait_finished
from tests.conftest import LiveServer
from tests.fake_upstream import FakeUpstream

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("providers")]


def boxes(pg: Page) -> list[dict[str, float]]:
    return [p.bounding_box() for p in pg.get_by_test_id("pane").all()]  # type: ignore[misc]


def run_and_wait(pg: Page, count: int) -> None:
    pg.get_by_test_id("run").click()
    wait_finished(pg, count)


def test_three_panes_sit_in_one_row_at_1400px(pg: Page, fake: FakeUpstream) -> None:
    """Three panes side by side in one row at 1400 px; six scroll sideways inside the panes
    area, never the page."""
    pg.set_viewport_size({"width": 1400, "height": 900})
    open_permalink(pg, MODELS)
    run_and_wait(pg, 3)
    first, second, third = boxes(pg)
    assert first["y"] == second["y"] == third["y"]
    assert first["x"] < second["x"] < third["x"]
    assert third["x"] + third["width"] <= 1400
    six = [*MODELS, "fakeai/gpt-4o", "fakeai/gpt-4o-mini", "fakeai/deepseek-chat"]
    open_permalink(pg, six)
    run_and_wait(pg, 6)
    assert len({box["y"] for box in boxes(pg)}) == 1  # still one row
    scroll = pg.evaluate(
        "() => { const p = document.getElementById('panes'); return [p.scrollWidth, p.clientWidth]; }"
    )
    assert scroll[0] > scroll[1]  # the panes area scrolls sideways
    assert pg.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_sidebar_collapses_and_gives_panes_the_room(pg: Page, fake: FakeUpstream) -> None:
    """Hiding the recent runs widens the panes; the choice survives a reload."""
    pg.set_viewport_size({"width": 1400, "height": 900})
    open_permalink(pg, MODELS)
    run_and_wait(pg, 3)
    width = boxes(pg)[0]["width"]
    pg.get_by_test_id("side-toggle").click()
    expect(pg.locator("#pg-side")).to_be_hidden()
    assert boxes(pg)[0]["width"] > width + 40
    pg.reload()
    expect(pg.locator("#pg-side")).to_be_hidden()
    expect(pg.get_by_test_id("side-toggle")).to_have_attribute("aria-expanded", "false")


def test_model_dropdown_closes_on_escape_blur_and_pick(pg: Page, fake: FakeUpstream) -> None:
    """The search results close on Escape, when focus leaves, and after a pick."""
    pg.goto("/playground/")
    search = pg.locator("#model-search")
    results = pg.locator("#model-results button.result")
    search.fill("gpt-4o")
    expect(results.first).to_be_visible()
    search.press("Escape")
    expect(results).to_have_count(0)
    search.fill("gpt-4o-m")
    expect(results.first).to_be_visible()
    pg.get_by_test_id("prompt").click()  # focus leaves the picker
    expect(results).to_have_count(0)
    search.fill("deepseek-chat")
    expect(results.first).to_contain_text("deepseek-chat")
    results.first.click()
    expect(pg.locator(".pane-row")).to_have_count(1)
    expect(results).to_have_count(0)
    expect(search).to_have_value("")


def test_unconfigured_model_fails_in_its_pane_and_the_others_answer(
    pg: Page, fake: FakeUpstream
) -> None:
    """A model without its provider key is flagged in its row, then fails in its own pane
    while the other two stream their answers."""
    closed = Provider.objects.create(slug="closedai", name="ClosedAI", protocol="openai")
    closed.models.create(model_id="gpt-x", prices_ref="", price_known=False)
    open_permalink(pg, ["closedai/gpt-x", *MODELS[:2]])
    expect(pg.locator(".pane-row.unconfigured .row-warning")).to_contain_text("CLOSEDAI_API_KEY")
    run_and_wait(pg, 3)
    assert statuses(pg) == ["error", "done", "done"]
    panes = pg.get_by_test_id("pane")
    expect(panes.nth(0).locator(".pane-error")).to_contain_text("CLOSEDAI_API_KEY")
    expect(panes.nth(1).get_by_test_id("pane-output")).to_contain_text("Hello from gpt-4o")
    expect(panes.nth(2).get_by_test_id("pane-output")).to_contain_text("Hello from gpt-4o-mini")
    expect(pg.locator("#form-errors")).to_be_empty()


def test_follow_up_continues_every_pane(pg: Page, fake: FakeUpstream) -> None:
    """A follow-up sends each pane's own history and shows the earlier turn above the answer;
    its run page shows the whole conversation."""
    fake.set_reply("gpt-4o", "Paris is the capital.")
    fake.set_reply("gpt-4o-mini", "It is Paris.")
    open_permalink(pg, MODELS[:2], prompt="Capital of France?")
    run_and_wait(pg, 2)
    pg.get_by_test_id("followup").fill("And its population?")
    pg.get_by_test_id("followup-send").click()
    pg.wait_for_function("() => document.querySelectorAll('.pane .turn').length === 2")
    wait_finished(pg, 2)
    assert statuses(pg) == ["done", "done"]
    sent = {r.body["model"]: r.body["messages"] for r in fake.requests[2:]}
    assert sent["gpt-4o"] == [
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": "Paris is the capital."},
        {"role": "user", "content": "And its population?"},
    ]
    assert sent["gpt-4o-mini"][1] == {"role": "assistant", "content": "It is Paris."}
    first = pg.get_by_test_id("pane").first
    expect(first.locator(".turn .turn-prompt")).to_contain_text("Capital of France?")
    expect(first.locator(".turn-answer")).to_contain_text("Paris is the capital.")
    expect(pg.get_by_test_id("followup")).to_have_value("")
    followup = Run.objects.order_by("-id").first()
    assert followup is not None and followup.parent_id is not None
    pg.wait_for_url(f"**/playground/runs/{followup.pk}/")
    pg.reload()
    expect(pg.locator(".pane .turn")).to_have_count(2)
    expect(pg.locator("#recent-runs li").first).to_contain_text("follow-up")


def test_best_rating_diff_and_exports(pg: Page, fake: FakeUpstream) -> None:
    """Mark a winner and rate a pane (stored), diff two panes word by word, export the run."""
    fake.set_reply("gpt-4o", "The quick brown fox jumps.")
    fake.set_reply("gpt-4o-mini", "The quick red fox sleeps.")
    open_permalink(pg, MODELS[:2])
    run_and_wait(pg, 2)
    expect(pg.get_by_test_id("export-json")).to_be_visible()
    panes = pg.get_by_test_id("pane")
    panes.nth(1).get_by_test_id("mark-best").click()
    expect(panes.nth(1)).to_have_class("pane best")
    panes.nth(0).get_by_test_id("rate-up").click()
    expect(panes.nth(0).get_by_test_id("rate-up")).to_have_attribute("aria-pressed", "true")
    run = Run.objects.get()
    deadline = time.monotonic() + 5
    while (run.winner, run.ratings) != (1, {"0": "up"}) and time.monotonic() < deadline:
        time.sleep(0.05)
        run.refresh_from_db()
    assert (run.winner, run.ratings) == (1, {"0": "up"})
    pg.get_by_test_id("diff-open").click()
    output = pg.get_by_test_id("diff-output")
    expect(output.locator("del").first).to_contain_text("brown")
    expect(output.locator("ins").first).to_contain_text("red")
    pg.keyboard.press("Escape")
    exported = pg.request.get(pg.get_by_test_id("export-json").get_attribute("href") or "")
    data = json.loads(exported.text())
    assert (
        data["winner"] == 1 and data["turns"][0]["panes"][1]["text"] == "The quick red fox sleeps."
    )
    markdown = pg.request.get(pg.get_by_test_id("export-md").get_attribute("href") or "").text()
    assert "### fakeai/gpt-4o-mini (best)" in markdown and "The quick brown fox jumps." in markdown


def test_recent_runs_search_and_delete(pg: Page, fake: FakeUpstream) -> None:
    """The sidebar filters runs by prompt and deletes one."""
    for prompt in ("alpha question", "beta question"):
        open_permalink(pg, MODELS[:1], prompt=prompt)
        run_and_wait(pg, 1)
    expect(pg.locator("#recent-runs li")).to_have_count(2)
    pg.get_by_test_id("recent-search").fill("alpha")
    expect(pg.locator("#recent-runs li")).to_have_count(1)
    expect(pg.locator("#recent-runs li")).to_contain_text("alpha question")
    item = pg.locator("#recent-runs li").first
    item.hover()
    item.locator(".recent-delete").click()
    expect(pg.locator("#recent-runs")).to_contain_text("No run matches")
    assert list(Run.objects.values_list("prompt", flat=True)) == ["beta question"]


def test_long_prompt_gets_a_short_permalink(pg: Page, fake: FakeUpstream) -> None:
    """A 50,000-character prompt is stored server-side; the permalink names it by id."""
    prompt = "lorem ipsum " * 4167
    open_permalink(pg, MODELS[:1], prompt="short")
    pg.get_by_test_id("prompt").fill(prompt)
    run_and_wait(pg, 1)
    pg.wait_for_function("() => location.search.includes('prompt_id=')")
    assert len(pg.url) < 300
    pg.goto(pg.url)
    expect(pg.get_by_test_id("prompt")).to_have_value(prompt.strip())


def test_markdown_renders_while_streaming_with_highlighted_code(
    pg: Page, fake: FakeUpstream
) -> None:
    """Bold text is formatted before the pane ends; code blocks are highlighted, each with
    its own copy button."""
    words = " ".join(f"word{i}" for i in range(60))
    fake.set_reply("gpt-4o", f"**Bold start** {words}\n\n```python\ndef f(x):\n    return x\n```\n")
    fake.set_chunk_delay("gpt-4o", 0.03)
    open_permalink(pg, MODELS[:1])
    pg.get_by_test_id("run").click()
    pg.wait_for_function(
        """() => document.querySelector('#pane-0-output strong')
            && document.querySelector('[data-testid="pane-status"]').dataset.status === 'streaming'"""
    )
    wait_finished(pg, 1)
    code = pg.locator("#pane-0-output pre code")
    expect(code).to_have_class("language-python hljs")
    expect(code.locator(".hljs-keyword").first).to_have_text("def")
    copy = pg.locator("#pane-0-output pre .code-copy")
    expect(copy).to_have_count(1)
    copy.click()
    expect(copy).to_have_text("Copied")


def test_favourites_come_first_in_the_picker(pg: Page, fake: FakeUpstream) -> None:
    """A starred model is listed first for a matching search, after a reload too; results show
    the context window next to the price."""
    mini = Model.objects.get(model_id="gpt-4o-mini")
    mini.context_window = 128_000
    mini.save()  # a save (as the admin's) bumps the config version; .update() would not
    pg.goto("/playground/")
    search = pg.locator("#model-search")
    search.fill("fakeai")
    star = pg.locator('#model-results button.fav[data-fav="fakeai/gpt-4o-mini"]')
    star.click()
    expect(star).to_have_attribute("aria-pressed", "true")
    # A search answer rendered with the favourites as they were before the click (a request
    # already in flight) must not undo the star.
    pg.evaluate("document.getElementById('favourites').value = ''")
    star.evaluate("el => el.classList.add('before')")
    search.fill("fakeai/gpt-4o")
    expect(pg.locator("#model-results button.fav.before")).to_have_count(0)  # re-rendered
    expect(star).to_have_attribute("aria-pressed", "true")
    pg.reload()
    pg.locator("#model-search").fill("fakeai")
    expect(pg.locator("#model-results button.result").first).to_have_attribute(
        "data-model", "fakeai/gpt-4o-mini"
    )
    expect(pg.locator("#model-results .result-detail").first).to_contain_text(
        "out per 1M · 128K context"
    )


def test_dark_mode_colours(chromium: Browser, live_app: LiveServer, settings: object) -> None:
    """prefers-color-scheme: dark gives dark surfaces and light text; light stays light."""
    settings.PLAYGROUND_REQUIRE_LOGIN = False  # type: ignore[attr-defined]
    colours = {}
    for scheme in ("light", "dark"):
        context = chromium.new_context(base_url=live_app.url, color_scheme=scheme)  # type: ignore[arg-type]
        page = context.new_page()
        page.goto("/playground/")
        colours[scheme] = page.evaluate(
            """() => ['body', '.pg-form', '#prompt', '.site-header'].map(
                s => { const c = getComputedStyle(document.querySelector(s));
                       return [c.backgroundColor, c.color]; })"""
        )
        context.close()
    assert colours["light"][0] == ["rgb(246, 247, 249)", "rgb(27, 31, 36)"]
    assert colours["dark"][0] == ["rgb(13, 17, 23)", "rgb(230, 237, 243)"]
    assert colours["dark"][1][0] == "rgb(22, 27, 34)"  # the form's surface
    assert colours["dark"][2] == ["rgb(22, 27, 34)", "rgb(230, 237, 243)"]  # the prompt box


def test_phone_width_has_no_sideways_scroll(
    chromium: Browser, live_app: LiveServer, settings: object, fake: FakeUpstream
) -> None:
    """At 390 px the page never scrolls sideways (panes scroll in their own row) and every
    nav link is on screen."""
    settings.PLAYGROUND_REQUIRE_LOGIN = False  # type: ignore[attr-defined]
    context = chromium.new_context(base_url=live_app.url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    open_permalink(page, MODELS)
    run_and_wait(page, 3)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    for link in page.locator(".site-nav a").all():
        box = link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    pane = boxes(page)[0]
    assert pane["width"] <= 390
    assert urlparse(page.url).path == "/playground/"
    context.close()
