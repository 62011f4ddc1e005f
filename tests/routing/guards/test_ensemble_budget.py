"""Budgets that cannot be overspent, for ensembles: every member and the judge are capped to
what the key's reservation pays for (routing/guards/budget_cap.py), through the SDK and the
fake upstream."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import openai
import pytest

from routing.catalog import RouteEntry, TargetEntry, pricing
from routing.engine.ensemble import JUDGE_PROMPT
from routing.engine.plan import JUDGE_LABEL_TOKENS, JUDGE_OUTPUT_TOKENS, JUDGE_PROMPT_TOKENS
from routing.engine.policies import PolicyInput, plan_for
from routing.guards import budget_cap
from routing.models import ApiKey, Model, Provider, Route, RouteTarget
from routing.transport import records
from tests.conftest import LiveServer
from tests.fake_upstream import FakeUpstream, Recorded
from tests.routing.engine.test_policies import snap
from usage.models import UsageRecord

pytestmark = pytest.mark.usefixtures("providers")
MESSAGES = [{"role": "user", "content": "compare these please"}]
ROUTE = "route/judged"
HEADER = "x-switchyard-budget-max-tokens"


@pytest.fixture
def judged(providers: dict[str, Provider], fake: FakeUpstream) -> Route:
    """Two members and a judge, all gpt-4o (priced by genai-prices as the gateway estimates
    it, $2.50 in and $10 out per million): the spend can then reach what was reserved."""
    twin = providers["openai"]  # a copy of fakeai and its gpt-4o, under another slug
    twin.pk, twin.slug = None, "fakealt"
    twin.save()
    model = Model.objects.get(provider__slug="fakeai", model_id="gpt-4o")
    model.pk, model.provider = None, twin
    model.save()
    route = Route.objects.create(slug="judged", strategy="ensemble", judge_model="fakeai/gpt-4o")
    for position, model in enumerate(["fakeai/gpt-4o", "fakealt/gpt-4o"]):
        RouteTarget.objects.create(route=route, position=position, model=model)
    return route


def sdk(live_app: LiveServer, **limits: Any) -> openai.OpenAI:
    _, raw = ApiKey.issue("ensemble", **limits)
    return openai.OpenAI(base_url=f"{live_app.url}/v1", api_key=raw, max_retries=0, timeout=30)


async def burst(url: str, raw: str, n: int) -> list[httpx.Response]:
    payload = {"model": ROUTE, "messages": MESSAGES}
    headers = {"authorization": f"Bearer {raw}"}
    async with httpx.AsyncClient(timeout=30) as http:
        url = f"{url}/v1/chat/completions"
        calls = [http.post(url, json=payload, headers=headers) for _ in range(n)]
        return await asyncio.gather(*calls)


def judge_calls(fake: FakeUpstream) -> list[Recorded]:
    return [r for r in fake.requests if "You are judging" in str(r.body["messages"])]


def member_calls(fake: FakeUpstream) -> list[Recorded]:
    return [r for r in fake.requests if "You are judging" not in str(r.body["messages"])]


def spent() -> Decimal:
    records.writer.flush(10)
    return sum((r.cost_usd for r in UsageRecord.objects.filter(status="ok")), Decimal(0))


def test_a_judged_ensembles_worst_cost_counts_the_judge() -> None:
    """Members at their limit, plus the judge reading the question and both whole answers
    (with its instructions) and writing at most JUDGE_OUTPUT_TOKENS."""
    route = RouteEntry(
        "ens",
        "ensemble",
        (TargetEntry("big/large"), TargetEntry("mid/medium")),
        judge_model="big/large",
    )
    unjudged = RouteEntry("bare", "ensemble", route.targets)
    inp = PolicyInput("route/ens", input_tokens=100, output_tokens=200)
    plan = plan_for(inp, snap(route, unjudged))
    members = Decimal(100 * 2.5 + 200 * 10 + 100 * 0.5 + 200 * 1.5) / 1_000_000
    bare = plan_for(PolicyInput("route/bare", input_tokens=100, output_tokens=200), snap(unjudged))
    assert bare.worst_cost(100, 200) == members
    judge = plan.worst_cost(100, 200) - members  # type: ignore[operator]
    reads = 100 + 2 * 200  # at least the question and both answers
    assert judge >= Decimal(reads * 2.5 + JUDGE_OUTPUT_TOKENS * 10) / 1_000_000
    assert judge <= Decimal(2 * reads * 2.5 + JUDGE_OUTPUT_TOKENS * 10) / 1_000_000


def test_the_judges_instructions_fit_what_is_counted_for_them() -> None:
    """The judge's prompt without question and answers, and one answer's label, estimated
    with the input margin, stay within the tokens Plan.judge_cost counts for them."""
    bare = pricing.estimate_tokens(len(JUDGE_PROMPT.format(question="", answers="")))
    label = pricing.estimate_tokens(len("Answer 15:\n\n\n"))
    assert bare * budget_cap.INPUT_MARGIN + budget_cap.INPUT_SLACK <= JUDGE_PROMPT_TOKENS
    assert label * budget_cap.INPUT_MARGIN <= JUDGE_LABEL_TOKENS


def test_members_and_judge_go_upstream_capped(
    live_app: LiveServer, fake: FakeUpstream, judged: Route
) -> None:
    """$0.01 pays a few hundred tokens per member: both members get the same cap (the header
    says it), the judge gets JUDGE_OUTPUT_TOKENS, and the call costs no more than $0.01."""
    fake.set_reply("gpt-4o", "word " * 2000)
    response = sdk(live_app, budget_usd=Decimal("0.01")).chat.completions.with_raw_response.create(
        model=ROUTE, messages=MESSAGES, max_tokens=1000
    )
    sent = {r.body["max_tokens"] for r in member_calls(fake)}
    assert len(member_calls(fake)) == 2 and len(sent) == 1
    cap = sent.pop()
    assert 200 <= cap < 400
    assert response.headers[HEADER] == str(cap)
    assert [r.body["max_tokens"] for r in judge_calls(fake)] == [JUDGE_OUTPUT_TOKENS]
    assert Decimal(response.headers["x-switchyard-cost-usd"]) <= Decimal("0.01")
    assert spent() <= Decimal("0.01")


def test_without_a_budget_only_the_judge_is_limited(
    live_app: LiveServer, fake: FakeUpstream, judged: Route
) -> None:
    """No budget: the members go as the client asked (no limit), the judge still writes at
    most JUDGE_OUTPUT_TOKENS, and no budget header."""
    response = sdk(live_app).chat.completions.with_raw_response.create(
        model=ROUTE, messages=MESSAGES
    )
    assert [r.body.get("max_tokens") for r in member_calls(fake)] == [None, None]
    assert [r.body["max_tokens"] for r in judge_calls(fake)] == [JUDGE_OUTPUT_TOKENS]
    assert HEADER not in response.headers


def test_too_small_a_budget_is_refused_before_any_upstream_call(
    live_app: LiveServer, fake: FakeUpstream, judged: Route
) -> None:
    """$0.0008 pays both members' 16-token answers (~$0.0004) but not the judge as well
    (~$0.001 more: it reads both answers and may write 64 tokens): budget_exceeded, and the
    fake upstream saw nothing."""
    with pytest.raises(openai.RateLimitError) as err:
        sdk(live_app, budget_usd=Decimal("0.0008")).chat.completions.create(
            model=ROUTE, messages=MESSAGES, max_tokens=16
        )
    assert err.value.code == "budget_exceeded"
    assert fake.requests == []


def test_a_streaming_ensemble_is_refused_clearly(
    live_app: LiveServer, fake: FakeUpstream, judged: Route
) -> None:
    """Ensembles do not stream: a 400 naming `stream`, before any upstream call."""
    with pytest.raises(openai.BadRequestError) as err:
        sdk(live_app, budget_usd=Decimal("1")).chat.completions.create(
            model=ROUTE, messages=MESSAGES, stream=True
        )
    assert err.value.param == "stream" and "stream=false" in err.value.message
    assert fake.requests == []


def test_concurrent_ensembles_without_max_tokens_stay_within_budget(
    live_app: LiveServer, fake: FakeUpstream, judged: Route
) -> None:
    """A budget for about 5 judged answers (~$0.026 each: two 1,000-token answers and a judge
    reading both); 40 concurrent requests without max_tokens, then more one at a time until
    refused: every member and judge call carried a limit, every refusal is budget_exceeded,
    and the recorded spend never passes the budget."""
    fake.set_reply("gpt-4o", "word " * 1000)
    budget = Decimal("0.13")
    _, raw = ApiKey.issue("ensemble", budget_usd=budget)
    responses = asyncio.run(burst(live_app.url, raw, 40))
    for _ in range(12):  # the budget runs out one capped ensemble at a time
        responses += asyncio.run(burst(live_app.url, raw, 1))
    ok = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    assert ok and refused
    assert {r.json()["error"]["code"] for r in refused} == {"budget_exceeded"}
    assert all(r.body.get("max_tokens") for r in fake.requests)
    assert {r.body["max_tokens"] for r in judge_calls(fake)} == {JUDGE_OUTPUT_TOKENS}
    total = spent()
    print(f"ensembles: {len(ok)} answered, {len(refused)} refused, spent {total} of {budget}")
    assert budget * Decimal("0.7") <= total <= budget
