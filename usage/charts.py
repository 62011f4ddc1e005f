"""The numbers the dashboard's charts draw, as plain JSON (rendered with ``json_script``).

Spend is in USD as floats; calls with an unknown price are not in any spend series (the
page says how many there are). The stacked daily chart keeps the models with the most
spend and folds the rest into "other".
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .reports import Group, ModelGroup, Percentiles, Report

TOP_MODELS = 8
OTHER = "other"


def _usd(value: Decimal | float) -> float:
    return round(float(value), 6)


def spend_by_day(report: Report) -> list[dict[str, Any]]:
    """One stacked series per model (the top ones by spend, then "other")."""
    priced = [g.label for g in report.by_model if g.spend.known > 0]
    shown = set(priced[:TOP_MODELS])
    index = {d.day: i for i, d in enumerate(report.days)}
    series: dict[str, list[float]] = {}
    for (day, model), spend in report.day_model.items():
        if spend.known and day in index:
            name = model if model in shown else OTHER
            values = series.setdefault(name, [0.0] * len(report.days))
            values[index[day]] += float(spend.known)
    order = [m for m in priced[:TOP_MODELS] if m in series] + ([OTHER] if OTHER in series else [])
    return [{"label": m, "data": [_usd(v) for v in series[m]]} for m in order]


def _bars(groups: list[Group] | list[ModelGroup]) -> dict[str, list[Any]]:
    priced = [g for g in groups if g.spend.known > 0]
    return {
        "labels": [g.label for g in priced],
        "values": [g.value for g in priced],  # the request log's filter value of each bar
        "data": [_usd(g.spend.known) for g in priced],
    }


def _percentiles(groups: list[ModelGroup], attr: str) -> dict[str, list[Any]]:
    rows: list[tuple[ModelGroup, Percentiles]] = [
        (g, p) for g in groups if (p := getattr(g, attr)) is not None
    ]
    return {
        "labels": [g.label for g, _ in rows],
        "values": [g.value for g, _ in rows],
        "p50": [round(p.p50, 1) for _, p in rows],
        "p90": [round(p.p90, 1) for _, p in rows],
        "p99": [round(p.p99, 1) for _, p in rows],
    }


def chart_data(report: Report) -> dict[str, Any]:
    days = report.days
    return {
        "days": [d.day.isoformat() for d in days],
        "spendByDay": spend_by_day(report),
        "requestsByDay": {
            "ok": [d.ok for d in days],
            "error": [d.errors for d in days],
            "cancelled": [d.cancelled for d in days],
            "cacheHits": [d.cache_hits for d in days],
        },
        "spendByModel": _bars(report.by_model),
        "spendByKey": _bars(report.by_key),
        "spendByRoute": _bars(report.by_route),
        "latency": _percentiles(report.by_model, "latency"),
        "ttft": _percentiles(report.by_model, "ttft"),
        "hours": _hours(report),
    }


def _hours(report: Report) -> dict[str, list[Any]] | None:
    """A one-day range: requests by status and spend, per hour."""
    if not report.hours:
        return None
    hours = report.hours
    return {
        "labels": [h.label for h in hours],
        "ok": [h.ok for h in hours],
        "error": [h.errors for h in hours],
        "cancelled": [h.cancelled for h in hours],
        "spend": [_usd(h.spend.known) for h in hours],
    }
