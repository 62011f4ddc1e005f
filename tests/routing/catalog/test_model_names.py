"""Model names as apps send them, on every door: bare provider ids, the maker's preference
for an ambiguous one, suggestions for an unknown one, admin aliases to a model or a route,
and Claude Code's own names."""

from __future__ import annotations

from io import StringIO

import anthropic
import httpx
import openai
import pytest
from django.core.management import call_command

from routing.models import Alias, Model, Provider, Route, RouteTarget
from tests.conftest import FAKE_SECRET, LiveServer
from tests.fake_upstream import FakeUpstream
from tests.routing.conftest import last_record

pytestmark = pytest.mark.usefixtures("providers")
USER = [{"role": "user", "content": "hi"}]


def messages(live_app: LiveServer, key: str, model: str) -> httpx.Response:
    return httpx.post(
        f"{live_app.url}/v1/messages",
        json={"model": model, "max_tokens": 20, "messages": USER},
        headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
        timeout=30,
    )


def second_provider(slug: str, fake: FakeUpstream, model_id: str = "gpt-4o") -> Provider:
    provider = Provider.objects.create(
        slug=slug, name=slug, protocol="openai", base_url=fake.openai_base_url, api_key=FAKE_SECRET
    )
    Model.objects.create(provider=provider, model_id=model_id)
    return provider


def test_bare_name_resolves_to_the_one_provider_serving_it(
    client: openai.OpenAI, live_app: LiveServer, api_key: str, fake: FakeUpstream
) -> None:
    """`gpt-4o` on the chat door and `claude-3-5-sonnet-20241022` on the Anthropic door, with
    no provider prefix: the answer and x-switchyard-model say which provider answered."""
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=USER)
    assert raw.parse().model == "fakeai/gpt-4o"
    assert raw.headers["x-switchyard-model"] == "fakeai/gpt-4o"
    response = messages(live_app, api_key, "claude-3-5-sonnet-20241022")
    assert response.status_code == 200, response.text
    assert response.json()["model"] == "fakeanthropic/claude-3-5-sonnet-20241022"
    assert fake.requests[-1].body["model"] == "claude-3-5-sonnet-20241022"


def test_ambiguous_bare_name_lists_the_candidates(
    client: openai.OpenAI, live_app: LiveServer, api_key: str, fake: FakeUpstream
) -> None:
    """Two configured providers serve gpt-4o and neither is its maker: 404 naming both."""
    second_provider("otherai", fake)
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-4o", messages=USER)
    assert "fakeai/gpt-4o" in str(info.value) and "otherai/gpt-4o" in str(info.value)
    response = messages(live_app, api_key, "gpt-4o")
    assert response.status_code == 404 and response.json()["error"]["type"] == "not_found_error"
    assert "otherai/gpt-4o" in response.json()["error"]["message"]


def test_ambiguous_bare_name_prefers_the_maker(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """When the model's own maker is among them, gpt-4o goes to the openai provider."""
    second_provider("openai-direct", fake)
    Provider.objects.filter(slug="openai").delete()
    second_provider("openai", fake)
    answer = client.chat.completions.create(model="gpt-4o", messages=USER)
    assert answer.model == "openai/gpt-4o"


def test_unknown_name_suggests_the_closest(
    client: openai.OpenAI, live_app: LiveServer, api_key: str
) -> None:
    """A misspelt name: 404 with "did you mean" on both doors."""
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-4oo", messages=USER)
    assert "Did you mean fakeai/gpt-4o" in str(info.value)
    response = messages(live_app, api_key, "gpt4o")
    assert "Did you mean fakeai/gpt-4o" in response.json()["error"]["message"]


def test_alias_sends_a_name_through_a_route(
    client: openai.OpenAI, live_app: LiveServer, api_key: str, fake: FakeUpstream
) -> None:
    """An admin alias maps gpt-4o to route/cheap: every such call is routed, on both doors."""
    route = Route.objects.create(slug="cheap", strategy="fallback")
    RouteTarget.objects.create(route=route, model="fakeai/deepseek-chat")
    Alias.objects.create(name="gpt-4o", target="route/cheap")
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=USER)
    assert raw.headers["x-switchyard-route"] == "cheap"
    assert raw.parse().model == "fakeai/deepseek-chat"
    assert fake.requests[-1].body["model"] == "deepseek-chat"
    response = messages(live_app, api_key, "gpt-4o")
    assert response.headers["x-switchyard-model"] == "fakeai/deepseek-chat"
    record = last_record(response.headers["x-request-id"])
    assert record.requested_model == "gpt-4o" and record.route == "cheap"


def test_alias_to_a_model(client: openai.OpenAI) -> None:
    """An alias may name a model instead: `house-model` -> fakeai/gpt-4o-mini."""
    Alias.objects.create(name="house-model", model=Model.objects.get(model_id="gpt-4o-mini"))
    assert (
        client.chat.completions.create(model="house-model", messages=USER).model
        == "fakeai/gpt-4o-mini"
    )


@pytest.mark.parametrize(
    "name,upstream",
    [
        ("claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("claude-opus-4-1", "claude-opus-4-1"),
        ("claude-3-5-haiku-20241022", "claude-3-5-haiku-20241022"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("anthropic/claude-sonnet-4-5", "claude-sonnet-4-5"),
    ],
)
def test_claude_code_model_names_resolve(
    live_app: LiveServer,
    api_key: str,
    fake: FakeUpstream,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    upstream: str,
) -> None:
    """The names Claude Code sends resolve to the built-in Anthropic provider's models."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_SECRET)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.anthropic_base_url)
    call_command("sync_catalog", stdout=StringIO())
    sdk = anthropic.Anthropic(base_url=live_app.url, api_key=api_key, max_retries=0)
    answer = sdk.messages.create(model=name, max_tokens=20, messages=USER)
    assert answer.model == f"anthropic/{upstream}"
    assert fake.requests[-1].body["model"] == upstream
