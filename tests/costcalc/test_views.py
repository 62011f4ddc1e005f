"""The page, its JSON and CSV formats, and inline errors (never a 500)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

pytestmark = pytest.mark.usefixtures("catalog_db")

ONE_TYPE = (
    "requests=100000&t-TOTAL_FORMS=1&t-INITIAL_FORMS=0"
    "&t-0-name=creative&t-0-share=100&t-0-input_tokens=500&t-0-output_tokens=200"
)


def get_json(web: Client, query: str, status: int = 200) -> dict[str, Any]:
    response = web.get(f"/costcalc/?{query}&format=json")
    assert response.status_code == status, response.content[:500]
    return response.json()


def policy(data: dict[str, Any], key: str) -> dict[str, Any]:
    return next(p for p in data["policies"] if p["key"] == key)


def test_page_with_defaults(web: Client) -> None:
    """/costcalc/ alone shows every policy, the price-data date and the charts."""
    response = web.get("/costcalc/")
    body = response.content.decode()
    assert response.status_code == 200
    for text in ("Baseline", "Rule-based", "Complexity-based", "Budget-based", "genai-prices"):
        assert text in body
    assert 'id="cc-chart-policies"' in body and 'id="cc-chart-data"' in body
    assert 'name="t-6-name"' in body  # seven default query types


def test_json_hand_computed(web: Client) -> None:
    """The documented case: $325.00 a month, $3,900.00 a year on gpt-4o."""
    data = get_json(web, ONE_TYPE)
    base = policy(data, "baseline")
    assert (base["monthly_usd"], base["annual_usd"]) == (325.0, 3900.0)
    assert data["price_data"].startswith("genai-prices")
    assert [p["key"] for p in data["policies"]] == ["baseline", "rules", "complexity", "budget"]
    assert policy(data, "rules")["by_model"][0]["model"] == "openai/gpt-4o"


def test_json_defaults_have_savings(web: Client) -> None:
    """The default workload projects savings for the routed policies."""
    data = get_json(web, "")
    assert data["workload"]["requests_per_month"] == 1_000_000
    assert len(data["workload"]["query_types"]) == 7
    for key in ("rules", "complexity", "budget"):
        assert policy(data, key)["savings_usd"] > 0


def test_csv(web: Client) -> None:
    """format=csv: one row per cell and a TOTAL row per policy, with the price data."""
    response = web.get(f"/costcalc/?{ONE_TYPE}&format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    totals = {r["policy"]: r for r in rows if r["query_type"] == "TOTAL"}
    assert totals["baseline"]["monthly_usd"] == "325.0"
    assert totals["baseline"]["annual_usd"] == "3900.0"
    assert set(totals) == {"baseline", "rules", "complexity", "budget"}
    assert rows[0]["price_data"].startswith("genai-prices")


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("requests=-5", "requests", "Requests per month"),
        ("requests=lots", "requests", "whole number"),
        ("requests=99999999999999999999999", "requests", "Requests per month"),
        ("cache_hit_rate=150", "cache_hit_rate", "Cache hit rate"),
        ("fallback_rate=NaN", "fallback_rate", "Fallback rate"),
        ("budget_usd=-1", "budget_usd", "Budget per request"),
        ("baseline=nobody/nothing", "baseline", "Unknown model"),
        ("rules_route=auto", "rules_route", "Rule-based route"),
        ("traffic_from=2026-01-01", "traffic_to", "both dates"),
        ("traffic_from=2026-01-01&traffic_to=9999-12-31", "traffic_to", "between 2000"),
        ("traffic_from=2026-02-01&traffic_to=2026-01-01", "traffic_to", "on or after"),
        ("prompts=0123456789abcdef", "prompts", "unknown"),
    ],
)
def test_inline_errors_name_the_field(web: Client, query: str, field: str, words: str) -> None:
    """Bad values answer 400 in JSON and an inline message in HTML, naming the field."""
    data = get_json(web, query, status=400)
    assert words.lower() in " ".join(data["errors"][field]).lower()
    page = web.get(f"/costcalc/?{query}")
    assert page.status_code == 200
    assert f'id="err-{field}"' in page.content.decode()


@pytest.mark.parametrize(
    ("query", "key", "words"),
    [
        (ONE_TYPE.replace("t-0-share=100", "t-0-share=60"), "types", "add up to 60"),
        (ONE_TYPE.replace("t-0-input_tokens=500", "t-0-input_tokens=-1"), "t-0", "Avg input"),
        (ONE_TYPE.replace("t-0-output_tokens=200", "t-0-output_tokens=9e99"), "t-0", "Avg output"),
        (ONE_TYPE.replace("t-0-name=creative", "t-0-name="), "t-0", "Query type"),
        (ONE_TYPE.replace("t-TOTAL_FORMS=1", "t-TOTAL_FORMS=0"), "types", "at least one"),
        (ONE_TYPE.replace("t-TOTAL_FORMS=1", "t-TOTAL_FORMS=x"), "types", "Query types"),
        (ONE_TYPE.replace("t-TOTAL_FORMS=1", "t-TOTAL_FORMS=5000"), "types", "Query types"),
    ],
)
def test_query_type_errors(web: Client, query: str, key: str, words: str) -> None:
    """Row errors name the row and the field; share totals are rejected outside 100 +/- 0.5."""
    data = get_json(web, query, status=400)
    assert words.lower() in " ".join(data["errors"][key]).lower()


def test_shares_within_rounding_are_normalised(web: Client) -> None:
    """33.3 x 3 = 99.9 % is accepted and normalised to all requests."""
    query = "requests=300&t-TOTAL_FORMS=3&t-INITIAL_FORMS=0" + "".join(
        f"&t-{i}-name={n}&t-{i}-share=33.3&t-{i}-input_tokens=100&t-{i}-output_tokens=100"
        for i, n in enumerate(["faq", "code", "creative"])
    )
    data = get_json(web, query)
    total = sum(r["requests"] for r in policy(data, "baseline")["by_query_type"])
    assert total == pytest.approx(300)


def test_htmx_gets_the_results_partial(web: Client) -> None:
    """An htmx request gets only the results region plus out-of-band field errors."""
    body = web.get("/costcalc/?requests=-1", headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in body
    assert 'id="cc-invalid"' in body
    assert 'id="err-requests" hx-swap-oob="true">Requests per month:' in body
    ok = web.get("/costcalc/", headers={"HX-Request": "true"}).content.decode()
    assert 'id="cc-summary"' in ok and 'id="err-requests" hx-swap-oob="true"></span>' in ok


def test_curves_empty_state(web: Client, settings: Any, tmp_path: Path) -> None:
    """Without the curves file the page says how to generate it."""
    settings.SWITCHYARD_ROUTER_CURVES = tmp_path / "missing.json"
    body = web.get("/costcalc/").content.decode()
    assert "evaluate_router --curves" in body


def test_curves_are_charted(web: Client, settings: Any, tmp_path: Path) -> None:
    """A curves file yields learned and random lines and the route's operating point."""
    curve = [[i / 10, 0.5 + 0.03 * i] for i in range(11)]
    random = [[i / 10, 0.5 + 0.02 * i] for i in range(11)]
    payload = {
        "datasets": {
            "gsm8k-test": {
                "weak": 0.5,
                "strong": 0.8,
                "estimators": {
                    "learned": {"curve": curve, "apgr": 0.6},
                    "random": {"curve": random, "apgr": 0.5},
                },
            }
        }
    }
    path = tmp_path / "curves.json"
    path.write_text(json.dumps(payload))
    settings.SWITCHYARD_ROUTER_CURVES = path
    body = web.get("/costcalc/").content.decode()
    assert 'class="cc-chart-curve"' in body and "gsm8k-test" in body
    assert "of the weak→strong quality gap" in body


