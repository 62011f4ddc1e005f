"""Monthly spend of a workload under each routing policy. Pure: no requests, no database.

Each policy is the gateway's own ``routing.engine.policies.plan_for`` run over the workload;
the policies besides the baseline are the strategies whose registry entry
(``routing.engine.policies.STRATEGIES``) has a ``projection``:

- baseline: every request names the baseline model (a direct plan);
- rules: the rules route (``by-type``) planned once per query type;
- complexity: the complexity route (``auto``) planned once per sample or uploaded prompt,
  with the scores the gateway's estimators gave those prompts; the share of prompts that
  lands on each model is the split of that query type's requests;
- budget: the budget route with the per-request budget; requests no model fits are
  rejected by the gateway (400) and cost nothing, and are counted.

The first attempt of a plan answers; its ``max_tokens`` caps the output tokens. Every
(query type, model) cell is priced once for an average request with
:func:`costcalc.prices.request_cost` and multiplied by its request count.

Modifiers, applied per request:

- cache hit rate ``h``: hits are answered by the gateway's cache and cost $0;
- fallback rate ``f``: a failed-over request pays its input tokens on the failed model
  (billed when the provider timed out after reading the prompt; a 429 is not billed, so
  this is an upper bound) and then the whole request on the plan's next model (the same
  model again when the plan has no other);
- processing: batch / flex / priority prices where the price data has them, standard
  prices elsewhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from routing.catalog import ModelEntry, Snapshot
from routing.catalog.pricing import prices_label
from routing.engine.plan import Plan
from routing.engine.policies import PolicyInput, Strategy, plan_for, projected
from routing.errors import GatewayError

from .prices import has_variant, request_cost
from .prompts import PromptPool, ScoredPrompt
from .workload import NO_MODIFIERS, Modifiers, Segment, Workload

CACHE = "(cache hit)"
ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True)
class Env:
    """What a projection reads besides the workload."""

    snapshot: Snapshot
    prompts: PromptPool
    day: dt.date


@dataclass(frozen=True)
class Pick:
    """Where one request goes: the answering model, and where it fails over to."""

    model: ModelEntry
    output_tokens: int
    next_model: ModelEntry
    next_output_tokens: int


@dataclass(frozen=True)
class Line:
    query_type: str
    model: str
    requests: Decimal
    cost: Decimal | None  # None: the model has no known price


@dataclass
class PolicyResult:
    key: str
    label: str
    detail: str
    lines: list[Line] = field(default_factory=list)
    rejected: Decimal = ZERO  # requests the gateway would refuse (no model fits the budget)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def monthly(self) -> Decimal:
        return sum((line.cost for line in self.lines if line.cost is not None), ZERO)

    @property
    def annual(self) -> Decimal:
        return self.monthly * 12

    @property
    def unpriced_requests(self) -> Decimal:
        return sum((line.requests for line in self.lines if line.cost is None), ZERO)

    def by(self, attribute: str) -> dict[str, tuple[Decimal, Decimal]]:
        """{query type or model: (requests, cost)}, in first-seen order."""
        out: dict[str, tuple[Decimal, Decimal]] = {}
        for line in self.lines:
            key = getattr(line, attribute)
            requests, cost = out.get(key, (ZERO, ZERO))
            out[key] = (requests + line.requests, cost + (line.cost or ZERO))
        return out


@dataclass
class Projection:
    policies: list[PolicyResult]
    requests: Decimal
    modifiers: Modifiers
    day: dt.date
    prompts_label: str
    prompts_key: str
    processing_notes: dict[str, list[str]] = field(default_factory=dict)
    prices: str = field(default_factory=prices_label)

    @property
    def baseline(self) -> PolicyResult:
        return self.policies[0]

    def savings(self, policy: PolicyResult) -> tuple[Decimal, Decimal | None]:
        """(monthly $ saved against the baseline, % saved or None for a $0 baseline)."""
        saved = self.baseline.monthly - policy.monthly
        base = self.baseline.monthly
        return saved, (saved / base * 100 if base else None)


def _cap(output_tokens: int, params: dict[str, Any]) -> int:
    limit = params.get("max_tokens")
    return min(output_tokens, int(limit)) if limit else output_tokens


def pick_of(plan: Plan, seg: Segment) -> Pick:
    first = plan.attempts[0]
    nxt = plan.attempts[1] if len(plan.attempts) > 1 else first
    out = seg.output_tokens
    return Pick(first.model, _cap(out, first.params), nxt.model, _cap(out, nxt.params))


def _inp(route: str, seg: Segment, **kw: Any) -> PolicyInput:
    return PolicyInput(
        model=f"route/{route}",
        query_type=seg.query_type,
        input_tokens=seg.input_tokens,
        output_tokens=seg.output_tokens,
        **kw,
    )


Mix = list[tuple[Decimal, Pick]]  # (share of the segment's requests, pick); [] = rejected
PicksFn = Callable[[Workload, Segment, Env], Mix]


def baseline_mix(workload: Workload, seg: Segment, env: Env) -> Mix:
    plan = plan_for(PolicyInput(model=workload.baseline), env.snapshot)
    return [(ONE, pick_of(plan, seg))]


@dataclass(frozen=True)
class StoredScore:
    """A complexity score computed earlier by the same estimator (see ``prompts.score``)."""

    value: float
    features: dict[str, float] = field(default_factory=dict)


def _stored(prompts: tuple[ScoredPrompt, ...]) -> Callable[[str, str], StoredScore]:
    def estimator(name: str, key: str) -> StoredScore:
        return StoredScore(prompts[int(key)].scores[name or "learned"])

    return estimator


def per_prompt_mix(route: str, seg: Segment, env: Env, **kw: Any) -> Mix:
    """The route planned once per sample prompt of the query type, with the scores the
    gateway's estimators gave them; each prompt's pick takes an equal share."""
    prompts = env.prompts.for_type(seg.query_type)
    estimator = _stored(prompts)
    counts: dict[tuple[str, int, str, int], tuple[int, Pick]] = {}
    for index in range(len(prompts)):
        inp = _inp(route, seg, prompt=str(index), **kw)
        pick = pick_of(plan_for(inp, env.snapshot, estimator=estimator), seg)
        key = (pick.model.id, pick.output_tokens, pick.next_model.id, pick.next_output_tokens)
        counts[key] = (counts.get(key, (0, pick))[0] + 1, pick)
    total = Decimal(len(prompts))
    return [(Decimal(n) / total, pick) for n, pick in counts.values()]


def route_mix(strategy: Strategy) -> PicksFn:
    """How the policy of a projected strategy sends a segment's requests (its registry
    entry's `projection` says whether it plans per prompt, with the budget, and which
    refusal counts as a rejected request)."""
    projection = strategy.projection
    assert projection is not None

    def mix(workload: Workload, seg: Segment, env: Env) -> Mix:
        route = workload.route(strategy.name)
        kw = {"max_cost_usd": workload.budget_usd} if projection.budget else {}
        if projection.per_prompt:
            return per_prompt_mix(route, seg, env, **kw)
        try:
            plan = plan_for(_inp(route, seg, **kw), env.snapshot)
        except GatewayError as exc:
            if projection.rejects and exc.code == projection.rejects:
                return []  # expected: counted as rejected, without a note per query type
            raise
        return [(ONE, pick_of(plan, seg))]

    return mix


def _price(model: ModelEntry, seg: Segment, output: int, mods: Modifiers, env: Env) -> Any:
    context = tuple(sorted((mods.price_context or {}).items()))
    inp, cached = seg.input_tokens, seg.cached_tokens
    return request_cost(model.prices_ref, inp, output, cached, context, env.day)


def _add(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    return None if a is None or b is None else a + b


def lines_for(seg: Segment, share: Decimal, pick: Pick, mods: Modifiers, env: Env) -> list[Line]:
    """The cells of one pick: first model, failover model, cache hits."""
    n = seg.requests * share
    hit, fail = mods.cache_hit_rate, mods.fallback_rate
    served = n * (ONE - hit)
    full = _price(pick.model, seg, pick.output_tokens, mods, env)
    lines = []
    if fail:
        failed = _price(pick.model, replace_output(seg), 0, mods, env)
        nxt = _price(pick.next_model, seg, pick.next_output_tokens, mods, env)
        first = _add(_mul(full, ONE - fail), _mul(failed, fail))
        lines.append(
            Line(seg.query_type, pick.model.id, served * (ONE - fail), _mul(first, served))
        )
        lines.append(
            Line(seg.query_type, pick.next_model.id, served * fail, _mul(nxt, served * fail))
        )
    else:
        lines.append(Line(seg.query_type, pick.model.id, served, _mul(full, served)))
    if hit:
        lines.append(Line(seg.query_type, CACHE, n * hit, ZERO))
    return lines


def replace_output(seg: Segment) -> Segment:
    return Segment(seg.query_type, seg.requests, seg.input_tokens, 0, seg.cached_tokens)


def _mul(a: Decimal | None, b: Decimal) -> Decimal | None:
    return None if a is None else a * b


@dataclass(frozen=True)
class PolicyDef:
    key: str
    label: str
    mix: PicksFn
    detail: Callable[[Workload], str]
    per_prompt: bool = False  # its split over models is charted against the quality curve


def _detail(strategy: Strategy) -> Callable[[Workload], str]:
    text = strategy.projection.detail if strategy.projection else strategy.label

    def detail(w: Workload) -> str:
        return text.format(route=w.route(strategy.name), budget=f"{w.budget_usd.normalize():f}")

    return detail


def _policy(strategy: Strategy) -> PolicyDef:
    label = strategy.projection.label if strategy.projection else strategy.label
    per_prompt = bool(strategy.projection and strategy.projection.per_prompt)
    return PolicyDef(strategy.name, label, route_mix(strategy), _detail(strategy), per_prompt)


BASELINE = PolicyDef("baseline", "Baseline", baseline_mix, lambda w: f"everything on {w.baseline}")


def policies() -> list[PolicyDef]:
    """The baseline, then one policy per projected strategy of the registry."""
    return [BASELINE, *(_policy(strategy) for strategy in projected())]


def run_policy(
    policy: PolicyDef, workload: Workload, segments: list[Segment], env: Env
) -> PolicyResult:
    mods = workload.modifiers
    if policy.key == "baseline" and not mods.on_baseline:
        mods = NO_MODIFIERS
    result = PolicyResult(policy.key, policy.label, policy.detail(workload))
    for seg in segments:
        try:
            mix = policy.mix(workload, seg, env)
        except GatewayError as exc:  # the gateway would refuse these requests too
            result.extra.setdefault("refusals", []).append(f"{seg.query_type}: {exc.message}")
            mix = []
        if not mix:
            result.rejected += seg.requests
        for share, pick in mix:
            result.lines += lines_for(seg, share, pick, mods, env)
    return result


def strong_share(result: PolicyResult, env: Env, route: str) -> float | None:
    """Share of answered requests on the complexity route's last (strongest) band."""
    entry = env.snapshot.routes.get(route)
    strong = env.snapshot.resolve(entry.targets[-1].model) if entry and entry.targets else None
    answered = [ln for ln in result.lines if ln.model != CACHE]
    total = sum((ln.requests for ln in answered), ZERO)
    if strong is None or not total:
        return None
    return float(sum((ln.requests for ln in answered if ln.model == strong.id), ZERO) / total)


