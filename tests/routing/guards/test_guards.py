"""Rate limits, budgets and the response cache, through the SDK and the fake upstream."""

from __future__ import annotations

import asyncio
import io
from decimal import Decimal
from typing import Any

import httpx
import openai
import pytest
from django.core.management import call_command

from routing.models import ApiKey, Model, Provider, Route, RouteTarget
from routing.transport import records
from tests.conftest import LiveServer
from tests.fake_upstream import FakeUpstream, Fault
from usage.models import UsageRecord

pytestmark = pytest.mark.usefixtures("providers")
MESSAGES = [{"role": "user", "content": "hello cache"}]


def key_with(**limits: Any) -> str:
    _, raw = ApiKey.issue("limited", **limits)
    return raw


def sdk(live_app: LiveServer, raw: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{live_app.url}/v1", api_key=raw, max_retries=0)


async def burst(url: str, raw: str, n: int, **body: Any) -> list[httpx.Response]:
    payload = {"model": "fakeai/gpt-4o", "messages": MESSAGES, **body}
    async with httpx.AsyncClient(timeout=30) as http:
        calls = [
            http.post(
                f"{url}/v1/chat/completions",
                json=payload,
                headers={"authorization": f"Bearer {raw}"},
            )
            for _ in range(n)
        ]
        return await asyncio.gather(*calls)


def test_create_api_key_with_limits() -> None:
    """create_api_key NAME --rpm --tpm --budget-usd stores the limits and prints the key last."""
    out = io.StringIO()
    call_command(
        "create_api_key", "team", "--rpm", "60", "--tpm", "100000", "--budget-usd", "25", stdout=out
    )
    key = ApiKey.objects.get(name="team")
    assert (key.rpm, key.tpm, key.budget_usd) == (60, 100000, Decimal("25"))
    assert out.getvalue().strip().splitlines()[-1].startswith("sy-")


def test_rpm_is_exact_under_concurrency(live_app: LiveServer) -> None:
    """30 concurrent requests against --rpm 10: exactly 10 succeed, the rest get 429."""
    raw = key_with(rpm=10)
    responses = asyncio.run(burst(live_app.url, raw, 30))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 10 and statuses.count(429) == 20
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-ratelimit-limit-requests"] == "10"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"


def test_rate_limit_headers_on_every_response(live_app: LiveServer) -> None:
    """Successful responses carry OpenAI's x-ratelimit-* headers for requests and tokens."""
    raw = key_with(rpm=5, tpm=10_000)
    response = sdk(live_app, raw).chat.completions.with_raw_response.create(
        model="fakeai/gpt-4o", messages=MESSAGES
    )
    headers = response.headers
    assert headers["x-ratelimit-limit-requests"] == "5"
    assert headers["x-ratelimit-remaining-requests"] == "4"
    assert headers["x-ratelimit-limit-tokens"] == "10000"
    assert int(headers["x-ratelimit-remaining-tokens"]) < 10_000
    assert headers["x-ratelimit-reset-requests"].endswith("s")


def test_tokens_reserve_then_settle_to_real_usage(live_app: LiveServer) -> None:
    """A request reserves its estimate; afterwards the window holds only what it really used."""
    raw = key_with(tpm=2000)
    client = sdk(live_app, raw)
    first = client.chat.completions.create(
        model="fakeai/gpt-4o", messages=MESSAGES, max_tokens=1000
    )
    used = first.usage.prompt_tokens + first.usage.completion_tokens
    second = client.chat.completions.with_raw_response.create(
        model="fakeai/gpt-4o", messages=MESSAGES, max_tokens=5
    )
    remaining = int(second.headers["x-ratelimit-remaining-tokens"])
    # After the second request's own reservation (input estimate + 5), the first holds `used` only.
    assert remaining >= 2000 - used - 10 - 5
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="fakeai/gpt-4o", messages=MESSAGES, max_tokens=5000)


def test_budget_refuses_before_any_upstream_call(live_app: LiveServer, fake: FakeUpstream) -> None:
    """A budget that does not pay even a minimal answer (16 tokens, ~$0.00017 at $10/M out) is
    refused before any upstream call."""
    raw = key_with(budget_usd=Decimal("0.0001"))
    with pytest.raises(openai.RateLimitError) as err:
        sdk(live_app, raw).chat.completions.create(
            model="fakeai/gpt-4o", messages=MESSAGES, max_tokens=1000
        )
    assert err.value.code == "budget_exceeded"
    assert fake.requests == []


def test_budget_caps_max_tokens_to_what_it_pays_for(
    live_app: LiveServer, fake: FakeUpstream
) -> None:
    """$0.001 left pays ~98 output tokens of gpt-4o: asked 1000, the upstream gets the cap, the
    header says so, and the call costs no more than the budget."""
    fake.set_reply("gpt-4o", "word " * 2000)
    raw = key_with(budget_usd=Decimal("0.001"))
    response = sdk(live_app, raw).chat.completions.with_raw_response.create(
        model="fakeai/gpt-4o", messages=MESSAGES, max_tokens=1000
    )
    sent = fake.requests[-1].body["max_tokens"]
    assert 80 <= sent < 100
    assert response.headers["x-switchyard-budget-max-tokens"] == str(sent)
    assert response.parse().choices[0].finish_reason == "length"
    assert Decimal(response.headers["x-switchyard-cost-usd"]) <= Decimal("0.001")


