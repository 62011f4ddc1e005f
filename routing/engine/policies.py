"""Policies: pure functions from (request, routing table, catalog) to a plan.

No I/O here, so the cost calculator and the admin dry-run run them freely. Each strategy
returns the ordered models to try and a reason; `plan_for` adds fallbacks, applies the
region restrictions to every attempt, and builds the plan.

`STRATEGIES` is the one registry of strategies: an entry says how a strategy chooses, how a
route of it is validated, whether it fans out, its label and how the cost calculator
projects it. The route model's choices, the route validation, the gateway, batch jobs and
the calculator all read it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from routing.catalog import RouteEntry, Snapshot, TargetEntry
from routing.engine.plan import Attempt, Plan
from routing.errors import GatewayError, invalid

ROUTE_PREFIX = "route/"


@dataclass(frozen=True)
class PolicyInput:
    """What a policy may look at: the request, reduced to plain values."""

    model: str
    prompt: str = ""
    query_type: str = ""
    max_cost_usd: Decimal | None = None
    max_latency_ms: float | None = None
    input_tokens: int = 0
    output_tokens: int | None = None
    allowed_regions: frozenset[str] = frozenset()


@dataclass(frozen=True)
class LatencyStats:
    ttft_ms: float
    tokens_per_second: float
    samples: int


@dataclass
class Choice:
    """A strategy's pick: (model id, target params, rule fallbacks) in order, and why."""

    picks: list[tuple[str, dict[str, Any], tuple[str, ...]]]
    reason: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    snapshot: Snapshot
    latency: Mapping[str, LatencyStats]
    estimator: Callable[[str, str], Any] | None


def route_not_found(slug: str) -> GatewayError:
    return GatewayError(
        404, f"The route '{slug}' does not exist.", code="route_not_found", param="model"
    )


def _pick(target: TargetEntry) -> tuple[str, dict[str, Any], tuple[str, ...]]:
    return (target.model, target.params, target.fallbacks)


def rules(route: RouteEntry, inp: PolicyInput, ctx: Context) -> Choice:
    wanted = inp.query_type.strip().lower()
    default = None
    for target in route.targets:
        if wanted and target.query_type == wanted:
            return Choice([_pick(target)], f"query_type={wanted} -> {target.model}")
        if not target.query_type and default is None:
            default = target
    if default is None:
        raise invalid(
            f"Route '{route.slug}' has no rule for query type '{wanted or '(none)'}' "
            "and no default rule.",
            param="metadata.query_type",
        )
    label = f"query_type={wanted} (no rule, default)" if wanted else "default rule"
    return Choice([_pick(default)], f"{label} -> {default.model}")


def complexity(route: RouteEntry, inp: PolicyInput, ctx: Context) -> Choice:
    if ctx.estimator is None:
        raise GatewayError(503, "No complexity estimator is available.", "server_error")
    score = ctx.estimator(route.estimator, inp.prompt)
    band = next(
        (
            i
            for i, t in enumerate(route.targets)
            if t.max_score is None or score.value < t.max_score
        ),
        len(route.targets) - 1,
    )
    chosen = route.targets[band]
    features = ", ".join(f"{k}={_fmt(v)}" for k, v in list(score.features.items())[:4])
    part = getattr(score, "part", "") or "heuristic"  # which part of the estimator scored it
    bands = f"band {band + 1}/{len(route.targets)}"
    reason = f"complexity={score.value:.2f} by {part}, {bands} ({features}) -> {chosen.model}"
    extra = {"score": score.value, "features": score.features, "band": band, "part": part}
    return Choice([_pick(chosen)], reason, extra)


def decision_part(decision: str) -> str:
    """The estimator part named in a complexity decision ("" when it names none, e.g. an
    older record)."""
    head, sep, rest = decision.partition(" by ")
    if not sep or not head.startswith("complexity="):
        return ""
    return rest.split(",", 1)[0]


def _fmt(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def budget(route: RouteEntry, inp: PolicyInput, ctx: Context) -> Choice:
    limit = inp.max_cost_usd if inp.max_cost_usd is not None else route.max_cost_usd
    if limit is None:
        raise invalid(
            f"Route '{route.slug}' needs a budget: send metadata.max_cost_usd.",
            param="metadata.max_cost_usd",
        )
    fitting, notes = [], []
    for target in route.targets:
        model = ctx.snapshot.resolve(target.model)
        attempt = Attempt(model, target.params) if model else None
        cost = attempt.estimate_cost(inp.input_tokens, inp.output_tokens) if attempt else None
        if cost is None:
            notes.append(f"{target.model} unpriced")
        elif cost <= limit:
            fitting.append((target, cost))
        else:
            notes.append(f"{target.model} ${cost:.5f} > budget")
    if not fitting:
        raise GatewayError(
            400,
            f"No model of route '{route.slug}' fits the budget of ${limit} ({'; '.join(notes)}).",
            code="no_model_within_budget",
            param="metadata.max_cost_usd",
        )
    best, cost = fitting[0]
    reason = f"budget=${limit}: {best.model} est ${cost:.5f} fits"
    picks: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
        (t.model, t.params, ()) for t, _ in fitting
    ]
    return Choice(picks, reason, {"estimated_cost": float(cost)})


