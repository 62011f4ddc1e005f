"""Quality next to savings: the share of the weak→strong gap each policy keeps, and the
operating point a quality target needs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from costcalc.curves import share_for

pytestmark = pytest.mark.usefixtures("catalog_db")

BLOCK = {"weak": 0.5, "strong": 0.8,
         "lines": {"learned": {"curve": [[0, 0.5], [0.2, 0.74], [1, 0.8]], "apgr": 0.8}}}  # fmt: skip


@pytest.fixture
def curves(settings: Any, tmp_path: Path) -> Path:
    learned = BLOCK["lines"]["learned"]  # type: ignore[index]
    payload = {"datasets": {"gsm8k-test": {"weak": 0.5, "strong": 0.8, "estimators": {
        "learned": learned, "random": {"curve": [[0, 0.5], [1, 0.8]], "apgr": 0.5}}}}}  # fmt: skip
    path = tmp_path / "curves.json"
    path.write_text(json.dumps(payload))
    settings.SWITCHYARD_ROUTER_CURVES = path
    return path


def test_share_for_a_quality_target() -> None:
    """Inverting the learned curve: 80 % of the gap at 20 % strong, 90 % at 60 %, 100 % at all."""
    assert share_for(BLOCK, 0.8) == pytest.approx(0.2)
    assert share_for(BLOCK, 0.9) == pytest.approx(0.6)
    assert share_for(BLOCK, 1.0) == pytest.approx(1.0)
    assert share_for(BLOCK, 0.0) == 0
    assert share_for(BLOCK, 1.2) is None  # beyond the strong model: unreachable


def test_headline_table_has_quality_next_to_savings(web: Client, curves: Path) -> None:
    """Every policy row has a quality cell: measured (with its dataset) or said to be unmeasured."""
    body = web.get("/costcalc/").content.decode()
    cells = dict(re.findall(r'data-quality="(\w+)">(.*?)</td>', body, re.S))
    assert set(cells) == {"baseline", "rules", "complexity", "budget"}
    assert re.search(
        r'cc-kept">\d+\.\d %</span> <small class="cc-kept-on">gsm8k-test', cells["complexity"]
    )
    assert "not measured" in cells["rules"] and "not measured" in cells["budget"]
    assert "reference" in cells["baseline"]


def test_quality_target_gives_the_operating_point(web: Client, curves: Path) -> None:
    """ "Keep 90 % of the quality" says which strong-model share that needs."""
    body = web.get("/costcalc/?quality_target=90").content.decode()
    target = re.search(r'data-target="gsm8k-test">(.*?)</p>', body, re.S)
    assert target and "<strong>90.0 %</strong> of the gap needs" in target.group(1)
    assert "<strong>60.0 %</strong> of requests on the strong model" in target.group(1)
    data = web.get("/costcalc/?quality_target=90&format=json")
    assert data.status_code == 200
    bad = web.get("/costcalc/?quality_target=150")
    assert bad.status_code in (200, 400) and "Keep quality %" in bad.content.decode()
    assert 'data-target="' not in bad.content.decode()


def test_breakdown_uses_the_charts_names(web: Client) -> None:
    """The breakdown tables name query types as the charts do ("Code generation", not "code")."""
    body = web.get("/costcalc/").content.decode()
    breakdown = body[body.index('class="cc-breakdown"') : body.index('id="cc-quality"')]
    assert "<td>Code generation</td>" in breakdown and "<td>code</td>" not in breakdown


def test_baseline_is_the_model_picker(web: Client) -> None:
    """The baseline is the shared model picker, not a datalist of every model."""
    body = web.get("/costcalc/").content.decode()
    assert "<datalist" not in body and "data-model-pick" in body and "js/model-pick.js" in body
    assert 'href="/models/"' in body
