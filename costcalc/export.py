"""A projection as plain data: JSON for ``format=json``, rows for ``format=csv``, chart data.

Money is rounded to cents (per-request figures to 1e-6 USD) only here, at the edge.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from routing.engine.policies import projected

from .calculator import Outcome
from .projection import CACHE, PolicyResult, Projection
from .workload import TYPE_LABELS, Workload

CENT = Decimal("0.01")


def money(value: Decimal) -> float:
    return float(value.quantize(CENT))


def _breakdown(policy: PolicyResult, attribute: str) -> list[dict[str, Any]]:
    name = "query_type" if attribute == "query_type" else "model"
    return [
        {name: key, "requests": round(float(n), 2), "monthly_usd": money(cost)}
        for key, (n, cost) in policy.by(attribute).items()
    ]


def policy_dict(projection: Projection, policy: PolicyResult) -> dict[str, Any]:
    saved, pct = projection.savings(policy)
    data = {
        "key": policy.key,
        "label": policy.label,
        "detail": policy.detail,
        "monthly_usd": money(policy.monthly),
        "annual_usd": money(policy.annual),
        "savings_usd": money(saved),
        "annual_savings_usd": money(saved * 12),
        "savings_pct": None if pct is None else round(float(pct), 2),
        "rejected_requests": round(float(policy.rejected), 2),
        "refusals": policy.extra.get("refusals", []),
        "unpriced_requests": round(float(policy.unpriced_requests), 2),
        "by_query_type": _breakdown(policy, "query_type"),
        "by_model": _breakdown(policy, "model"),
    }
    for name in ("strong_share", "strong_threshold"):
        if name in policy.extra:
            data[name] = policy.extra[name]
    return data


def workload_dict(workload: Workload) -> dict[str, Any]:
    m = workload.modifiers
    return {
        "requests_per_month": workload.requests,
        "baseline": workload.baseline,
        "budget_usd_per_request": float(workload.budget_usd),
        "routes": {s.name: workload.route(s.name) for s in projected()},
        "query_types": [
            {
                "name": t.name,
                "share_pct": float(t.share),
                "input_tokens": t.input_tokens,
                "output_tokens": t.output_tokens,
            }
            for t in workload.types
        ],
        "modifiers": {
            "cache_hit_rate": float(m.cache_hit_rate),
            "fallback_rate": float(m.fallback_rate),
            "processing": m.processing,
            "on_baseline": m.on_baseline,
        },
    }


def traffic_dict(outcome: Outcome) -> dict[str, Any] | None:
    t = outcome.traffic
    if t is None:
        return None
    return {
        "from": t.start.isoformat(),
        "to": t.end.isoformat(),
        "requests": t.requests,
        "replayed_requests": t.replayed,
        "cache_hits": t.cache_hits,
        "failed_requests": t.failed,
        "unpriced_requests": t.unpriced,
        "paid_usd": money(t.paid),
    }


def to_dict(outcome: Outcome) -> dict[str, Any]:
    projection, workload = outcome.projection, outcome.workload
    assert projection is not None and workload is not None
    return {
        "price_data": projection.prices,
        "reference_day": projection.day.isoformat(),
        "source": "traffic" if outcome.traffic else "workload",
        "prompts": projection.prompts_label,
        "prompts_key": projection.prompts_key,
        "workload": workload_dict(workload),
        "traffic": traffic_dict(outcome),
        "processing": projection.processing_notes,
        "policies": [_with_paid(policy_dict(projection, p), outcome) for p in projection.policies],
    }


def _with_paid(data: dict[str, Any], outcome: Outcome) -> dict[str, Any]:
    """Traffic replays: how much more (positive) or less each policy would have cost."""
    if outcome.traffic is not None:
        data["vs_paid_usd"] = round(data["monthly_usd"] - money(outcome.traffic.paid), 2)
    return data


CSV_HEADER = [
    "policy",
    "query_type",
    "model",
    "requests_per_month",
    "monthly_usd",
    "annual_usd",
    "savings_vs_baseline_usd",
    "price_data",
]


def to_csv(outcome: Outcome) -> str:
    """One row per (policy, query type, model) and one TOTAL row per policy."""
    projection = outcome.projection
    assert projection is not None
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for policy in projection.policies:
        cells: dict[tuple[str, str], list[Decimal]] = {}
        for line in policy.lines:
            acc = cells.setdefault((line.query_type, line.model), [Decimal(0), Decimal(0)])
            acc[0] += line.requests
            acc[1] += line.cost or 0
        for (qt, model), (n, cost) in cells.items():
            writer.writerow(
                [
                    policy.key,
                    qt,
                    model,
                    f"{n:.2f}",
                    money(cost),
                    money(cost * 12),
                    "",
                    projection.prices,
                ]
            )
        saved, _ = projection.savings(policy)
        writer.writerow(
            [
                policy.key,
                "TOTAL",
                "",
                f"{projection.requests:.2f}",
                money(policy.monthly),
                money(policy.annual),
                money(saved),
                projection.prices,
            ]
        )
    return out.getvalue()


def chart_data(outcome: Outcome) -> dict[str, Any]:
    """Data for the page's charts: policies stacked by model, and per-policy breakdowns."""
    projection = outcome.projection
    assert projection is not None
    models: list[str] = []
    for policy in projection.policies:
        models += [m for m in policy.by("model") if m not in models and m != CACHE]
    stacked = [
        {
            "label": model,
            "data": [
                money(p.by("model").get(model, (0, Decimal(0)))[1]) for p in projection.policies
            ],
        }
        for model in models
    ]
    return {
        "policies": [p.label for p in projection.policies],
        "stacked": stacked,
        "by_type": {
            p.key: {qt: money(c) for qt, (_, c) in p.by("query_type").items()}
            for p in projection.policies
        },
        "curves": outcome.curves,
        "type_labels": TYPE_LABELS,
    }
