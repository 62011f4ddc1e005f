"""The playground over real HTTP: the page, validation, the SSE run, errors, records, runs."""

from __future__ import annotations

import html
import time

import httpx
import pytest

from playground.models import Run
from routing.models import Provider
from routing.transport import records
from tests.conftest import LiveServer
from tests.fake_upstream import FakeUpstream, Fault
from tests.playground.conftest import Page, partials
from usage.models import UsageRecord

pytestmark = pytest.mark.usefixtures("providers")

GPT, DEEPSEEK = "fakeai/gpt-4o", "fakeai/deepseek-chat"


def form(prompt: str = "Say hi", models: list[str] | None = None, **params: list[str]) -> dict:
    models = [GPT, DEEPSEEK] if models is None else models
    data: dict = {"prompt": prompt, "system": "", "model": models}
    for name in ("temperature", "max_tokens", "top_p"):
        data[name] = params.get(name, [""] * len(models))
    return data


def test_page_has_form_hooks_and_nav(page: Page) -> None:
    """The page renders the prompt, Run and Stop hooks, the nav and the vendored htmx."""
    body = page.http.get("/playground/").text
    for hook in ('data-testid="prompt"', 'data-testid="run"', 'data-testid="stop"'):
        assert hook in body
    assert 'href="/costcalc/"' in body and 'href="/admin/"' in body
    assert (
        "/static/vendor/htmx/htmx.min.js" in body
        and "/static/vendor/htmx/ext/hx-sse.min.js" in body
    )
    assert "X-CSRFToken" in body and "cdn" not in body.lower()


def test_login_required_outside_development(live_app: LiveServer, settings: object) -> None:
    """With PLAYGROUND_REQUIRE_LOGIN the page redirects anonymous users to the login page."""
    settings.PLAYGROUND_REQUIRE_LOGIN = True  # type: ignore[attr-defined]
    response = httpx.get(f"{live_app.url}/playground/?models={GPT}")
    assert response.status_code == 302
    assert response.headers["location"].startswith("/accounts/login/?next=/playground/")


def test_permalink_restores_the_form(page: Page) -> None:
    """?models=…&prompt=…&temperature=… fills the prompt, rows and per-pane parameters."""
    query = {
        "models": f"{GPT},{DEEPSEEK}",
        "prompt": "Compare <these>",
        "system": "Be brief",
        "temperature": "0.3,1.1",
        "max_tokens": "64",
    }
    body = page.http.get("/playground/", params=query).text
    assert "Compare &lt;these&gt;</textarea>" in body and "Be brief</textarea>" in body
    assert f'name="model" value="{GPT}"' in body and f'name="model" value="{DEEPSEEK}"' in body
    assert 'name="temperature" type="number"' in body
    assert 'value="0.3"' in body and 'value="1.1"' in body
    assert (
        body.count(
            'name="max_tokens" type="number" inputmode="numeric" min="1" step="1" value="64"'
        )
        == 2
    )


def test_simulator_models_preselected_without_keys(page: Page, sim_models: list[str]) -> None:
    """With no real provider configured, the simulator models are picked and labelled."""
    Provider.objects.filter(slug__startswith="fake").update(enabled=False)
    body = page.http.get("/playground/").text
    for name in sim_models:
        assert f'name="model" value="{name}"' in body
    assert "simulated</span>" in body and "No provider keys are configured" in body


@pytest.mark.parametrize(
    ("data", "target", "message"),
    [
        (form(prompt="  "), "#error-prompt", "Write a prompt first."),
        (form(models=[]), "#error-models", "Pick at least one model."),
        (form(models=[GPT] * 7), "#error-models", "Pick at most 6 models (7 picked)."),
        (
            form(models=["nope/model"]),
            ".pane-row:nth-child(1) .row-error",
            "Unknown model 'nope/model'.",
        ),
        (form(models=["route/none"]), ".pane-row:nth-child(1) .row-error", "Unknown route"),
        (
            form(temperature=["0.5", "3"]),
            ".pane-row:nth-child(2) .row-error",
            "Temperature: input should be less than or equal to 2.",
        ),
        (
            form(top_p=["1.5", ""]),
            ".pane-row:nth-child(1) .row-error",
            "Top p: input should be less than or equal to 1.",
        ),
        (
            form(max_tokens=["0", ""]),
            ".pane-row:nth-child(1) .row-error",
            "Max tokens: input should be greater than or equal to 1.",
        ),
        (
            form(temperature=["warm", ""]),
            ".pane-row:nth-child(1) .row-error",
            "Temperature must be a number.",
        ),
    ],
)
def test_bad_input_is_reported_inline_without_upstream_call(
    page: Page, fake: FakeUpstream, data: dict, target: str, message: str
) -> None:
    """Each bad field gets a message next to it in a plain HTML answer; nothing goes upstream."""
    response = page.run(data)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    found = [inner for t, inner in _partials(response.text) if t.endswith(target)]
    assert found and message in html.unescape(found[0])
    assert fake.requests == []