@pytest.mark.django_db
def test_evaluate_router_writes_the_curves_the_page_charts(
    web: Client, settings: Any, tmp_path: Path, tiny_data: Path
) -> None:
    """Re-evaluating the router (default --curves) changes what the calculator charts."""
    settings.SWITCHYARD_ROUTER_CURVES = tmp_path / "out" / "curves.json"
    out = io.StringIO()
    call_command("evaluate_router", data=str(tiny_data), folds=2, no_dollars=True, stdout=out)
    assert "(the file the cost calculator charts)" in out.getvalue()
    written = json.loads(settings.SWITCHYARD_ROUTER_CURVES.read_text())
    body = web.get("/costcalc/").content.decode()
    data = json.loads(re.search(r'id="cc-chart-data"[^>]*>(.*?)</script>', body, re.S)[1])
    charted = {c["name"]: c["lines"]["learned"] for c in data["curves"]}
    for name, block in written["datasets"].items():
        learned = block["estimators"]["learned"]
        assert charted[name]["apgr"] == pytest.approx(learned["apgr"])
        assert charted[name]["curve"] == learned["curve"]


def test_broken_curves_file_is_an_empty_state(web: Client, settings: Any, tmp_path: Path) -> None:
    """A malformed curves file never breaks the page."""
    path = tmp_path / "curves.json"
    path.write_text('{"datasets": {"x": {"weak": 1}}}')
    settings.SWITCHYARD_ROUTER_CURVES = path
    response = web.get("/costcalc/")
    assert response.status_code == 200
    assert "cannot be read" in response.content.decode()


def test_permalink_and_format_links(web: Client) -> None:
    """The page links its own state as a permalink and as JSON/CSV."""
    body = web.get(f"/costcalc/?{ONE_TYPE}").content.decode()
    assert "requests=100000" in body and "format=json" in body and "format=csv" in body


JUNK = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["-1", "0", "1e309", "NaN", "inf", "99999999999999999999", "1.5", "", " ", "9999-12-31"]
    ),
)
FIELDS = [
    "requests",
    "baseline",
    "budget_usd",
    "cache_hit_rate",
    "fallback_rate",
    "processing",
    "rules_route",
    "traffic_from",
    "traffic_to",
    "prompts",
    "t-TOTAL_FORMS",
    "t-0-name",
    "t-0-share",
    "t-0-input_tokens",
    "t-1-output_tokens",
]


@hsettings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(params=st.dictionaries(st.sampled_from(FIELDS), JUNK, max_size=5))
def test_any_input_is_a_page_or_an_error_never_a_500(web: Client, params: dict[str, str]) -> None:
    """Arbitrary values in any field give 200 (page) or 400 (JSON errors), never a 500."""
    query = urlencode(params)
    assert web.get(f"/costcalc/?{query}").status_code == 200
    assert web.get(f"/costcalc/?{query}&format=json").status_code in (200, 400)
