"""Aggregates of usage/reports.py, checked against values counted by hand (see conftest)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from usage import charts, reports
from usage.models import UsageRecord
from usage.reports import DIRECT, NO_KEY, NO_MODEL, DateRange, Percentiles, Spend

from .conftest import D1, D2, D3, DEEPSEEK, GPT, RANGE, UNPRICED, failed, ok, record

pytestmark = pytest.mark.usefixtures("traffic")


@pytest.fixture
def report() -> reports.Report:
    return reports.build(RANGE)


def by_label(groups: list[reports.Group]) -> dict[str, reports.Group]:
    return {g.label: g for g in groups}


def test_totals(report: reports.Report) -> None:
    """Requests, statuses, spend, unpriced calls, cache and fallbacks over the whole range."""
    t = report.totals
    assert (t.requests, t.ok, t.errors, t.cancelled) == (10, 7, 2, 1)
    assert t.spend == Spend(Decimal("2.6875"), 1)
    assert (t.cache_hits, t.saved) == (1, Decimal("0.125"))
    assert (t.input_tokens, t.output_tokens) == (110, 55)
    assert (t.upstream_requests, t.fallbacks, t.fallbacks_answered) == (8, 3, 2)
    assert t.error_rate == pytest.approx(0.2)
    assert t.cache_hit_rate == pytest.approx(0.1)
    assert t.fallback_rate == pytest.approx(3 / 8)


def test_range_is_inclusive_and_excludes_neighbours() -> None:
    """Both end days count; records a microsecond before or at midnight after do not."""
    assert reports.build(DateRange(D2, D2)).totals.requests == 3
    wider = reports.build(DateRange(D1 - dt.timedelta(days=1), D3 + dt.timedelta(days=1)))
    assert wider.totals.requests == 12


def test_by_day_fills_every_day(report: reports.Report) -> None:
    """One row per calendar day, zeros included, with its spend and statuses."""
    days = {d.day: d for d in report.days}
    assert list(days) == [D1, D2, D3]
    assert (days[D1].requests, days[D1].spend) == (3, Spend(Decimal("1.5"), 0))
    assert (days[D2].requests, days[D2].spend, days[D2].cache_hits) == (
        3,
        Spend(Decimal("0.125"), 1),
        1,
    )
    assert (days[D3].requests, days[D3].errors, days[D3].cancelled, days[D3].ok) == (4, 2, 1, 1)
    assert days[D3].spend == Spend(Decimal("1.0625"), 0)
    empty = reports.build(DateRange(D3, D3 + dt.timedelta(days=2))).days
    assert [d.requests for d in empty] == [4, 1, 0]  # the +1 day record sits at 00:00 of D3+1


def test_by_model_with_percentiles(report: reports.Report) -> None:
    """Answering model: spend, errors, and nearest-rank latency/TTFT of answered calls only."""
    assert [g.label for g in report.by_model] == [GPT, DEEPSEEK, NO_MODEL, UNPRICED]
    models = by_label(report.by_model)
    gpt = models[GPT]
    assert (gpt.requests, gpt.cancelled, gpt.spend) == (5, 1, Spend(Decimal("2.5625"), 0))
    # ok, not cached: latencies 1000, 2000, 3000, 1500 (the cancelled 4000 is left out)
    assert gpt.latency == Percentiles(4, 1500, 3000, 3000)
    assert gpt.ttft == Percentiles(4, 250, 600, 600)
    deepseek = models[DEEPSEEK]
    assert (deepseek.requests, deepseek.cache_hits, deepseek.saved) == (2, 1, Decimal("0.125"))
    assert deepseek.latency == Percentiles(1, 500, 500, 500)  # the cache hit's 5 ms is out
    unpriced = models[UNPRICED]
    assert unpriced.spend == Spend(Decimal(0), 1)
    assert (unpriced.latency, unpriced.ttft) == (Percentiles(1, 3000, 3000, 3000), None)
    none = models[NO_MODEL]
    assert (none.requests, none.errors, none.latency) == (2, 2, None)


def test_by_key(report: reports.Report) -> None:
    """Each key by name and prefix; requests without a key are grouped apart."""
    alpha, beta, nokey = report.by_key
    assert alpha.label.startswith("alpha (sy-") and beta.label.startswith("beta (sy-")
    assert nokey.label == NO_KEY
    assert (alpha.requests, alpha.errors, alpha.spend) == (5, 1, Spend(Decimal("1.75"), 1))
    assert (beta.requests, beta.errors, beta.spend, beta.saved) == (
        4, 1, Spend(Decimal("0.875"), 0), Decimal("0.125"),
    )  # fmt: skip
    assert (nokey.requests, nokey.spend) == (1, Spend(Decimal("0.0625"), 0))


def test_by_route_and_source(report: reports.Report) -> None:
    """Routes (direct model requests apart) and sources, most spend first."""
    routes = [(g.label, g.requests, g.spend) for g in report.by_route]
    assert routes == [
        (DIRECT, 5, Spend(Decimal("1.5625"), 1)),
        ("ens", 1, Spend(Decimal("0.75"), 0)),
        ("chat", 4, Spend(Decimal("0.375"), 0)),
    ]
    sources = [(g.label, g.requests, g.spend) for g in report.by_source]
    assert sources == [
        ("API", 7, Spend(Decimal("2.5"), 0)),
        ("Playground", 2, Spend(Decimal("0.1875"), 0)),
        ("Batch", 1, Spend(Decimal(0), 1)),
    ]


def test_empty_range() -> None:
    """A range without traffic is empty, has zero rows per day and no rates."""
    report = reports.build(DateRange(dt.date(2020, 1, 1), dt.date(2020, 1, 2)))
    assert report.empty and report.by_model == [] and report.by_key == []
    assert [d.requests for d in report.days] == [0, 0]
    assert (report.totals.error_rate, report.totals.fallback_rate) == (None, None)


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([1, 2, 3, 4], 50, 2),
        (list(range(1, 11)), 90, 9),
        (list(range(1, 101)), 99, 99),
        (list(range(1, 101)), 50, 50),
        ([7], 99, 7),
        ([1, 2], 1, 1),
    ],
)
def test_percentile_nearest_rank(values: list[int], p: int, expected: int) -> None:
    """Nearest rank, without float error at exact ranks (90% of 10 is rank 9)."""
    assert reports.percentile(values, p) == expected


def test_percentile_of_nothing() -> None:
    """No values: no percentiles."""
    assert reports.percentiles([]) is None
    with pytest.raises(ValueError):
        reports.percentile([], 50)


@pytest.mark.parametrize(
    ("attempts", "expected"),
    [
        ([], False),
        ([ok(GPT)], False),
        ([failed(GPT)], False),  # a plain error, nothing else tried
        ([ok(GPT), ok(DEEPSEEK)], False),  # ensemble members
        ([failed(DEEPSEEK), ok(GPT)], True),
        ([failed(GPT, "skipped"), ok(DEEPSEEK)], True),
        ([failed(DEEPSEEK), failed(GPT, "timeout")], True),
        ("not a list", False),
    ],
)
def test_fell_back(attempts: object, expected: bool) -> None:
    """A fallback is a failed or skipped attempt followed by another attempt."""
    assert reports.fell_back(attempts) is expected


def test_chart_data(report: reports.Report, monkeypatch: pytest.MonkeyPatch) -> None:
    """Spend per day stacks priced models (then "other"); bars leave unpriced groups out."""
    data = charts.chart_data(report)
    assert data["days"] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert data["spendByDay"] == [
        {"label": GPT, "data": [1.5, 0.0, 1.0625]},
        {"label": DEEPSEEK, "data": [0.0, 0.125, 0.0]},
    ]
    assert data["requestsByDay"]["error"] == [0, 0, 2]
    assert data["spendByModel"] == {
        "labels": [GPT, DEEPSEEK], "values": [GPT, DEEPSEEK], "data": [2.5625, 0.125]}  # fmt: skip
    assert data["spendByKey"]["labels"][0].startswith("alpha")  # $1.75 against $0.875
    assert data["spendByKey"]["values"][0].isdigit()  # the key's id: the log's ?key= value
    assert data["latency"]["labels"] == [GPT, DEEPSEEK, UNPRICED]
    assert data["ttft"]["p90"] == [600, 100]
    monkeypatch.setattr(charts, "TOP_MODELS", 1)
    folded = charts.chart_data(report)["spendByDay"]
    assert folded == [
        {"label": GPT, "data": [1.5, 0.0, 1.0625]},
        {"label": "other", "data": [0.0, 0.125, 0.0]},
    ]


def test_day_follows_the_current_time_zone() -> None:
    """Calendar days are those of TIME_ZONE: 23:30 UTC is the next day in Tokyo."""
    UsageRecord.objects.all().delete()
    record(dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC))
    with timezone.override("Asia/Tokyo"):
        report = reports.build(DateRange(D1, D2))
    assert [d.requests for d in report.days] == [0, 1]