def _partials(text: str) -> list[tuple[str, str]]:
    import re

    pairs = re.findall(
        r'<hx-partial hx-target="([^"]+)" hx-swap="[^"]+">(.*?)</hx-partial>', text, re.S
    )
    return [(html.unescape(t), inner) for t, inner in pairs]


def test_unconfigured_model_fails_in_its_own_pane(page: Page, fake: FakeUpstream) -> None:
    """A model whose provider has no key fails in its pane (naming the env var to set) while
    the other pane answers; the picker lists it disabled with the reason."""
    openai_p = Provider.objects.create(slug="closedai", name="ClosedAI", protocol="openai")
    openai_p.models.create(model_id="gpt-x", prices_ref="", price_known=False)
    response = page.run(form(models=["closedai/gpt-x", GPT]))
    assert response.status_code == 200
    statuses = partials(response.text, "#pane-0-status") + partials(response.text, "#pane-1-status")
    assert 'data-status="error"' in statuses[0] and 'data-status="done"' in statuses[1]
    assert "not configured: set CLOSEDAI_API_KEY" in partials(response.text, "#pane-0-body")[-1]
    assert [r.model for r in fake.requests] == ["gpt-4o"]
    search = page.http.get("/playground/models/", params={"q": "gpt-x"}).text
    assert "disabled" in search and "not configured: set CLOSEDAI_API_KEY" in search


def test_unknown_model_is_refused_before_anything_runs(page: Page, fake: FakeUpstream) -> None:
    """A typo in a model id stops the run with the error on its row: nothing is sent."""
    response = page.run(form(models=["fakeai/no-such-model", GPT]))
    assert response.status_code == 422
    assert "Unknown model" in response.text and "marked in red above" in response.text
    assert fake.requests == []


def test_route_without_configured_targets_is_flagged(page: Page, fake: FakeUpstream) -> None:
    """A route whose every target lacks its key is disabled in the picker with the reason, and
    run anyway it fails in its own pane as route_not_configured."""
    from tests.routing.engine.test_routes_e2e import make_route

    closed = Provider.objects.create(slug="closedai", name="ClosedAI", protocol="openai")
    closed.models.create(model_id="gpt-x", prices_ref="", price_known=False)
    make_route("closed", "fallback", {"model": "closedai/gpt-x"})
    search = page.http.get("/playground/models/", params={"q": "route/closed"}).text
    assert "disabled" in search and "No target of route/closed is configured" in search
    response = page.run(form(models=["route/closed", GPT]))
    assert response.status_code == 200
    assert "is configured" in partials(response.text, "#pane-0-body")[-1]
    assert 'data-status="done"' in partials(response.text, "#pane-1-status")[-1]


def test_csrf_is_required(page: Page, fake: FakeUpstream) -> None:
    """A POST without the CSRF token is refused before anything runs."""
    page.csrf()
    assert page.run(form(), csrf=False).status_code == 403
    assert fake.requests == []


def test_spend_cap_stops_runs(page: Page, fake: FakeUpstream, settings: object) -> None:
    """Once today's spend reaches the cap, runs are refused with a clear message."""
    settings.PLAYGROUND_DAILY_SPEND_CAP_USD = 0.0  # type: ignore[attr-defined]
    response = page.run(form())
    assert response.status_code == 422
    assert "Daily playground spend cap reached" in response.text
    assert fake.requests == []


