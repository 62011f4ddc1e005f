"""'Use my traffic' replays usage records; prompt uploads are scored and permalinked."""

from __future__ import annotations

import datetime as dt
import html
import json
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from costcalc.models import PromptSet
from routing.tools.prompt_files import MAX_UPLOAD_BYTES
from usage.models import UsageRecord

pytestmark = pytest.mark.usefixtures("catalog_db")


def record(**kw: Any) -> UsageRecord:
    values: dict[str, Any] = {
        "request_id": "r",
        "requested_model": "openai/gpt-4o",
        "model": "openai/gpt-4o",
        "status": "ok",
        "input_tokens": 500,
        "output_tokens": 200,
        "cost_usd": Decimal("0.00325"),
        "query_type": "creative",
    }
    values.update(kw)
    return UsageRecord.objects.create(**values)


def test_replay_what_we_paid_vs_would_have_paid(web: Client) -> None:
    """Recorded cost vs each policy replayed over the records' own tokens and types."""
    when = timezone.now() - dt.timedelta(days=1)
    for _ in range(4):
        record(created_at=when)
    record(created_at=when, cache_hit=True, cost_usd=Decimal(0))
    record(created_at=when, status="error", cost_usd=None, output_tokens=0)
    record(created_at=when - dt.timedelta(days=60))  # outside the period
    day = when.date()
    data = web.get(f"/costcalc/?traffic_from={day}&traffic_to={day}&format=json").json()
    traffic = data["traffic"]
    assert traffic["requests"] == 6
    assert traffic["cache_hits"] == 1 and traffic["failed_requests"] == 1
    assert traffic["replayed_requests"] == 4
    assert traffic["paid_usd"] == 0.01  # 4 x 0.00325 = 0.013 -> rounded to cents
    base = next(p for p in data["policies"] if p["key"] == "baseline")
    assert base["monthly_usd"] == pytest.approx(0.01)
    assert "vs_paid_usd" in base
    assert data["source"] == "traffic"


def test_empty_period(web: Client) -> None:
    """A period without records projects $0 and says so."""
    body = web.get("/costcalc/?traffic_from=2001-01-01&traffic_to=2001-01-31").content.decode()
    assert "No usage records in this period" in body


def upload(web: Client, name: str, content: bytes, state: str = "requests=1000") -> Any:
    file = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    return web.post("/costcalc/upload/", {"prompts_file": file, "state": state})


def test_csv_upload_is_scored_and_permalinked(web: Client) -> None:
    """A CSV with a prompt column becomes a prompt set whose id is in the redirect."""
    content = b'prompt,query_type\nWhat is 2+2?,faq\n"Prove that there are infinitely many primes, step by step.",reasoning\n'
    response = upload(web, "mine.csv", content)
    assert response.status_code == 302
    stored = PromptSet.objects.get()
    assert stored.count == 2 and f"prompts={stored.key}" in response["Location"]
    assert "requests=1000" in response["Location"]
    data = web.get(response["Location"] + "&format=json").json()
    assert data["prompts"].startswith("2 uploaded prompts")


def test_jsonl_upload(web: Client) -> None:
    """JSONL lines with a prompt (and optional query_type) are accepted."""
    lines = [
        json.dumps({"prompt": "Translate hello to French"}),
        json.dumps({"prompt": "hi", "query_type": "faq"}),
    ]
    response = upload(web, "p.jsonl", "\n".join(lines).encode())
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("bad.csv", b"text,kind\nhello,faq\n", "needs a 'prompt' column"),
        ("bin.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("latin.csv", "prompt\ncaf\xe9\n".encode("latin-1"), "not UTF-8"),
        ("bad.jsonl", b'{"prompt": "ok"}\n{not json}\n', "Line 2"),
        ("empty.csv", b"prompt\n", "no prompts"),
        ("blank.jsonl", b'{"prompt": ""}\n', "non-empty"),
    ],
)
def test_malformed_uploads(web: Client, name: str, content: bytes, words: str) -> None:
    """Malformed files get a clear inline error naming the upload field, never a 500."""
    response = upload(web, name, content)
    assert response.status_code == 400
    body = response.content.decode()
    assert "Prompt file:" in body and html.escape(words) in body


def test_oversized_upload(web: Client) -> None:
    """Over the size limit: rejected before reading, with the limit in the message."""
    response = upload(web, "big.csv", b"prompt\n" + b"x" * (MAX_UPLOAD_BYTES + 10))
    assert response.status_code == 400
    assert "MB limit" in response.content.decode()


def test_upload_without_file(web: Client) -> None:
    """Submitting the upload form without a file asks for one."""
    response = web.post("/costcalc/upload/", {"state": ""})
    assert response.status_code == 400
    assert "Choose a CSV or JSONL file" in response.content.decode()


def test_traffic_needs_staff_and_uploads_a_sign_in(anonymous: Client) -> None:
    """Anonymous: the traffic replay is refused (403, no numbers) and an upload is sent to the
    sign-in page, storing nothing; the calculator without traffic stays public."""
    from costcalc.models import PromptSet

    day = "2026-01-01"
    response = anonymous.get(f"/costcalc/?traffic_from={day}&traffic_to={day}&format=json")
    assert response.status_code == 403 and "policies" not in response.json()
    page = anonymous.get(f"/costcalc/?traffic_from={day}&traffic_to={day}")
    assert page.status_code == 403 and "needs a staff sign-in" in page.content.decode()
    stored = upload(anonymous, "p.csv", b"prompt\nhello\n")
    assert stored.status_code == 302 and stored["Location"].startswith("/accounts/login/")
    assert not PromptSet.objects.exists()
    assert anonymous.get("/costcalc/?requests=1000&format=json").status_code == 200
