"""The admin route editor in a real browser: fits 1,400 px, pickers work, errors sit on their fields."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect

from routing.models import Route
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser
WIDTH = 1400
PAGE_WIDTH = "() => document.documentElement.scrollWidth"


@pytest.fixture
def editor(chromium: Browser, live_app: LiveServer, gateway_db: None) -> Iterator[Page]:
    """The real catalog and default routes; a superuser logged in through the admin form."""
    call_command("sync_catalog", stdout=io.StringIO())
    call_command("install_default_routes", stdout=io.StringIO())
    User.objects.create_superuser("root", "root@example.com", "pw")
    context = chromium.new_context(base_url=live_app.url, viewport={"width": WIDTH, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    yield page
    context.close()


def open_route(page: Page, slug: str) -> None:
    page.goto(f"/admin/routing/route/{Route.objects.get(slug=slug).pk}/change/")


@pytest.mark.parametrize("slug", ["by-type", "auto", "fallback"])
def test_route_editor_fits_1400_px(editor: Page, slug: str) -> None:
    """The widest routes of a fresh install fit a 1,400 px window: no sideways scrolling."""
    open_route(editor, slug)
    expect(editor.locator("#targets-group")).to_be_visible()
    assert editor.evaluate(PAGE_WIDTH) <= WIDTH
    table = editor.locator("#targets-group table").bounding_box()
    assert table is not None and table["x"] + table["width"] <= WIDTH


def test_model_picker_and_fallback_list(editor: Page) -> None:
    """Typing in a model cell lists matches with their prices; a pick fills the cell and closes the
    list; fallbacks are an ordered list of pickers that can be added to and reordered."""
    page = editor
    open_route(page, "fallback")
    cell = page.locator("#id_targets-0-model")
    cell.fill("gpt-4o-mini")
    results = page.locator("#targets-0 .field-model .results")
    expect(results.locator(".result").first).to_be_visible()
    expect(results).to_contain_text("per 1M")
    # newest first (main's picker order): the exact id, not a dated snapshot listed above it
    results.locator('.result[data-pick="openai/gpt-4o-mini"]').click()
    expect(cell).to_have_value("openai/gpt-4o-mini")
    expect(results).to_be_hidden()
    expect(page.locator("#targets-0 .field-model .pick-status")).to_contain_text("not configured")
    fallbacks = page.locator("#targets-0 .field-fallbacks")
    before = fallbacks.locator(".fallback-item").count()
    for i, name in enumerate(["sim/fast", "sim/smart"]):
        fallbacks.locator(".fallback-add").click()
        new = fallbacks.locator(".fallback-item input").nth(before + i)
        new.fill(name)
        new.press("Escape")
        expect(fallbacks.locator(".results").nth(before + i)).to_be_hidden()
    fallbacks.locator(".fallback-item").nth(before + 1).locator(".fallback-up").click()
    names = fallbacks.locator(".fallback-item input").evaluate_all("xs => xs.map(x => x.name)")
    assert set(names) == {"targets-0-fallbacks"}
    values = fallbacks.locator(".fallback-item input").evaluate_all("xs => xs.map(x => x.value)")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist .success")).to_be_visible()
    saved = Route.objects.get(slug="fallback").targets.order_by("position", "id").first()
    assert saved is not None and saved.model == "openai/gpt-4o-mini"
    assert saved.fallbacks == [v for v in values if v]
    assert saved.fallbacks[before:] == ["sim/smart", "sim/fast"]  # moved up: now tried first


def test_errors_on_their_fields(editor: Page) -> None:
    """A bad model and a bad temperature are marked on their own cells, not listed above the table."""
    page = editor
    open_route(page, "by-type")
    page.fill("#id_targets-1-model", "nope/not-a-model")
    page.press("#id_targets-1-model", "Escape")
    page.fill("#id_targets-2-temperature", "5")
    page.click("input[name=_continue]")
    model_error = page.locator("#targets-1 td.field-model .errorlist")
    expect(model_error).to_contain_text("nope/not-a-model")
    expect(page.locator("#targets-2 td.field-temperature .errorlist")).to_contain_text(
        "between 0 and 2"
    )
    expect(page.locator("#targets-group .errorlist.nonform")).to_have_text(
        "2 problems: see the marked fields."
    )
    assert "targets[" not in page.content()
    assert page.evaluate(PAGE_WIDTH) <= WIDTH  # errors do not widen the table past the window
