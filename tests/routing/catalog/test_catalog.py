"""The catalog: synced from the bundled genai-prices, aliases, and env-configured providers."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from io import StringIO

import openai
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from routing import catalog
from routing.catalog import pricing
from routing.catalog.seed import BUILTIN_PROVIDERS
from routing.models import Alias, Model, Provider
from tests.conftest import FAKE_SECRET, LiveServer
from tests.fake_upstream import FakeUpstream
from tests.routing.conftest import last_record

HUB_ALIASES = {
    "deepseek-ai/DeepSeek-V3": "deepseek/deepseek-chat",
    "deepseek-ai/DeepSeek-R1": "deepseek/deepseek-reasoner",
    "Qwen/Qwen3-32B": "qwen/qwen3-32b",
    "meta-llama/Llama-3.3-70B-Instruct": "groq/llama-3.3-70b-versatile",
    "openai/gpt-4o": "openai/gpt-4o",
    "anthropic/claude-3-5-sonnet": "anthropic/claude-3-5-sonnet-20241022",
    "google/gemini-2.0-flash": "google/gemini-2.0-flash",
}


@pytest.fixture
def no_provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No provider is configured by the environment this test runs in."""
    for builtin in BUILTIN_PROVIDERS:
        prefix = builtin.slug.upper()
        monkeypatch.delenv(f"{prefix}_API_KEY", raising=False)
        monkeypatch.delenv(f"{prefix}_BASE_URL", raising=False)


def sync() -> str:
    out = StringIO()
    call_command("sync_catalog", stdout=out)
    return out.getvalue()


@pytest.fixture
def synced(db: None, no_provider_env: None) -> str:
    """The catalog synced into the test database; the command's output."""
    return sync()


@pytest.fixture
def synced_live(gateway_db: None, no_provider_env: None) -> Iterator[str]:
    """The synced catalog where the live server can see it."""
    yield sync()


def model(public_id: str) -> Model:
    slug, _, model_id = public_id.partition("/")
    return Model.objects.get(provider__slug=slug, model_id=model_id)


def test_builtin_catalog_is_priced_from_genai_prices(synced: str) -> None:
    """gpt-4o is $2.50/$10, deepseek-chat and claude-3-5-sonnet-20241022 exist and are priced."""
    gpt = model("openai/gpt-4o")
    assert gpt.input_price == Decimal("2.5") and gpt.output_price == Decimal(10)
    assert gpt.cached_input_price == Decimal("1.25")
    assert gpt.price_known and gpt.prices_ref.startswith("openai:")
    assert gpt.context_window and gpt.context_window >= 128_000
    deepseek = model("deepseek/deepseek-chat")
    assert deepseek.price_known and deepseek.input_price > 0
    claude = model("anthropic/claude-3-5-sonnet-20241022")
    assert claude.price_known and claude.provider.protocol == "anthropic"
    assert (claude.input_price, claude.output_price) == (Decimal(3), Decimal(15))


def test_every_builtin_provider_and_sim_model_is_synced(synced: str) -> None:
    """All built-in providers exist with their protocol; the simulator's models are priced."""
    slugs = set(Provider.objects.values_list("slug", flat=True))
    assert {b.slug for b in BUILTIN_PROVIDERS} <= slugs
    assert Provider.objects.get(slug="anthropic").protocol == "anthropic"
    sim = {m.model_id: m for m in Model.objects.filter(provider__slug="sim")}
    assert set(sim) >= {"fast", "balanced", "smart"}
    assert all(m.price_known for m in sim.values())
    assert sim["smart"].input_price == Decimal("2.5")


def test_unpriced_models_are_flagged_and_non_chat_models_left_out(synced: str) -> None:
    """No model is priced $0 for lack of data; speech/images are not listed, and embedding
    models only as embedding models, with their dimension and genai-prices price."""
    assert not Model.objects.filter(price_known=True, input_price__isnull=True).exists()
    for row in Model.objects.filter(price_known=False):
        assert row.input_price is None, row
    chat = Model.objects.filter(provider__slug="openai", kind=Model.Kind.CHAT)
    ids = list(chat.values_list("model_id", flat=True))
    assert ids and not [i for i in ids if "embedding" in i or "whisper" in i or "dall-e" in i]
    small = Model.objects.get(provider__slug="openai", model_id="text-embedding-3-small")
    assert small.kind == Model.Kind.EMBEDDING and small.dimensions == 1536
    assert small.price_known and small.input_price == Decimal("0.02")
    fireworks = Model.objects.filter(provider__slug="fireworks")
    assert fireworks.filter(price_known=True).count() > fireworks.count() // 2


def test_hub_names_resolve(synced: str) -> None:
    """Familiar hub-style names resolve (case-insensitively) to the provider's own model."""
    snapshot = catalog.load_snapshot(0)
    resolved = {}
    for alias in HUB_ALIASES:
        found = snapshot.resolve(alias)
        resolved[alias] = found.id if found is not None else None
        if found is not None:
            assert snapshot.resolve(alias.lower()) == found
            assert found.price_known, alias
    assert resolved == HUB_ALIASES


