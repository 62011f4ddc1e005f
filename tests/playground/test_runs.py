"""Past runs over real HTTP (production settings): follow-ups, rating, export, search, delete,
short permalinks, and who may touch which run."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User

from playground.models import PromptText, Run
from tests.fake_upstream import FakeUpstream
from tests.playground.conftest import Page, partials
from tests.playground.test_views import GPT, form

pytestmark = pytest.mark.usefixtures("providers")


def one_run(page: Page, prompt: str = "First question") -> Run:
    assert page.run(form(prompt, models=[GPT])).status_code == 200
    run = Run.objects.order_by("-id").first()
    assert run is not None
    return run


def post(page: Page, url: str, data: dict[str, str]) -> tuple[int, str]:
    headers = {"X-CSRFToken": page.csrf(), "HX-Request": "true"}
    response = page.http.post(url, data=data, headers=headers)
    return response.status_code, response.text


def test_follow_up_sends_the_history_and_links_the_turns(page: Page, fake: FakeUpstream) -> None:
    """A POST with parent= reuses the parent's models and sends its answers as history."""
    fake.set_reply("gpt-4o", "Answer one.")
    parent = one_run(page)
    response = page.run({"parent": str(parent.pk), "prompt": "Second question"})
    assert response.status_code == 200
    assert fake.requests[-1].body["messages"] == [
        {"role": "user", "content": "First question"},
        {"role": "assistant", "content": "Answer one."},
        {"role": "user", "content": "Second question"},
    ]
    child = Run.objects.get(parent=parent)
    assert child.model_ids == [GPT] and child.prompt == "Second question"
    assert "First question" in partials(response.text, "#panes")[0]
    page_html = page.http.get(f"/playground/runs/{child.pk}/").text
    assert "First question" in page_html and "Answer one." in page_html


def test_empty_follow_up_is_an_inline_error(page: Page, fake: FakeUpstream) -> None:
    """A follow-up without text answers 422 with the message next to the follow-up box."""
    parent = one_run(page)
    calls = len(fake.requests)
    response = page.run({"parent": str(parent.pk), "prompt": ""})
    assert response.status_code == 422
    expected = 'hx-target="#error-followup" hx-swap="innerHTML">Write a prompt first.</hx-partial>'
    assert expected in response.text  # a plain HTML answer, not SSE
    assert len(fake.requests) == calls


def test_rating_is_validated_and_stored(page: Page) -> None:
    """winner and per-pane ratings are stored; a bad pane or rating is a 400 with a message."""
    run = one_run(page)
    url = f"/playground/runs/{run.pk}/rate/"
    assert post(page, url, {"winner": "0"})[0] == 200
    status, body = post(page, url, {"pane": "0", "rating": "up"})
    assert status == 200 and json.loads(body) == {"winner": 0, "ratings": {"0": "up"}}
    for bad in ({"winner": "7"}, {"pane": "x", "rating": "up"}, {"pane": "0", "rating": "meh"}):
        status, body = post(page, url, bad)
        assert status == 400 and "error" in json.loads(body)
    run.refresh_from_db()
    assert (run.winner, run.ratings) == (0, {"0": "up"})


def test_exports_and_unknown_format(page: Page, fake: FakeUpstream) -> None:
    """JSON and Markdown downloads of the conversation; any other format is a 404."""
    fake.set_reply("gpt-4o", "Exported answer.")
    run = one_run(page)
    exported = page.http.get(f"/playground/runs/{run.pk}/export.json")
    assert exported.headers["content-disposition"].endswith(f'playground-run-{run.pk}.json"')
    assert exported.json()["turns"][0]["panes"][0]["text"] == "Exported answer."
    markdown = page.http.get(f"/playground/runs/{run.pk}/export.md").text
    assert "## Turn 1" in markdown and "Exported answer." in markdown
    assert page.http.get(f"/playground/runs/{run.pk}/export.xml").status_code == 404


def test_search_and_delete(page: Page) -> None:
    """The runs list filters by prompt; delete removes the run and answers the new list."""
    keep, gone = one_run(page, "keep this one"), one_run(page, "delete that one")
    listing = page.http.get("/playground/runs/", params={"q": "delete"}).text
    assert "delete that one" in listing and "keep this one" not in listing
    status, body = post(page, f"/playground/runs/{gone.pk}/delete/", {"q": ""})
    assert status == 200 and "keep this one" in body and "delete that one" not in body
    assert list(Run.objects.values_list("pk", flat=True)) == [keep.pk]


def test_someone_elses_run_is_not_found(page: Page) -> None:
    """Runs belong to their user: another user's (or an anonymous) run is a 404."""
    owner = User.objects.create_user("owner")
    theirs = Run.objects.create(user=owner, prompt="private", model_ids=[GPT], panes=[])
    for url in (f"/playground/runs/{theirs.pk}/", f"/playground/runs/{theirs.pk}/export.json"):
        assert page.http.get(url).status_code == 404
    assert post(page, f"/playground/runs/{theirs.pk}/delete/", {})[0] == 404
    assert Run.objects.filter(pk=theirs.pk).exists()


def test_run_endpoints_need_a_login_outside_development(page: Page, settings: object) -> None:
    """With PLAYGROUND_REQUIRE_LOGIN the run endpoints answer 403 to anonymous users."""
    run = one_run(page)
    settings.PLAYGROUND_REQUIRE_LOGIN = True  # type: ignore[attr-defined]
    assert page.http.get("/playground/runs/").status_code == 403
    assert page.http.get(f"/playground/runs/{run.pk}/export.md").status_code == 403
    assert post(page, f"/playground/runs/{run.pk}/rate/", {"winner": "0"})[0] == 403


def test_long_prompt_permalink_is_short(page: Page) -> None:
    """A 50,000-character prompt is stored; the pushed permalink names it; the page reads it."""
    prompt = "x" * 50_000
    response = page.run(form(prompt, models=[GPT]))
    link = partials(response.text, "#run-link")[0]
    digest = PromptText.objects.get().digest
    assert f"prompt_id={digest}" in link and len(link) < 300
    restored = page.http.get(f"/playground/?models={GPT}&prompt_id={digest}").text
    assert prompt in restored
