"""The policies as pure functions: an in-memory snapshot, no network, no database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from routing.catalog import ModelEntry, ProviderEntry, RouteEntry, Snapshot, TargetEntry
from routing.complexity import ComplexityScore
from routing.engine.live import score_prompt
from routing.engine.policies import LatencyStats, PolicyInput, plan_for
from routing.errors import GatewayError


def provider(slug: str, region: str = "us") -> ProviderEntry:
    return ProviderEntry(slug, slug.title(), "openai", "http://x", "k", True, "", region)


def model(mid: str, price_in: str, price_out: str, region: str = "us") -> ModelEntry:
    slug, _, name = mid.partition("/")
    return ModelEntry(
        mid,
        provider(slug, region),
        name,
        name,
        128000,
        Decimal(price_in),
        Decimal(price_out),
        None,
        True,
        f"x:{name}",
        region,
        "",
    )


MODELS = {
    m.id: m
    for m in [
        model("cheap/small", "0.1", "0.4", "cn"),
        model("mid/medium", "0.5", "1.5"),
        model("big/large", "2.5", "10"),
        model("eu/model", "1", "3", "eu"),
    ]
}


def snap(*routes: RouteEntry) -> Snapshot:
    return Snapshot(1, MODELS, {"small": "cheap/small"}, {}, {r.slug: r for r in routes})


RULES = RouteEntry(
    "rules",
    "rules",
    (
        TargetEntry(
            "big/large", "code", None, {"max_tokens": 2048, "temperature": 0.2}, ("mid/medium",)
        ),
        TargetEntry("cheap/small", "", None, {"max_tokens": 256}),
    ),
    fallbacks=("big/large",),
)
BANDS = RouteEntry(
    "auto",
    "complexity",
    (
        TargetEntry("cheap/small", max_score=0.3),
        TargetEntry("mid/medium", max_score=0.6),
        TargetEntry("big/large"),
    ),
    estimator="heuristic",
)
BUDGET = RouteEntry(
    "budget",
    "budget",
    (
        TargetEntry("big/large"),
        TargetEntry("mid/medium"),
        TargetEntry("cheap/small"),
    ),
    max_cost_usd=Decimal("0.001"),
)
FAST = RouteEntry(
    "fast",
    "latency",
    (TargetEntry("big/large"), TargetEntry("mid/medium"), TargetEntry("cheap/small")),
)


def ids(plan: object) -> list[str]:
    return [a.model.id for a in plan.attempts]  # type: ignore[attr-defined]


def test_direct_model_and_alias() -> None:
    """A model name plans exactly that model; an alias resolves to its canonical id."""
    assert ids(plan_for(PolicyInput("big/large"), snap())) == ["big/large"]
    assert ids(plan_for(PolicyInput("small"), snap())) == ["cheap/small"]


def test_unknown_route_is_404() -> None:
    """An unknown route names itself in a 404 route_not_found."""
    with pytest.raises(GatewayError) as err:
        plan_for(PolicyInput("route/nope"), snap())
    assert err.value.status == 404 and err.value.code == "route_not_found"


def test_rules_pick_by_query_type_with_params_and_fallbacks() -> None:
    """A rule names its model, parameters and own fallback chain, then the route's."""
    plan = plan_for(PolicyInput("route/rules", query_type="code"), snap(RULES))
    assert ids(plan) == ["big/large", "mid/medium"]
    assert plan.attempts[0].params == {"max_tokens": 2048, "temperature": 0.2}
    assert plan.reason == "query_type=code -> big/large"


def test_rules_default_rule() -> None:
    """Without a matching query type the default rule answers, then the route's fallbacks."""
    plan = plan_for(PolicyInput("route/rules", query_type="poetry"), snap(RULES))
    assert ids(plan) == ["cheap/small", "big/large"]
    assert "default" in plan.reason


def by_length(name: str, prompt: str) -> ComplexityScore:
    """A transparent stand-in estimator: the score is the prompt length over 100 characters."""
    return ComplexityScore(min(1.0, len(prompt) / 100), {"chars": len(prompt)}, "length", "length")