def fallback(route: RouteEntry, inp: PolicyInput, ctx: Context) -> Choice:
    chain = [t.model for t in route.targets]
    return Choice([_pick(t) for t in route.targets], "fallback chain " + " > ".join(chain))


def _expected_ms(stats: LatencyStats | None, output_tokens: int) -> float | None:
    if stats is None or stats.tokens_per_second <= 0:
        return None
    return stats.ttft_ms + 1000 * output_tokens / stats.tokens_per_second


def latency(route: RouteEntry, inp: PolicyInput, ctx: Context) -> Choice:
    output = inp.output_tokens or 256
    known: list[tuple[float, TargetEntry]] = []
    unknown: list[tuple[None, TargetEntry]] = []
    for target in route.targets:
        expected = _expected_ms(ctx.latency.get(target.model), output)
        if expected is None:
            unknown.append((expected, target))
        else:
            known.append((expected, target))
    known.sort(key=lambda pair: pair[0])
    if inp.max_latency_ms is not None:
        known = [p for p in known if p[0] <= inp.max_latency_ms] or known[:1]
    # Models never measured go after the measured ones so they get traffic and a measurement.
    ordered = [t for _, t in known] + [t for _, t in unknown]
    if known:
        ms, best = known[0]
        stats = ctx.latency[best.model]
        reason = (
            f"fastest: {best.model} ttft {stats.ttft_ms:.0f} ms, "
            f"{stats.tokens_per_second:.0f} tok/s, ~{ms:.0f} ms"
        )
    else:
        reason = f"fastest: no measurements yet -> {ordered[0].model}"
    return Choice([_pick(t) for t in ordered], reason)


def ensemble(route: RouteEntry, inp: PolicyInput, ctx: Context) -> Choice:
    names = [t.model for t in route.targets]
    extra = {"judge": route.judge_model} if route.judge_model else {}
    return Choice([_pick(t) for t in route.targets], "ensemble of " + ", ".join(names), extra)


def rules_problems(targets: list[dict[str, Any]], where: str) -> list[str]:
    problems, seen = [], set()
    for i, t in enumerate(targets):
        kind = (t.get("query_type") or "").strip().lower()
        if kind in seen:
            label = f"query type '{kind}'" if kind else "the default rule"
            problems.append(
                f"{where}.targets[{i}].query_type: overlaps an earlier rule for {label}"
            )
        seen.add(kind)
    return problems


def complexity_problems(targets: list[dict[str, Any]], where: str) -> list[str]:
    problems, previous = [], 0.0
    for i, t in enumerate(targets):
        bound = t.get("max_score")
        last = i == len(targets) - 1
        if bound is None and not last:
            problems.append(
                f"{where}.targets[{i}].max_score: only the last band may be unbounded; "
                "the targets after it are unreachable"
            )
        elif bound is not None and not (isinstance(bound, int | float) and previous < bound <= 1):
            problems.append(
                f"{where}.targets[{i}].max_score: must rise above {previous} and be at most 1"
            )
        elif bound is not None:
            previous = bound
    return problems


def ensemble_problems(targets: list[dict[str, Any]], where: str) -> list[str]:
    return [] if len(targets) >= 2 else [f"{where}.targets: an ensemble needs at least two models"]


def no_problems(targets: list[dict[str, Any]], where: str) -> list[str]:
    return []


@dataclass(frozen=True)
class Projection:
    """How the cost calculator projects a route of this strategy over a workload."""

    label: str  # the policy's name on the page, e.g. "Rule-based"
    field_label: str  # the route picker's label
    default_route: str
    detail: str  # shown under the policy; may use {route} and {budget}
    per_prompt: bool = False  # plan every sample prompt (their scores), not once per type
    budget: bool = False  # plan with the workload's per-request budget
    rejects: str = ""  # an error code that means "refused" (counted, not a problem)


Choose = Callable[[RouteEntry, PolicyInput, Context], Choice]
Problems = Callable[[list[dict[str, Any]], str], list[str]]


@dataclass(frozen=True)
class Strategy:
    """One routing strategy: how it chooses, how its targets are validated, whether its
    plan fans out (every attempt at once, no route fallbacks, no streaming), its label in
    the admin and how the cost calculator projects it (None: not projected)."""

    name: str
    label: str
    choose: Choose
    problems: Problems = no_problems
    fans_out: bool = False
    projection: Projection | None = None


