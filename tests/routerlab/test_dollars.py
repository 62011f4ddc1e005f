"""The evaluation's dollar curve: catalog prices for a weak/strong pair (issue item 6)."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from routerlab.evaluate import add_dollars, dollar_curve, dollars_table
from routing import catalog
from routing.catalog.pricing import list_prices


@pytest.fixture(autouse=True)
def _fresh_snapshot():
    """No catalog snapshot leaks into or out of these tests (it is cached per process)."""
    catalog.invalidate_local()
    yield
    catalog.invalidate_local()


def test_dollar_curve_hand_computed():
    # weak $0.001, strong $0.01 per request -> $1 / $5.5 / $10 per 1k requests
    out = dollar_curve([[0.0, 0.6], [0.5, 0.7], [1.0, 0.8]], 0.001, 0.01)
    assert out == [[0.0, 0.6, 1.0], [0.5, 0.7, 5.5], [1.0, 0.8, 10.0]]


def test_add_dollars_prices_the_learned_curve_of_every_dataset():
    result = {
        "datasets": {
            name: {"estimators": {"learned": {"curve": [[0.0, 0.5], [1.0, 0.9]]}}}
            for name in ("a", "b")
        }
    }
    pricing = {"weak": "w", "strong": "s", "weak_usd": 0.002, "strong_usd": 0.02}
    pricing |= {"input_tokens": 500, "output_tokens": 300}
    add_dollars(result, pricing)
    for block in result["datasets"].values():
        assert block["dollars"] == [[0.0, 0.5, 2.0], [1.0, 0.9, 20.0]]
        assert block["pricing"]["weak"] == "w" and block["pricing"]["estimator"] == "learned"
    assert "$ / 1k req" in dollars_table(result)


def _per_1k(model_id):
    """USD per 1,000 requests of 500 + 300 tokens at list price, whatever the hour."""
    entry = catalog.current_sync().resolve(model_id)
    prices = list_prices(entry.prices_ref)
    return 1000 * float(500 * prices["input"] + 300 * prices["output"]) / 1e6


@pytest.mark.django_db
def test_evaluate_router_reports_dollars_from_catalog_prices(tmp_path, tiny_data):
    call_command("sync_catalog", stdout=io.StringIO())
    curves = tmp_path / "curves.json"
    out = io.StringIO()
    call_command("evaluate_router", data=str(tiny_data), folds=2, curves=str(curves), stdout=out)
    assert "$ / 1k req" in out.getvalue()
    weak, strong = _per_1k("deepseek/deepseek-chat"), _per_1k("openai/gpt-4o")
    assert 0 < weak < strong
    doc = json.loads(curves.read_text())
    for block in doc["datasets"].values():
        assert block["pricing"]["weak"] == "deepseek/deepseek-chat"
        assert block["pricing"]["strong"] == "openai/gpt-4o"
        assert block["pricing"]["input_tokens"] == 500
        assert block["pricing"]["output_tokens"] == 300
        learned = block["estimators"]["learned"]["curve"]
        assert [[s, q] for s, q, _ in block["dollars"]] == learned
        assert block["dollars"][0][2] == pytest.approx(weak)
        assert block["dollars"][-1][2] == pytest.approx(strong)
        share, _, usd = block["dollars"][3]
        assert usd == pytest.approx(share * strong + (1 - share) * weak)


@pytest.mark.django_db
def test_evaluate_router_asks_for_sync_catalog_when_the_catalog_is_empty(tmp_path):
    with pytest.raises(CommandError, match="sync_catalog"):
        call_command("evaluate_router", data=str(tmp_path), curves=str(tmp_path / "c.json"))


@pytest.mark.django_db
def test_evaluate_router_rejects_unknown_models(tmp_path):
    call_command("sync_catalog", stdout=io.StringIO())
    with pytest.raises(CommandError, match="not in the model catalog"):
        call_command("evaluate_router", data=str(tmp_path), weak="nope/nope")
