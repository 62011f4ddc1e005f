"""The quality curve names its data and warns when the workload is of shapes it never measured."""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from usage.models import UsageRecord

pytestmark = pytest.mark.usefixtures("catalog_db")
SOURCE = "GSM8K test split, 257 math word problems; RouteLLM labels, Mixtral-8x7B vs GPT-4"
WORD_PROBLEMS = [
    "Ann has 3 apples and buys twice as many. How many apples does she have now?",
    "A shop sells pens at $2 each. Tom buys 7 pens and pays with a $20 bill. How much change?",
    "Sara reads 12 pages a day. How many pages does she read in 3 weeks?",
]


@pytest.fixture
def curves(settings: Any, tmp_path: Path) -> Path:
    line = [[i / 10, 0.5 + 0.03 * i] for i in range(11)]
    block = {
        "shape": "word_problem",
        "source": SOURCE,
        "weak": 0.5,
        "strong": 0.8,
        "estimators": {"learned": {"curve": line, "apgr": 0.6}},
    }
    path = tmp_path / "curves.json"
    path.write_text(json.dumps({"datasets": {"gsm8k-test": block}}))
    settings.SWITCHYARD_ROUTER_CURVES = path
    return path


def note(body: str) -> str:
    start = body.find('id="cc-curves-shapes"')
    return html.unescape(body[start : body.find("</p>", start)]) if start >= 0 else ""


def test_curve_names_its_data(web: Client, curves: Path) -> None:
    body = web.get("/costcalc/").content.decode()
    assert f'<small class="cc-curve-source">({SOURCE})</small>' in body


def test_mostly_chat_samples_get_the_warning_next_to_the_chart(web: Client, curves: Path) -> None:
    """The bundled samples are mostly chat prompts: the curve was measured on word problems."""
    body = web.get("/costcalc/").content.decode()
    text = note(body)
    assert "of this workload's prompts are chat" in text and "math word problems only" in text
    assert body.find('id="cc-curves-shapes"') < body.find('class="cc-chart-curve"')


def test_an_upload_of_word_problems_gets_no_warning(web: Client, curves: Path) -> None:
    content = ("prompt\n" + "\n".join(f'"{p}"' for p in WORD_PROBLEMS)).encode()
    file = SimpleUploadedFile("wp.csv", content, content_type="text/csv")
    response = web.post("/costcalc/upload/", {"prompts_file": file, "state": "requests=1000"})
    body = web.get(response["Location"]).content.decode()
    assert 'class="cc-chart-curve"' in body and note(body) == ""


def test_own_traffic_is_judged_by_its_recorded_decisions(web: Client, curves: Path) -> None:
    when = timezone.now() - dt.timedelta(days=1)
    for i, part in enumerate(["chat:coding", "chat:writing", "word-problem"]):
        UsageRecord.objects.create(
            request_id=f"r{i}",
            requested_model="route/auto",
            model="openai/gpt-4o",
            status="ok",
            input_tokens=500,
            output_tokens=200,
            created_at=when,
            complexity_score=0.5,
            decision=f"complexity=0.50 by {part}, band 1/2 (words=9) -> openai/gpt-4o",
        )
    day = when.date()
    body = web.get(f"/costcalc/?traffic_from={day}&traffic_to={day}").content.decode()
    assert "67% of this workload's prompts are chat" in note(body)