STRATEGIES: dict[str, Strategy] = {
    entry.name: entry
    for entry in (
        Strategy(
            "rules",
            "Rules by query type",
            rules,
            rules_problems,
            projection=Projection(
                "Rule-based", "Rule-based route", "by-type", "route/{route} by query type"
            ),
        ),
        Strategy(
            "complexity",
            "Prompt complexity",
            complexity,
            complexity_problems,
            projection=Projection(
                "Complexity-based",
                "Complexity route",
                "auto",
                "route/{route} on prompt complexity",
                per_prompt=True,
            ),
        ),
        Strategy(
            "budget",
            "Most capable within budget",
            budget,
            projection=Projection(
                "Budget-based",
                "Budget route",
                "budget",
                "route/{route}, ${budget} per request",
                budget=True,
                rejects="no_model_within_budget",
            ),
        ),
        Strategy("fallback", "Fallback chain", fallback),
        Strategy("latency", "Fastest (live latency)", latency),
        Strategy("ensemble", "Ensemble (fan out)", ensemble, ensemble_problems, fans_out=True),
    )
}


def choices() -> list[tuple[str, str]]:
    """(name, label) of every strategy: the route model's choices."""
    return [(entry.name, entry.label) for entry in STRATEGIES.values()]


def projected() -> list[Strategy]:
    """The strategies the cost calculator projects, in registry order."""
    return [entry for entry in STRATEGIES.values() if entry.projection is not None]


def allowed_regions(route_regions: frozenset[str], key_regions: frozenset[str]) -> frozenset[str]:
    if route_regions and key_regions:
        return route_regions & key_regions or frozenset({"(none)"})
    return route_regions or key_regions


def _attempts(
    choice: Choice, route: RouteEntry | None, snapshot: Snapshot, regions: frozenset[str]
) -> tuple[list[Attempt], list[str]]:
    ordered: list[tuple[str, dict[str, Any]]] = []
    for model_id, params, rule_fallbacks in choice.picks:
        ordered.append((model_id, params))
        ordered += [(name, {}) for name in rule_fallbacks]
    if route is not None and not STRATEGIES[route.strategy].fans_out:
        ordered += [(name, {}) for name in route.fallbacks]
    attempts, excluded, seen = [], [], set()
    for name, params in ordered:
        model = snapshot.resolve(name)
        if model is None or model.id in seen:
            if model is None:
                excluded.append(f"{name}: not in catalog")
            continue
        seen.add(model.id)
        if regions and model.region.lower() not in regions:
            excluded.append(f"{model.id}: region {model.region or '?'} not allowed")
            continue
        attempts.append(Attempt(model, params))
    return attempts, excluded


def plan_route(slug: str, inp: PolicyInput, ctx: Context) -> Plan:
    route = ctx.snapshot.routes.get(slug)
    if route is None or not route.enabled:
        raise route_not_found(slug)
    if not route.targets:
        raise GatewayError(
            503, f"Route '{slug}' has no targets.", "service_unavailable", "no_available_model"
        )
    strategy = STRATEGIES[route.strategy]
    choice = strategy.choose(route, inp, ctx)
    regions = allowed_regions(route.allowed_regions, inp.allowed_regions)
    attempts, excluded = _attempts(choice, route, ctx.snapshot, regions)
    reason = choice.reason + (f" [excluded: {'; '.join(excluded)}]" if excluded else "")
    if not attempts:
        raise GatewayError(
            503,
            f"No model of route '{slug}' is available: {'; '.join(excluded)}.",
            "service_unavailable",
            "no_available_model",
        )
    return Plan(
        tuple(attempts),
        route=slug,
        reason=reason,
        strategy=route.strategy,
        extra=choice.extra,
        fans_out=strategy.fans_out,
        first_token_timeout=route.first_token_timeout,
        judge=ctx.snapshot.resolve(choice.extra["judge"]) if choice.extra.get("judge") else None,
    )


def plan_direct(inp: PolicyInput, snapshot: Snapshot) -> Plan:
    """A request that names a model: that model, nothing else."""
    model = snapshot.resolve(inp.model)
    if model is None:
        raise snapshot.not_found(inp.model)
    if inp.allowed_regions and model.region.lower() not in inp.allowed_regions:
        raise GatewayError(
            403,
            f"This key may not use {model.id} (region {model.region}).",
            "permission_error",
            "region_not_allowed",
            "model",
        )
    return Plan(attempts=(Attempt(model),), reason=f"direct -> {model.id}")


def plan_for(
    inp: PolicyInput,
    snapshot: Snapshot,
    latency: Mapping[str, LatencyStats] | None = None,
    estimator: Callable[[str, str], Any] | None = None,
) -> Plan:
    name = snapshot.alias_target(inp.model)  # an admin alias may name a route
    if name.startswith(ROUTE_PREFIX):
        ctx = Context(snapshot, latency or {}, estimator)
        return plan_route(name[len(ROUTE_PREFIX) :], inp, ctx)
    return plan_direct(inp, snapshot)
