"""Projection against hand-computed cases: one model, rules, budget, modifiers."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from costcalc.projection import CACHE, Env, project
from costcalc.workload import Modifiers, QueryType, Workload

D = Decimal


def single(requests: int, inp: int, out: int, name: str = "chat", **kw: object) -> Workload:
    return Workload(requests=requests, types=(QueryType(name, D(100), inp, out),), **kw)  # type: ignore[arg-type]


def policy(projection, key):  # type: ignore[no-untyped-def]
    return next(p for p in projection.policies if p.key == key)


def test_hand_computed_gpt4o(env: Env) -> None:
    """100,000 x (500 in + 200 out) on $2.50/$10.00 per million is $325.00 a month, $3,900 a year."""
    result = project(single(100_000, 500, 200), env)
    assert result.baseline.monthly == D("325.00")
    assert result.baseline.annual == D("3900.00")


def test_savings_against_baseline(env: Env) -> None:
    """Savings are baseline minus policy, in dollars and percent of the baseline."""
    result = project(single(100_000, 500, 200, name="creative"), env)
    rules = policy(result, "rules")  # creative -> gpt-4o (max_tokens 1024 does not bite)
    assert rules.monthly == D("325.00")
    assert result.savings(rules) == (D(0), D(0))


def test_rules_follow_the_routing_table_and_cap_output(env: Env) -> None:
    """faq goes to deepseek-chat with max_tokens 256 capping a 1,000-token average."""
    result = project(single(1_000, 100, 1_000, name="faq"), env)
    rules = policy(result, "rules")
    assert list(rules.by("model")) == ["deepseek/deepseek-chat"]
    # DeepSeek time-of-day prices: 16 h at 0.27/1.10, 8 h off-peak at 0.135/0.55 per million.
    peak = D("0.27") * 100 + D("1.10") * 256
    off = D("0.135") * 100 + D("0.55") * 256
    expected = (peak * 16 + off * 8) / 24 / 1_000_000 * 1_000
    assert abs(rules.monthly - expected) < D("1e-12")


def test_unknown_query_type_uses_the_default_rule(env: Env) -> None:
    """A query type with no rule falls to the route's default rule (deepseek-chat)."""
    rules = policy(project(single(10, 100, 100, name="poetry"), env), "rules")
    assert list(rules.by("model")) == ["deepseek/deepseek-chat"]


def test_budget_picks_most_capable_fitting_model(env: Env) -> None:
    """$0.01 fits gpt-4o for 500/200 tokens ($0.00325): everything stays on gpt-4o."""
    result = project(single(100_000, 500, 200, budget_usd=D("0.01")), env)
    assert policy(result, "budget").monthly == D("325.00")


def test_budget_rejects_requests_no_model_fits(env: Env) -> None:
    """A budget below the cheapest model's estimate rejects every request, at $0."""
    result = project(single(1_000, 100_000, 1_000, budget_usd=D("0.000001")), env)
    budget = policy(result, "budget")
    assert budget.rejected == D(1_000)
    assert budget.monthly == 0


def test_cache_hits_cost_nothing(env: Env) -> None:
    """A 20 % hit rate takes 20 % off and shows the hits as their own line."""
    mods = Modifiers(cache_hit_rate=D("0.2"))
    result = project(single(100_000, 500, 200, modifiers=mods), env)
    assert result.baseline.monthly == D("260.00")
    assert result.baseline.by("model")[CACHE] == (D(20_000), D(0))


def test_fallback_pays_input_again_on_next_model(env: Env) -> None:
    """10 % fail over: they pay gpt-4o input, then the whole request on the next model."""
    mods = Modifiers(fallback_rate=D("0.1"))
    result = project(single(100_000, 500, 200, name="creative", modifiers=mods), env)
    rules = policy(result, "rules")  # creative: gpt-4o, falls back to qwen3-32b
    gpt_input = D("2.5") * 500 / 1_000_000
    qwen = (D("0.14") * 500 + D("0.40") * 200) / 1_000_000  # OpenRouter: flat price
    expected = 100_000 * (D("0.9") * D("0.00325") + D("0.1") * (gpt_input + qwen))
    by_model = rules.by("model")
    assert set(by_model) == {"openai/gpt-4o", "qwen/qwen3-32b"}
    assert abs(rules.monthly - expected) < D("1e-9")


def test_baseline_without_modifiers(env: Env) -> None:
    """'none' keeps the baseline at list price while the policies get the cache."""
    mods = Modifiers(cache_hit_rate=D("0.5"), on_baseline=False)
    result = project(single(100_000, 500, 200, name="creative", modifiers=mods), env)
    assert result.baseline.monthly == D("325.00")
    assert policy(result, "rules").monthly == D("162.50")


def test_batch_prices_where_the_data_has_them(env: Env) -> None:
    """Batch halves gpt-4o's price (a genai-prices variant); models without one keep theirs."""
    mods = Modifiers(processing="batch")
    result = project(single(100_000, 500, 200, modifiers=mods), env)
    assert result.baseline.monthly == D("162.50")
    assert "openai/gpt-4o" in result.processing_notes["discounted"]


def test_complexity_split_comes_from_the_estimator(env: Env) -> None:
    """The complexity policy spreads requests over the auto route's bands, summing to 100 %."""
    result = project(single(1_000, 500, 200, name="reasoning"), env)
    complexity = policy(result, "complexity")
    routed = {m for m in complexity.by("model")}
    assert routed <= {
        "deepseek/deepseek-chat",
        "qwen/qwen3-32b",
        "deepseek/deepseek-reasoner",
        "openai/gpt-4o",
    }
    assert abs(sum(n for n, _ in complexity.by("model").values()) - D(1_000)) < D("1e-20")
    assert 0 <= complexity.extra["strong_share"] <= 1


def test_unpriced_model_is_flagged_not_zero(env: Env, snapshot) -> None:  # type: ignore[no-untyped-def]
    """A rule on a model with no known price counts its requests as unpriced."""
    from tests.costcalc.conftest import build_snapshot

    route = {
        "slug": "odd",
        "strategy": "rules",
        "targets": [{"model": "acme/unpriced", "query_type": ""}],
    }
    odd = Env(build_snapshot([route]), env.prompts, env.day)
    result = project(single(1_000, 500, 200, routes={"rules": "odd"}), odd)
    rules = policy(result, "rules")
    assert rules.unpriced_requests == D(1_000)
    assert rules.monthly == 0


def test_segments_override_for_traffic(env: Env) -> None:
    """Replayed segments replace the workload's own mix."""
    from costcalc.workload import Segment

    segs = [Segment("creative", D(100_000), 500, 200)]
    result = project(replace(single(1, 1, 1)), env, segs)
    assert result.baseline.monthly == D("325.00")
    assert result.requests == D(100_000)


def test_rules_route_without_default_refuses_unknown_types(env: Env) -> None:
    """A rules route with no default rule refuses other types, as the gateway does (no 500)."""
    from tests.costcalc.conftest import build_snapshot

    route = {
        "slug": "strict",
        "strategy": "rules",
        "targets": [{"model": "openai/gpt-4o", "query_type": "faq"}],
    }
    strict = Env(build_snapshot([route]), env.prompts, env.day)
    result = project(single(1_000, 500, 200, name="poetry", routes={"rules": "strict"}), strict)
    rules = policy(result, "rules")
    assert rules.rejected == D(1_000) and rules.monthly == 0
    assert "poetry" in rules.extra["refusals"][0]