def test_budget_never_lowers_nor_raises_a_small_ask(
    live_app: LiveServer, fake: FakeUpstream
) -> None:
    """With plenty of budget the client's own max_tokens goes upstream as it is, no header."""
    raw = key_with(budget_usd=Decimal("5"))
    response = sdk(live_app, raw).chat.completions.with_raw_response.create(
        model="fakeai/gpt-4o", messages=MESSAGES, max_tokens=40
    )
    assert fake.requests[-1].body["max_tokens"] == 40
    assert "x-switchyard-budget-max-tokens" not in response.headers


@pytest.mark.parametrize("stream", [False, True])
def test_fifty_concurrent_requests_without_max_tokens_stay_within_budget(
    live_app: LiveServer, fake: FakeUpstream, stream: bool
) -> None:
    """A budget for about 5 answers of 1,000 tokens; 50 concurrent requests without max_tokens,
    then more until refused: every upstream call carried a max_tokens, the recorded spend
    never passes the budget, and every refusal is budget_exceeded."""
    fake.set_reply("gpt-4o", "word " * 1000)  # $0.01 an answer at $10/M out
    budget = Decimal("0.0500")
    raw = key_with(budget_usd=budget)
    responses = asyncio.run(burst(live_app.url, raw, 50, stream=stream))
    for _ in range(10):  # the budget runs out one capped answer at a time
        responses += asyncio.run(burst(live_app.url, raw, 1, stream=stream))
    ok = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    assert ok and refused
    assert {r.json()["error"]["code"] for r in refused} == {"budget_exceeded"}
    assert all(r.body.get("max_tokens") for r in fake.requests)
    records.writer.flush(10)
    spent = sum(r.cost_usd for r in UsageRecord.objects.filter(status="ok"))
    assert Decimal("0.01") <= spent <= budget


def test_budget_concurrent_requests_never_overspend(
    live_app: LiveServer, fake: FakeUpstream
) -> None:
    """N concurrent requests against a budget for K of them: K succeed, spend stays within it."""
    fake.set_reply("gpt-4o", "word " * 300)  # every answer really uses its 100 reserved tokens
    raw = key_with(budget_usd=Decimal("0.0011"))
    # each request reserves ~ (4 input + 100 output) tokens: 4*2.5e-6 + 100*1e-5 = $0.00101
    responses = asyncio.run(burst(live_app.url, raw, 8, max_tokens=100))
    assert sum(r.status_code == 200 for r in responses) == 1
    records.writer.flush(10)
    spent = sum(r.cost_usd for r in UsageRecord.objects.filter(status="ok"))
    assert spent <= Decimal("0.0011")


@pytest.fixture
def cached_route() -> Route:
    route = Route.objects.create(slug="cached", strategy="fallback", cache_ttl_seconds=60)
    RouteTarget.objects.create(route=route, model="fakeai/gpt-4o")
    return route


def test_cache_hit_costs_nothing_and_says_so(
    client: openai.OpenAI, fake: FakeUpstream, cached_route: Route
) -> None:
    """The second identical request is a hit: no upstream call, $0, and what it saved recorded."""
    first = client.chat.completions.with_raw_response.create(
        model="route/cached", messages=MESSAGES
    )
    second = client.chat.completions.with_raw_response.create(
        model="route/cached", messages=MESSAGES
    )
    assert first.headers["x-switchyard-cache"] == "miss"
    assert second.headers["x-switchyard-cache"] == "hit"
    assert float(second.headers["x-switchyard-cost-usd"]) == 0
    assert second.parse().choices[0].message.content == first.parse().choices[0].message.content
    assert len(fake.requests) == 1
    records.writer.flush(10)
    hit = UsageRecord.objects.filter(cache_hit=True).get()
    assert hit.cost_usd == 0 and hit.saved_usd > 0


