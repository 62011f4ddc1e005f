"""Calibrating a complexity route to target traffic shares, from recent scores or a sample."""

from __future__ import annotations

import re

import openai
import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import Client

from routing.models import Route, RouteTarget
from routing.tools.calibration import (
    achieved_shares,
    bound_interval,
    share_margin,
    thresholds,
)
from routing.transport import records
from usage.models import UsageRecord


def test_thresholds_hit_the_requested_shares() -> None:
    """Bounds at the score quantiles give each band its share."""
    scores = [i / 100 for i in range(100)]
    bounds = thresholds(scores, [0.4, 0.3, 0.2, 0.1])
    assert bounds == pytest.approx([0.396, 0.693, 0.891], abs=1e-3)
    assert achieved_shares(scores, bounds) == pytest.approx([0.4, 0.3, 0.2, 0.1], abs=0.011)


def test_thresholds_reject_shares_not_adding_up() -> None:
    """Shares must add up to 100 %."""
    with pytest.raises(ValueError):
        thresholds([0.1, 0.2], [0.5, 0.4])


def test_uncertainty_shrinks_with_more_scores() -> None:
    """A share's 95 % margin is 1.96·sqrt(p(1-p)/n); the bound's interval narrows as n grows."""
    assert share_margin(0.5, 100) == pytest.approx(0.098, abs=1e-3)
    assert share_margin(0.5, 10_000) == pytest.approx(0.0098, abs=1e-4)
    few = bound_interval([i / 10 for i in range(10)], 0.5)
    many = bound_interval([i / 1000 for i in range(1000)], 0.5)
    assert few[0] <= 0.5 <= few[1] and many[0] <= 0.5 <= many[1]
    assert few[1] - few[0] > 0.5 and many[1] - many[0] < 0.07


@pytest.fixture
def complexity_route(providers: object) -> Route:
    route = Route.objects.create(slug="cx", strategy="complexity", estimator="heuristic")
    RouteTarget.objects.create(route=route, position=0, model="fakeai/gpt-4o-mini", max_score=0.5)
    RouteTarget.objects.create(route=route, position=1, model="fakeai/gpt-4o")
    return route


@pytest.fixture
def staff(gateway_db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "pw"))
    return client


def test_gateway_records_the_score(client: openai.OpenAI, complexity_route: Route) -> None:
    """Requests through a complexity route leave their score for calibration."""
    client.chat.completions.create(model="route/cx", messages=[{"role": "user", "content": "hi"}])
    records.writer.flush(10)
    assert UsageRecord.objects.get(route="cx").complexity_score is not None


def test_admin_calibrates_from_recent_traffic(staff: Client, complexity_route: Route) -> None:
    """The calibrate page previews, then applies, bounds that give the asked-for split."""
    for i in range(10):
        UsageRecord.objects.create(
            request_id=f"r{i}",
            requested_model="route/cx",
            route="cx",
            status="ok",
            complexity_score=i / 10,
        )
    url = f"/admin/routing/route/{complexity_route.pk}/calibrate/"
    preview = staff.post(url, {"shares": "70,30", "days": "7"})
    assert b"Preview (10 scores from the last 7 days)" in preview.content
    body = preview.content.decode()
    assert "Computed from <strong>10 samples</strong>" in body
    assert 'data-testid="calibration-few">Only 10 samples' in body and "±31" in body
    assert re.search(r'data-testid="bound-interval">\(95 %: 0\.[0-9]+–0\.[0-9]+\)', body)
    assert re.search(r'data-testid="share-margin">± 28\.4<', body)  # 70 % of 10: ±28.4 points
    assert _shares(preview) == ["50.0", "70.0", "50.0", "30.0"]  # now (bound 0.5), proposed
    assert RouteTarget.objects.get(position=0).max_score == 0.5  # unchanged by a preview
    staff.post(url, {"shares": "70,30", "days": "7", "apply": "1"})
    bound = RouteTarget.objects.get(position=0).max_score
    assert bound == pytest.approx(0.63, abs=1e-6)
    assert RouteTarget.objects.get(position=1).max_score is None


def test_admin_calibrates_from_an_uploaded_sample(staff: Client, complexity_route: Route) -> None:
    """A CSV of prompts is scored with the route's estimator."""
    prompts = "prompt\n" + "\n".join(f"question number {i} " + "word " * i for i in range(20))
    sample = SimpleUploadedFile("s.csv", prompts.encode(), content_type="text/csv")
    response = staff.post(
        f"/admin/routing/route/{complexity_route.pk}/calibrate/",
        {"shares": "50,50", "days": "7", "sample": sample},
    )
    assert b"Preview (20 scores from the sample s.csv)" in response.content
    assert RouteTarget.objects.get(position=0).max_score == 0.5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"question\nhi\n", "needs a &#x27;prompt&#x27; column"),
        (b'prompt\nhi\n""\n', "must be non-empty text"),
        (b"\x00\x01binary", "binary file"),
        (b"prompt\n" + b"x" * (5 * 2**20), "over the 5 MB limit"),
    ],
)
def test_calibrate_rejects_a_bad_sample_inline(
    staff: Client, complexity_route: Route, content: bytes, message: str
) -> None:
    """A sample that cannot be read whole is an inline error; the bounds stay as they are."""
    response = staff.post(
        f"/admin/routing/route/{complexity_route.pk}/calibrate/",
        {
            "shares": "50,50",
            "days": "7",
            "apply": "1",
            "sample": SimpleUploadedFile("s.csv", content),
        },
    )
    assert response.status_code == 200 and message in response.content.decode()
    assert RouteTarget.objects.get(position=0).max_score == 0.5


def test_calibrate_page_shows_the_split_now(staff: Client, complexity_route: Route) -> None:
    """Before any change the page shows the share each model gets from recent traffic."""
    url = f"/admin/routing/route/{complexity_route.pk}/calibrate/"
    assert b'data-testid="calibration-empty"' in staff.get(url).content
    for i in range(8):
        UsageRecord.objects.create(
            request_id=f"r{i}", requested_model="route/cx", route="cx", status="ok",
            complexity_score=0.1 if i < 6 else 0.9,
        )  # fmt: skip
    page = staff.get(url)
    assert b"Now (8 scores from the last 7 days)" in page.content
    assert _shares(page) == ["75.0", "25.0"]


def _shares(response: HttpResponse) -> list[str]:
    """The share cells of the calibration table, in order."""
    return re.findall(r'class="share">.*?([0-9.]+) %', response.content.decode())


def test_calibrate_rejects_wrong_share_count(staff: Client, complexity_route: Route) -> None:
    """One share per target, adding to 100, or an inline error."""
    response = staff.post(
        f"/admin/routing/route/{complexity_route.pk}/calibrate/",
        {"shares": "50,30,20", "days": "7"},
    )
    assert b"one share per target" in response.content.lower()
