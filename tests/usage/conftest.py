"""Usage fixtures: a staff client and a small, hand-countable set of usage records.

``traffic`` holds ten requests over 2026-03-01..03 (UTC noon) plus one just before and one
just after the range. The expected aggregates in the tests are counted from this table:

  #  day  model                   key    route  source      status     cost    notes
  1  d1   openai/gpt-4o           alpha  -      api         ok         0.50    lat 1000 ttft 200
  2  d1   openai/gpt-4o           alpha  chat   api         ok         0.25    fallback, answered
  3  d2   deepseek/deepseek-chat  beta   chat   playground  ok         0.125   lat 500 ttft 100
  4  d2   deepseek/deepseek-chat  beta   chat   api         ok         0       cache hit, saved .125
  5  d2   acme/unpriced           alpha  -      batch       ok         None    unpriced
  6  d3   (none)                  beta   chat   api         error      0       fallback, failed
  7  d3   openai/gpt-4o           -      -      playground  cancelled  0.0625
  8  d3   openai/gpt-4o           alpha  -      api         ok         1.00    retry, answered
  9  d3   (none)                  alpha  -      api         error      0       refused, no attempt
 10  d1   openai/gpt-4o           beta   ens    api         ok         0.75    ensemble, 2 ok
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from routing.models import ApiKey
from usage.models import UsageRecord
from usage.reports import DateRange

D1, D2, D3 = dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3)
RANGE = DateRange(D1, D3)
GPT, DEEPSEEK, UNPRICED = "openai/gpt-4o", "deepseek/deepseek-chat", "acme/unpriced"
_ids = itertools.count(1)


def ok(model: str) -> dict[str, Any]:
    return {"model": model, "outcome": "ok", "status": 200, "ms": 10.0, "error": ""}


def failed(model: str, outcome: str = "server") -> dict[str, Any]:
    return {"model": model, "outcome": outcome, "status": 500, "ms": 10.0, "error": "boom"}


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def record(when: dt.datetime, **fields: Any) -> UsageRecord:
    """A usage record with plausible defaults; ``fields`` override them."""
    model = fields.get("model", GPT)
    values: dict[str, Any] = {
        "created_at": when,
        "request_id": f"req_{next(_ids):06d}",
        "requested_model": model or GPT,
        "model": model,
        "provider": model.partition("/")[0],
        "status": "ok",
        "cost_usd": Decimal(0),
        "attempts": [ok(model)] if model else [],
    }
    values.update(fields)
    values.setdefault("price_known", values["cost_usd"] is not None)
    return UsageRecord.objects.create(**values)


@pytest.fixture
def staff(db: None) -> User:
    return User.objects.create_user("ops", "ops@example.com", "pw", is_staff=True)


@pytest.fixture
def web(staff: User) -> Client:
    """A test client logged in as a staff user."""
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def keys(db: None) -> dict[str, ApiKey]:
    return {name: ApiKey.issue(name)[0] for name in ("alpha", "beta")}


@pytest.fixture
def traffic(keys: dict[str, ApiKey]) -> list[UsageRecord]:
    """The ten requests of the module docstring, plus one on each side of the range."""
    alpha, beta = keys["alpha"], keys["beta"]
    d = Decimal
    rows = [
        record(at(D1), api_key=alpha, cost_usd=d("0.50"), input_tokens=100, output_tokens=50,
               latency_ms=1000, ttft_ms=200),
        record(at(D1, 13), api_key=alpha, route="chat", cost_usd=d("0.25"), input_tokens=10,
               output_tokens=5, latency_ms=2000, ttft_ms=400,
               attempts=[failed(DEEPSEEK), ok(GPT)]),
        record(at(D2), model=DEEPSEEK, api_key=beta, route="chat", source="playground",
               cost_usd=d("0.125"), latency_ms=500, ttft_ms=100),
        record(at(D2, 13), model=DEEPSEEK, api_key=beta, route="chat", cache_hit=True,
               saved_usd=d("0.125"), latency_ms=5, ttft_ms=3, attempts=[]),
        record(at(D2, 14), model=UNPRICED, api_key=alpha, source="batch", cost_usd=None,
               latency_ms=3000),
        record(at(D3), model="", api_key=beta, route="chat", status="error", http_status=502,
               error_type="upstream_error", attempts=[failed(DEEPSEEK), failed(GPT, "timeout")]),
        record(at(D3, 13), source="playground", status="cancelled", cost_usd=d("0.0625"),
               latency_ms=4000, ttft_ms=300),
        record(at(D3, 14), api_key=alpha, cost_usd=d("1.00"), latency_ms=3000, ttft_ms=600,
               attempts=[failed(GPT, "rate_limit"), ok(GPT)]),
        record(at(D3, 15), model="", api_key=alpha, status="error", http_status=429,
               error_type="rate_limited"),
        record(at(D1, 14), api_key=beta, route="ens", cost_usd=d("0.75"), latency_ms=1500,
               ttft_ms=250, attempts=[ok(GPT), ok(DEEPSEEK)]),
    ]  # fmt: skip
    edge = dt.timedelta(microseconds=1)
    record(at(D1, 0) - edge, api_key=alpha, cost_usd=d("100"))
    record(at(D3 + dt.timedelta(days=1), 0), api_key=alpha, cost_usd=d("100"))
    return rows