def test_command_says_which_date_its_prices_are_from(synced: str) -> None:
    """The command names genai-prices, the date of its prices and the counts."""
    match = re.search(r"prices as of (\d{4}-\d{2}-\d{2})", synced)
    assert match, synced
    date = dt.date.fromisoformat(match.group(1))
    assert dt.date(2024, 1, 1) < date <= dt.date.today()
    assert match.group(1) == pricing.prices_date()
    assert "genai-prices" in synced and re.search(r"\d+ models \(\d+ priced", synced)


def test_sync_is_idempotent_and_keeps_admin_edits(synced: str) -> None:
    """A second sync adds nothing and keeps a base URL edited in admin."""
    Provider.objects.filter(slug="openai").update(base_url="https://proxy.example/v1")
    counts = (Model.objects.count(), Alias.objects.count(), Provider.objects.count())
    sync()
    assert (Model.objects.count(), Alias.objects.count(), Provider.objects.count()) == counts
    assert Provider.objects.get(slug="openai").base_url == "https://proxy.example/v1"


def test_env_configured_provider_answers_through_the_sdk(
    synced_live: str,
    live_app: LiveServer,
    api_key: str,
    fake: FakeUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """OPENAI_API_KEY + OPENAI_BASE_URL make openai/gpt-4o answer through the fake upstream."""
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_SECRET)
    monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_base_url)
    sdk = openai.OpenAI(base_url=f"{live_app.url}/v1", api_key=api_key, max_retries=0)
    raw = sdk.chat.completions.with_raw_response.create(
        model="openai/gpt-4o", messages=[{"role": "user", "content": "hello"}]
    )
    result = raw.parse()
    assert result.model == "openai/gpt-4o"
    assert result.choices[0].message.content.startswith("Hello from gpt-4o")
    sent = fake.requests[-1]
    assert sent.body["model"] == "gpt-4o"
    assert sent.headers["authorization"] == f"Bearer {FAKE_SECRET}"
    usage = result.usage
    expected = (usage.prompt_tokens * Decimal("2.5") + usage.completion_tokens * 10) / 10**6
    assert Decimal(raw.headers["x-switchyard-cost-usd"]) == pytest.approx(expected)
    assert last_record().cost_usd == pytest.approx(expected)


def test_alias_request_answers_with_the_canonical_model(
    synced_live: str,
    live_app: LiveServer,
    api_key: str,
    fake: FakeUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A request for deepseek-ai/DeepSeek-V3 is answered by deepseek/deepseek-chat."""
    monkeypatch.setenv("DEEPSEEK_API_KEY", FAKE_SECRET)
    monkeypatch.setenv("DEEPSEEK_BASE_URL", fake.openai_base_url)
    sdk = openai.OpenAI(base_url=f"{live_app.url}/v1", api_key=api_key, max_retries=0)
    raw = sdk.chat.completions.with_raw_response.create(
        model="deepseek-ai/DeepSeek-V3", messages=[{"role": "user", "content": "hi"}]
    )
    assert raw.parse().model == "deepseek/deepseek-chat"
    assert raw.headers["x-switchyard-model"] == "deepseek/deepseek-chat"
    assert fake.requests[-1].body["model"] == "deepseek-chat"
    record = last_record()
    assert record.requested_model == "deepseek-ai/DeepSeek-V3"
    assert record.model == "deepseek/deepseek-chat" and record.provider == "deepseek"


def test_unconfigured_providers_are_hidden_from_models_list(
    synced_live: str,
    live_app: LiveServer,
    api_key: str,
    fake: FakeUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only configured providers' models are listed; sim and the keyless local server are."""
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_SECRET)
    sdk = openai.OpenAI(base_url=f"{live_app.url}/v1", api_key=api_key, max_retries=0)
    owners = {m.owned_by for m in sdk.models.list().data}
    assert {"openai", "sim"} <= owners
    assert not owners & {"anthropic", "deepseek", "groq", "mistral", "qwen", "google"}
    with pytest.raises(openai.BadRequestError) as info:
        sdk.chat.completions.create(
            model="anthropic/claude-3-5-sonnet-20241022",
            messages=[{"role": "user", "content": "hi"}],
        )
    assert "ANTHROPIC_API_KEY" in info.value.message


def test_unconfigured_provider_is_listed_as_not_configured_in_admin(
    synced: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The admin lists providers without a key as not configured, naming the env var."""
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_SECRET)
    staff = User.objects.create_superuser("root", "root@example.com", None)
    browser = Client()
    browser.force_login(staff)
    page = browser.get("/admin/routing/provider/").content.decode()
    assert "not configured (ANTHROPIC_API_KEY)" in page
    assert "not configured (DEEPSEEK_API_KEY)" in page
    assert "not configured (OPENAI_API_KEY)" not in page
    assert FAKE_SECRET not in page
