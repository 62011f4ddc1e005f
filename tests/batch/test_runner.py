"""The runner against the fake upstream: faults, bad lines, budgets, resume, costs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from batch.runner import Options
from tests.batch.conftest import (
    GPT,
    MINI,
    batch_cost_in_records,
    by_id,
    make_route,
    read_out,
    request_line,
    run,
    write_jsonl,
)
from tests.fake_upstream import FakeUpstream, Fault
from usage.models import UsageRecord

pytestmark = pytest.mark.usefixtures("providers", "fast_timeouts")


def prompts(n: int, model: str = GPT, **body: object) -> list[dict]:
    return [request_line(f"req-{i}", f"question number {i}", model, **body) for i in range(n)]


def test_all_lines_answered_in_openai_format(tmp_path: Path) -> None:
    """Every request gets one whole OpenAI Batch output line with the chat completion."""
    src = write_jsonl(tmp_path / "in.jsonl", prompts(12))
    runner, summary = run(src, tmp_path / "out.jsonl")
    lines = by_id(read_out(tmp_path / "out.jsonl"))
    assert set(lines) == {f"req-{i}" for i in range(12)}
    assert all(line["error"] is None for line in lines.values())
    assert lines["req-3"]["response"]["request_id"].startswith("req_")
    assert summary["succeeded"] == 12 and summary["failed"] == 0
    assert summary["per_model"][GPT]["requests"] == 12


def test_faults_fail_some_lines_and_the_job_goes_on(tmp_path: Path, fake: FakeUpstream) -> None:
    """500s (past the retry) fail their lines, slow answers still land, the rest succeed."""
    fake.add_fault("gpt-4o", Fault.status_code(500), times=4)
    fake.add_fault("gpt-4o", Fault.slow(0.3), times=2)
    src = write_jsonl(tmp_path / "in.jsonl", prompts(8))
    _, summary = run(src, tmp_path / "out.jsonl", Options(concurrency=1))
    lines = by_id(read_out(tmp_path / "out.jsonl"))
    assert len(lines) == 8
    failed = [line for line in lines.values() if line["error"] is not None]
    assert [line["custom_id"] for line in failed] == ["req-0", "req-1"]
    assert failed[0]["response"]["status_code"] == 502
    assert failed[0]["error"]["code"] == "upstream_server"
    assert summary["failures_by_reason"] == {"upstream_server": 2}
    assert summary["succeeded"] == 6


def test_rate_limited_model_falls_back(tmp_path: Path, fake: FakeUpstream) -> None:
    """One model answers 429: its lines fall back to the next model of the route."""
    make_route("chain", "fallback", [MINI, GPT])
    fake.add_fault("gpt-4o-mini", Fault.status_code(429, retry_after=1), times=3)
    src = write_jsonl(tmp_path / "in.jsonl", prompts(6))
    _, summary = run(src, tmp_path / "out.jsonl", Options(model="route/chain", concurrency=3))
    lines = by_id(read_out(tmp_path / "out.jsonl"))
    assert all(line["error"] is None for line in lines.values())
    assert summary["per_model"][GPT]["requests"] >= 3
    assert summary["succeeded"] == 6


def test_bad_lines_get_their_own_error_lines(tmp_path: Path) -> None:
    """Malformed JSON, duplicates, wrong url, unknown model, invalid body: one error line each."""
    src = write_jsonl(
        tmp_path / "in.jsonl",
        [
            request_line("ok-1", "hello"),
            "{not json",
            request_line("ok-1", "duplicate"),
            {**request_line("emb", "x"), "url": "/v1/audio/speech"},
            request_line("ghost", "hi", model="nobody/none"),
            {**request_line("bad-temp", "hi"), "body": {"model": GPT, "messages": [], "x": 1}},
            request_line("ok-2", "world"),
        ],
    )
    _, summary = run(src, tmp_path / "out.jsonl")
    lines = read_out(tmp_path / "out.jsonl")
    assert len(lines) == 7
    codes = sorted((line["custom_id"], (line["error"] or {}).get("code", "")) for line in lines)
    assert codes == [
        ("bad-temp", "invalid_request_error"),
        ("emb", "invalid_request"),
        ("ghost", "model_not_found"),
        ("line-2", "invalid_json"),
        ("ok-1", ""),
        ("ok-1", "duplicate_custom_id"),
        ("ok-2", ""),
    ]
    ghost = next(line for line in lines if line["custom_id"] == "ghost")
    assert ghost["response"]["status_code"] == 404
    assert summary["succeeded"] == 2 and summary["failed"] == 5


def test_summary_cost_equals_usage_records(tmp_path: Path, fake: FakeUpstream) -> None:
    """The summary's total equals the sum of this job's usage records, all marked batch."""
    fake.add_fault("gpt-4o", Fault.status_code(500), times=2)
    lines = prompts(5) + [request_line(f"mini-{i}", f"small question {i}", MINI) for i in range(5)]
    src = write_jsonl(tmp_path / "in.jsonl", lines)
    _, summary = run(src, tmp_path / "out.jsonl", Options(concurrency=1))
    assert summary["cost_usd_exact"] == str(batch_cost_in_records())
    assert Decimal(summary["cost_usd_exact"]) > 0
    per_model = summary["per_model"]
    assert per_model[MINI]["cost_usd"] < per_model[GPT]["cost_usd"]
    assert UsageRecord.objects.filter(source="batch").count() == 10
    assert set(summary["latency_ms"]) == {"p50", "p90", "p99"}


def test_budget_per_request_lets_the_budget_route_pick(tmp_path: Path, cheap_mini: None) -> None:
    """--budget-per-request: route/budget picks the most capable model within it."""
    make_route("budget", "budget", [GPT, MINI])
    src = write_jsonl(tmp_path / "in.jsonl", prompts(3, max_tokens=100))
    tight = Options(budget_per_request=Decimal("0.0005"), concurrency=2)
    _, summary = run(src, tmp_path / "tight.jsonl", tight)
    assert list(summary["per_model"]) == [MINI]
    roomy = Options(budget_per_request=Decimal("0.01"), concurrency=2)
    _, summary = run(src, tmp_path / "roomy.jsonl", roomy)
    assert list(summary["per_model"]) == [GPT]
    batch_cost_in_records()  # flushes the usage writer
    assert UsageRecord.objects.filter(route="budget", source="batch").count() == 6


def test_max_total_stops_before_the_ceiling(tmp_path: Path) -> None:
    """--max-total-usd: the job stops before passing the ceiling, OUT holds only whole lines."""
    ceiling = Decimal("0.003")
    src = write_jsonl(tmp_path / "in.jsonl", prompts(30, max_tokens=50))
    _, summary = run(src, tmp_path / "out.jsonl", Options(max_total_usd=ceiling, concurrency=4))
    lines = read_out(tmp_path / "out.jsonl")
    assert summary["stopped"] == "max_total_usd"
    assert 0 < len(lines) < 30 and summary["not_run"] == 30 - len(lines)
    assert batch_cost_in_records() <= ceiling
    assert Decimal(summary["cost_usd_exact"]) == batch_cost_in_records()


def test_resume_after_kill_skips_finished_lines(tmp_path: Path, fake: FakeUpstream) -> None:
    """Aborted after K lines, the same run again sends only the missing lines, none twice."""
    fake.set_chunk_delay("*", 0)
    fake.add_fault("gpt-4o", Fault.slow(0.2), times=30)
    src = write_jsonl(tmp_path / "in.jsonl", prompts(20))
    out = tmp_path / "out.jsonl"
    runner, first = run(src, out, Options(concurrency=4), cancel_after=6)
    done_first = {line["custom_id"] for line in read_out(out)}
    assert 6 <= len(done_first) < 20 and first["stopped"] == "interrupted"
    sent_first = len(fake.requests)
    _, second = run(src, out, Options(concurrency=4))
    lines = by_id(read_out(out))
    assert set(lines) == {f"req-{i}" for i in range(20)}
    resent = {
        "req-" + r.body["messages"][0]["content"].split()[-1] for r in fake.requests[sent_first:]
    }
    assert resent and not resent & done_first
    assert second["resumed_from_output"] == len(done_first)
    assert second["succeeded"] == 20
    assert second["cost_usd_exact"] == str(batch_cost_in_records() - _cancelled_cost())


def _cancelled_cost() -> Decimal:
    rows = UsageRecord.objects.filter(source="batch", status="cancelled")
    return sum((r.cost_usd or Decimal(0) for r in rows), Decimal(0))


def test_torn_last_line_is_cut_before_resuming(tmp_path: Path) -> None:
    """A half-written last line (power loss) is dropped and its request runs again."""
    src = write_jsonl(tmp_path / "in.jsonl", prompts(3))
    out = tmp_path / "out.jsonl"
    run(src, out)
    whole = out.read_bytes().splitlines(keepends=True)
    out.write_bytes(b"".join(whole[:2]) + whole[2][:40])
    _, summary = run(src, out)
    assert len(by_id(read_out(out))) == 3
    assert summary["resumed_from_output"] == 2