@pytest.mark.parametrize(
    ("length", "expected"),
    [(10, "cheap/small"), (30, "mid/medium"), (59, "mid/medium"), (95, "big/large")],
)
def test_complexity_bands_follow_the_score(length: int, expected: str) -> None:
    """Scores map through the thresholds; the decision shows the score and its features."""
    plan = plan_for(
        PolicyInput("route/auto", prompt="x" * length), snap(BANDS), estimator=by_length
    )
    assert ids(plan)[0] == expected
    band = ["cheap/small", "mid/medium", "big/large"].index(expected)
    assert plan.reason == (
        f"complexity={length / 100:.2f} by length, band {band + 1}/3 (chars={length}) -> {expected}"
    )
    assert plan.extra["band"] == band  # the dry run marks this band


def test_complexity_with_the_shipped_estimator() -> None:
    """The real estimator scores a hard prompt above a trivial one and the plan records it."""
    easy = plan_for(PolicyInput("route/auto", prompt="hi"), snap(BANDS), estimator=score_prompt)
    hard = plan_for(
        PolicyInput("route/auto", prompt="Prove that sqrt(2) is irrational. " * 5),
        snap(BANDS),
        estimator=score_prompt,
    )
    assert 0 <= easy.extra["score"] < hard.extra["score"] <= 1


def test_budget_picks_most_capable_that_fits() -> None:
    """The budget policy keeps the models whose estimated cost fits, most capable first."""
    inp = PolicyInput("route/budget", input_tokens=1000, output_tokens=100)
    # big: 1000*2.5e-6 + 100*1e-5 = 0.0035 > 0.001; mid: 0.0005 + 0.00015 = 0.00065 fits
    assert ids(plan_for(inp, snap(BUDGET))) == ["mid/medium", "cheap/small"]
    rich = PolicyInput(
        "route/budget", input_tokens=1000, output_tokens=100, max_cost_usd=Decimal("1")
    )
    assert ids(plan_for(rich, snap(BUDGET)))[0] == "big/large"


def test_budget_too_small_is_a_clear_400() -> None:
    """No model fits: 400 naming the budget parameter."""
    inp = PolicyInput("route/budget", input_tokens=10**6, max_cost_usd=Decimal("0.0001"))
    with pytest.raises(GatewayError) as err:
        plan_for(inp, snap(BUDGET))
    assert err.value.status == 400 and err.value.param == "metadata.max_cost_usd"


def test_latency_prefers_the_fastest_measured_model() -> None:
    """Live moving averages decide; unmeasured models come after the measured ones."""
    stats = {"big/large": LatencyStats(900, 40, 5), "mid/medium": LatencyStats(120, 90, 5)}
    plan = plan_for(PolicyInput("route/fast", output_tokens=100), snap(FAST), latency=stats)
    assert ids(plan) == ["mid/medium", "big/large", "cheap/small"]
    assert plan.reason.startswith("fastest: mid/medium")


def test_regions_restrict_every_attempt_including_fallbacks() -> None:
    """A key limited to a region never gets a model outside it, fallbacks included."""
    inp = PolicyInput("route/rules", query_type="poetry", allowed_regions=frozenset({"us"}))
    plan = plan_for(inp, snap(RULES))
    assert ids(plan) == ["big/large"]
    assert "cheap/small: region cn not allowed" in plan.reason


def test_region_restriction_with_no_model_left_is_503() -> None:
    """If the restriction removes every target, the answer is 503 with the reasons."""
    inp = PolicyInput("route/auto", prompt="hi", allowed_regions=frozenset({"mars"}))
    with pytest.raises(GatewayError) as err:
        plan_for(inp, snap(BANDS), estimator=score_prompt)
    assert err.value.status == 503 and "region" in err.value.message


def test_direct_model_outside_key_region_is_refused() -> None:
    """A direct request for a model outside the key's regions is a 403."""
    with pytest.raises(GatewayError) as err:
        plan_for(PolicyInput("cheap/small", allowed_regions=frozenset({"eu"})), snap())
    assert err.value.status == 403 and err.value.code == "region_not_allowed"