def test_stream_answered_from_cache(
    client: openai.OpenAI, fake: FakeUpstream, cached_route: Route
) -> None:
    """A streamed request can be served from the cache, as a stream."""
    plain = client.chat.completions.create(model="route/cached", messages=MESSAGES)
    chunks = list(
        client.chat.completions.create(model="route/cached", messages=MESSAGES, stream=True)
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content
    assert len(fake.requests) == 1


def test_no_cache_bypasses_and_no_store_skips_writing(
    live_app: LiveServer, api_key: str, fake: FakeUpstream, cached_route: Route
) -> None:
    """Cache-Control: no-store does not write; no-cache does not read."""

    def post(cache_control: str) -> httpx.Response:
        return httpx.post(
            f"{live_app.url}/v1/chat/completions",
            timeout=30,
            headers={"authorization": f"Bearer {api_key}", "cache-control": cache_control},
            json={"model": "route/cached", "messages": MESSAGES},
        )

    assert post("no-store").headers["x-switchyard-cache"] == "miss"
    assert post("no-cache").headers["x-switchyard-cache"] == "miss"  # not read, but written
    assert post("").headers["x-switchyard-cache"] == "hit"
    assert len(fake.requests) == 2


def test_errors_and_truncated_streams_are_not_cached(
    client: openai.OpenAI, fake: FakeUpstream, cached_route: Route
) -> None:
    """A failed call or a stream cut mid-way leaves nothing in the cache."""
    fake.add_fault("gpt-4o", Fault.cut_after(2))
    with pytest.raises(openai.APIError):
        list(client.chat.completions.create(model="route/cached", messages=MESSAGES, stream=True))
    raw = client.chat.completions.with_raw_response.create(model="route/cached", messages=MESSAGES)
    assert raw.headers["x-switchyard-cache"] == "miss"


def test_temperature_above_zero_not_cached_unless_route_opts_in(
    client: openai.OpenAI, fake: FakeUpstream, cached_route: Route
) -> None:
    """By default answers sampled with temperature > 0 are not cached."""
    for _ in range(2):
        client.chat.completions.create(model="route/cached", messages=MESSAGES, temperature=0.7)
    assert len(fake.requests) == 2
    cached_route.cache_nondeterministic = True
    cached_route.save()
    for _ in range(2):
        client.chat.completions.create(model="route/cached", messages=MESSAGES, temperature=0.7)
    assert len(fake.requests) == 3


def test_provider_quota_falls_back_before_the_upstream_429(
    client: openai.OpenAI, fake: FakeUpstream
) -> None:
    """A model at its own quota is skipped for the next one instead of hitting the provider."""
    Model.objects.filter(model_id="gpt-4o").update(rpm=1)
    route = Route.objects.create(slug="quota", strategy="fallback")
    RouteTarget.objects.create(route=route, position=0, model="fakeai/gpt-4o")
    RouteTarget.objects.create(route=route, position=1, model="fakeai/gpt-4o-mini")
    models = [
        client.chat.completions.create(model="route/quota", messages=MESSAGES).model
        for _ in range(3)
    ]
    assert models == ["fakeai/gpt-4o", "fakeai/gpt-4o-mini", "fakeai/gpt-4o-mini"]
    assert [r.model for r in fake.requests].count("gpt-4o") == 1


def test_provider_quota_throttles_a_direct_request(client: openai.OpenAI) -> None:
    """With no other model to go to, the quota answers 429 with Retry-After."""
    Provider.objects.filter(slug="fakeai").update(rpm=1)
    client.chat.completions.create(model="fakeai/gpt-4o", messages=MESSAGES)
    with pytest.raises(openai.RateLimitError) as err:
        client.chat.completions.create(model="fakeai/gpt-4o", messages=MESSAGES)
    assert err.value.code == "upstream_quota"
    assert err.value.response.headers["retry-after"]


async def test_local_cache_is_bounded_by_bytes() -> None:
    """The in-process response cache never holds more than its byte budget."""
    from routing.guards import state

    local = state.LocalState()
    for i in range(200):
        await local.set_bytes(f"k{i}", b"x" * 50_000, 60)
    assert local._size <= state.LOCAL_CACHE_BYTES
    assert await local.get_bytes("k199") is not None and await local.get_bytes("k0") is None


def test_model_token_quota_falls_back(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """A model whose token quota the request would pass is skipped for the next model."""
    Model.objects.filter(model_id="gpt-4o").update(tpm=1500)
    route = Route.objects.create(slug="tokens", strategy="fallback")
    RouteTarget.objects.create(route=route, position=0, model="fakeai/gpt-4o")
    RouteTarget.objects.create(route=route, position=1, model="fakeai/gpt-4o-mini")
    first = client.chat.completions.create(model="route/tokens", messages=MESSAGES, max_tokens=1000)
    second = client.chat.completions.create(
        model="route/tokens", messages=MESSAGES, max_tokens=1000
    )
    assert (first.model, second.model) == ("fakeai/gpt-4o", "fakeai/gpt-4o-mini")


def test_budget_caps_every_choice_of_n(live_app: LiveServer, fake: FakeUpstream) -> None:
    """n=3 is three whole answers (three calls to an Anthropic model): $0.01 at $15/M out
    pays ~220 tokens each, not ~660; the spend stays within the budget."""
    Model.objects.filter(model_id="claude-3-5-sonnet-20241022").update(
        input_price=3, output_price=15
    )  # as genai-prices records it
    fake.set_reply("claude-3-5-sonnet-20241022", "word " * 2000)
    response = sdk(live_app, key_with(budget_usd=Decimal("0.01"))).chat.completions.create(
        model="fakeanthropic/claude-3-5-sonnet-20241022", messages=MESSAGES, n=3, max_tokens=1000
    )
    sent = [r.body["max_tokens"] for r in fake.requests]
    assert len(sent) == 3 and len(response.choices) == 3
    assert all(150 <= tokens <= 222 for tokens in sent)
    records.writer.flush(10)
    assert sum(r.cost_usd for r in UsageRecord.objects.filter(status="ok")) <= Decimal("0.01")
