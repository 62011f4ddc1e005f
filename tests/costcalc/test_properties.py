"""Property tests of the projection: linear in volume, baseline = baseline cost, no NaN."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costcalc.forms import BaseQueryTypes  # noqa: F401  (import check: forms load)
from costcalc.prices import request_cost
from costcalc.projection import Env, project
from costcalc.workload import (
    DEFAULT_TYPES,
    Modifiers,
    QueryType,
    Workload,
    share_problem,
)

NAMES = ["faq", "code", "creative", "analysis", "multilingual", "structured", "reasoning", "misc"]
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def workloads(draw: st.DrawFn) -> Workload:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True))
    weights = [draw(st.integers(1, 100)) for _ in names]
    total = sum(weights)
    shares = [Decimal(w) * 100 / total for w in weights]
    types = tuple(
        QueryType(n, s, draw(st.integers(0, 50_000)), draw(st.integers(0, 8_000)))
        for n, s in zip(names, shares)
    )
    mods = Modifiers(
        cache_hit_rate=Decimal(draw(st.integers(0, 100))) / 100,
        fallback_rate=Decimal(draw(st.integers(0, 100))) / 100,
        processing=draw(st.sampled_from(["standard", "batch", "flex"])),
    )
    return Workload(
        requests=draw(st.integers(1, 10_000_000)),
        types=types,
        budget_usd=Decimal(draw(st.integers(1, 10_000))) / 100_000,
        modifiers=mods,
    )


@SETTINGS
@given(workload=workloads(), factor=st.integers(2, 1000))
def test_spend_scales_linearly_with_volume(env: Env, workload: Workload, factor: int) -> None:
    """k times the requests costs k times as much under every policy."""
    small = project(workload, env)
    big = project(workload.scaled(factor), env)
    for a, b in zip(small.policies, big.policies):
        assert abs(b.monthly - a.monthly * factor) <= Decimal("1e-12") * max(b.monthly, 1)


@SETTINGS
@given(workload=workloads())
def test_no_policy_is_negative_or_nan(env: Env, workload: Workload) -> None:
    """Every policy's spend is a finite, non-negative number."""
    for p in project(workload, env).policies:
        assert p.monthly.is_finite() and p.monthly >= 0
        assert p.rejected >= 0 and p.unpriced_requests >= 0


@SETTINGS
@given(workload=workloads())
def test_baseline_equals_baseline_cost(env: Env, workload: Workload) -> None:
    """With no modifiers the baseline is sum(requests x one request on the baseline model)."""
    plain = Workload(workload.requests, workload.types)
    result = project(plain, env)
    expected = sum(
        seg.requests
        * request_cost("openai:gpt-4o", seg.input_tokens, seg.output_tokens, 0, (), env.day)
        for seg in plain.segments()
    )
    assert abs(result.baseline.monthly - expected) <= Decimal("1e-12") * max(expected, 1)


@SETTINGS
@given(workload=workloads())
def test_requests_are_conserved(env: Env, workload: Workload) -> None:
    """Normalised shares: every request is answered, cached or rejected exactly once."""
    result = project(workload, env)
    for p in result.policies:
        counted = sum((n for n, _ in p.by("model").values()), Decimal(0)) + p.rejected
        assert abs(counted - workload.requests) <= Decimal("1e-9") * workload.requests


@given(shares=st.lists(st.decimals(0, 100, places=2), min_size=1, max_size=8))
def test_shares_are_normalised_or_rejected(shares: list[Decimal]) -> None:
    """Shares within 0.5 points of 100 % are normalised exactly; others are rejected."""
    types = tuple(QueryType(f"t{i}", s, 100, 100) for i, s in enumerate(shares))
    workload = Workload(1_000_000, types)
    problem = share_problem(types)
    if abs(sum(shares) - 100) > Decimal("0.5"):
        assert problem is not None
    else:
        assert problem is None
        if sum(shares) > 0:
            total = sum(s.requests for s in workload.segments())
            assert abs(total - 1_000_000) < Decimal("1e-15")


def test_default_types_sum_to_100() -> None:
    """The defaults give a meaningful answer with no typing."""
    assert share_problem(DEFAULT_TYPES) is None
