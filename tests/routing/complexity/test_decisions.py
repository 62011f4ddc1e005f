"""Decisions explain themselves: the header, the admin dry run and the calibrate page name the
estimator part that scored the prompt, the score and the band (real SDK, real HTTP)."""

from __future__ import annotations

import re

import openai
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from routing.complexity import get_estimator
from routing.models import Route, RouteTarget
from routing.transport import records
from tests.routing.tools import test_calibration
from usage.models import UsageRecord

pytestmark = pytest.mark.usefixtures("providers", "fast_timeouts")
staff = test_calibration.staff  # the logged-in admin client fixture
CHEAP, STRONG = "fakeai/gpt-4o-mini", "fakeai/gpt-4o"
MC = "Which of the following is NOT a prime?\nA. 2\nB. 3\nC. 9\nD. 11\nAnswer:"
WORD_PROBLEM = (
    "Toulouse has twice as many sheep as Charleston. Charleston has 4 times as many sheep as "
    "Seattle. How many sheep do Toulouse, Charleston, and Seattle have together if Seattle "
    "has 20 sheep?"
)
CASES = [
    ("hi", "chat:smalltalk"),
    ("Prove that there are infinitely many primes of the form 4k + 3.", "chat:math"),
    (MC, "multiple-choice"),
    (WORD_PROBLEM, "word-problem"),
    ("Tell me about your day", "heuristic"),
]


@pytest.fixture
def auto(providers: object) -> Route:
    route = Route.objects.create(slug="cx-auto", strategy="complexity", estimator="learned")
    RouteTarget.objects.create(route=route, position=0, model=CHEAP, max_score=0.4)
    RouteTarget.objects.create(route=route, position=1, model=STRONG)
    return route


@pytest.mark.parametrize(("prompt", "part"), CASES)
def test_decision_header_names_part_score_and_band(
    client: openai.OpenAI, auto: Route, prompt: str, part: str
) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="route/cx-auto", messages=[{"role": "user", "content": prompt}]
    )
    score = get_estimator("learned").score(prompt)
    band, model = (1, CHEAP) if score.value < 0.4 else (2, STRONG)
    decision = raw.headers["x-switchyard-decision"]
    assert decision.startswith(f"complexity={score.value:.2f} by {part}, band {band}/2 (")
    assert decision.endswith(f"-> {model}") and raw.headers["x-switchyard-model"] == model
    records.writer.flush(10)
    assert UsageRecord.objects.get(route="cx-auto").decision == decision


def test_dry_run_names_the_part_and_the_band(staff: Client, auto: Route) -> None:
    prompt = CASES[1][0]
    response = staff.post(f"/admin/routing/route/{auto.pk}/dry-run/", {"prompt": prompt})
    text = re.sub(r"<[^>]+>", "", response.content.decode())
    score = get_estimator("learned").score(prompt).value
    assert (
        f"Complexity score: {score:.3f}, scored by the chat part, category math, band 2 of 2"
        in (" ".join(text.split()))
    )


def test_calibrate_page_counts_prompts_per_part(staff: Client, auto: Route) -> None:
    """An uploaded sample: each part's count, share, score range and per-band split."""
    sample = "prompt\n" + "\n".join(
        f'"{p}"' for p in ["hi", "hello there", MC.replace("\n", " ") + " x", CASES[1][0]]
    )
    upload = SimpleUploadedFile("s.csv", sample.encode(), content_type="text/csv")
    response = staff.post(
        f"/admin/routing/route/{auto.pk}/calibrate/",
        {"shares": "50,50", "days": "7", "sample": upload},
    )
    html = response.content.decode()
    assert 'data-testid="calibration-parts"' in html
    rows = re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td><td>([\d.]+) %</td>", html)
    assert ("chat part, category smalltalk", "2", "50.0") in rows
    assert ("chat part, category math", "1", "25.0") in rows
    assert sum(int(n) for _, n, _ in rows) == 4


def test_calibrate_page_reads_the_part_from_recorded_decisions(
    client: openai.OpenAI, staff: Client, auto: Route
) -> None:
    for prompt, _ in CASES:
        client.chat.completions.create(
            model="route/cx-auto", messages=[{"role": "user", "content": prompt}]
        )
    records.writer.flush(10)
    html = staff.get(f"/admin/routing/route/{auto.pk}/calibrate/").content.decode()
    labels = re.findall(r"<tr><td>([^<]+)</td><td>1</td><td>20.0 %</td>", html)
    assert sorted(labels) == sorted(
        [
            "chat part, category smalltalk",
            "chat part, category math",
            "learned multiple-choice part",
            "learned word-problem part",
            "fallback heuristic (no chat category fits)",
        ]
    )