def strong_threshold(env: Env, route: str) -> float | None:
    """The score from which the complexity route picks its strongest band."""
    entry = env.snapshot.routes.get(route)
    if entry is None or len(entry.targets) < 2:
        return None
    return entry.targets[-2].max_score


def _processing_notes(results: list[PolicyResult], mods: Modifiers, env: Env) -> dict:
    context = tuple(sorted((mods.price_context or {}).items()))
    if not context:
        return {}
    models = sorted({ln.model for r in results for ln in r.lines if ln.model != CACHE})
    notes: dict[str, list[str]] = {"discounted": [], "standard": []}
    for model_id in models:
        entry = env.snapshot.resolve(model_id)
        ok = entry is not None and has_variant(entry.prices_ref, context, env.day)
        notes["discounted" if ok else "standard"].append(model_id)
    return notes


def project(workload: Workload, env: Env, segments: list[Segment] | None = None) -> Projection:
    """Every policy over the workload (or over ``segments``, e.g. replayed traffic)."""
    segs = workload.segments() if segments is None else segments
    defs = policies()
    results = [run_policy(p, workload, segs, env) for p in defs]
    for policy, result in zip(defs, results, strict=True):
        if policy.per_prompt:
            route = workload.route(policy.key)
            result.extra["strong_share"] = strong_share(result, env, route)
            result.extra["strong_threshold"] = strong_threshold(env, route)
    return Projection(
        policies=results,
        requests=sum((s.requests for s in segs), ZERO),
        modifiers=workload.modifiers,
        day=env.day,
        prompts_label=env.prompts.label,
        prompts_key=env.prompts.key,
        processing_notes=_processing_notes(results, workload.modifiers, env),
    )