def test_stream_fills_each_pane_with_escaped_partials(page: Page, fake: FakeUpstream) -> None:
    """One POST, one text/event-stream: escaped tokens per pane, then final Markdown and costs."""
    fake.set_reply("gpt-4o", "Hi <script>alert(1)</script> & **bold**\nsecond line")
    fake.set_chunk_delay("*", 0.03)  # tokens apart: each pane's first token is its own message
    response = page.run(form(temperature=["0.2", ""], max_tokens=["", "40"]))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    streamed = partials(response.text, "#pane-0-output")
    assert streamed[0] == "<p>Hi</p>\n"  # Markdown while streaming, not only at the end
    assert "&lt;script&gt;" in "".join(streamed) and "<script>" not in "".join(streamed)
    assert partials(response.text, "#pane-1-output")[0] == "<p>Hello</p>\n"
    final = partials(response.text, "#pane-0-body")[-1]
    assert "<strong>bold</strong>" in final and "&lt;script&gt;" in final
    assert "<script>" not in final.replace("&lt;script&gt;", "")
    for index in (0, 1):
        status = partials(response.text, f"#pane-{index}-status")[-1]
        assert 'data-status="done"' in status
        metrics = partials(response.text, f"#pane-{index}-metrics")[-1]
        assert 'data-testid="pane-cost">$' in metrics and 'data-testid="pane-ttft">' in metrics
    assert "Total <strong" in partials(response.text, "#run-total")[-1]
    sent = {r.body["model"]: r.body for r in fake.requests}
    assert sent["gpt-4o"]["temperature"] == 0.2 and sent["deepseek-chat"]["max_tokens"] == 40


def test_failing_model_errors_in_its_own_pane(page: Page, fake: FakeUpstream) -> None:
    """A model answering 500 shows its error in its pane; the other pane completes."""
    fake.add_fault("gpt-4o", Fault.status_code(500), times=5)
    response = page.run(form())
    assert 'data-status="error"' in partials(response.text, "#pane-0-status")[-1]
    assert "Error:" in partials(response.text, "#pane-0-body")[-1]
    assert 'data-status="done"' in partials(response.text, "#pane-1-status")[-1]
    assert "Hello from deepseek-chat" in partials(response.text, "#pane-1-body")[-1]


def test_usage_records_come_from_the_gateway_marked_playground(page: Page) -> None:
    """Every pane leaves the gateway's usage record with source=playground."""
    page.run(form())
    records.writer.flush(10)
    rows = UsageRecord.objects.filter(source="playground")
    assert sorted(r.model for r in rows) == [DEEPSEEK, GPT]
    assert all(r.status == "ok" and r.stream and r.cost_usd > 0 for r in rows)


def test_run_is_saved_and_reopens_without_calling_models(page: Page, fake: FakeUpstream) -> None:
    """A finished run is stored with answers and metrics and reopens from storage."""
    response = page.run(form(prompt="Remember me"))
    run = Run.objects.get()
    assert run.prompt == "Remember me" and run.model_ids == [GPT, DEEPSEEK]
    assert run.status == "done" and run.total_cost_usd > 0 and run.spend_usd == run.total_cost_usd
    assert run.panes[0]["text"].startswith("Hello from gpt-4o")
    assert run.panes[0]["metrics"]["ttft_ms"] > 0
    assert f"/playground/runs/{run.pk}/" in partials(response.text, "#run-link")[-1]
    calls = len(fake.requests)
    body = page.http.get(f"/playground/runs/{run.pk}/").text
    assert "Hello from gpt-4o" in body and 'data-testid="pane-cost">$' in body
    assert "Remember me</textarea>" in body and "Remember me" in page.http.get("/playground/").text
    assert len(fake.requests) == calls


def test_client_disconnect_closes_upstream_streams(
    live_app: LiveServer, page: Page, fake: FakeUpstream
) -> None:
    """Closing the response mid-stream closes every upstream call and stores a stopped run."""
    fake.set_chunk_delay("*", 0.05)
    headers = {"X-CSRFToken": page.csrf(), "HX-Request": "true"}
    with page.http.stream("POST", "/playground/run/", data=form(), headers=headers) as response:
        for chunk in response.iter_text():
            if "#pane-0-output" in chunk:
                break
    assert fake.wait_for_disconnect(5) is not None
    deadline = time.monotonic() + 5
    while not Run.objects.filter(status="stopped").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    run = Run.objects.get()
    assert run.status == "stopped" and {p["status"] for p in run.panes} == {"stopped"}
    records.writer.flush(10)
    assert set(UsageRecord.objects.values_list("status", flat=True)) == {"cancelled"}
