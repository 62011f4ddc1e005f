"""Smoke tests: every piece of bench/ runs for about a second with tiny settings.

No timing assertions: these only keep the harness from rotting. LiteLLM is never needed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bench import bench_policies, client_cost, loadgen, run, write_section


@pytest.mark.parametrize("stream", [False, True])
def test_loadgen_against_fast_upstream(fast_upstream_port: int, stream: bool) -> None:
    spec = loadgen.LoadSpec(port=fast_upstream_port, stream=stream, concurrency=2, seconds=0.3)
    result = asyncio.run(loadgen.run_load(spec))
    assert result["requests"] > 0
    assert result["errors"] == 0, result["error_sample"]
    assert (result["ttft_ms"] is not None) is stream
    assert result["cpu_s"] >= 0


def test_fast_upstream_answers_like_openai(fast_upstream_port: int) -> None:
    spec = loadgen.LoadSpec(port=fast_upstream_port, model="m1", stream=True)
    status, body = loadgen.request_once(spec)
    assert status == 200
    assert body.count(b"data: ") == 5 + 2 + 1  # chunks, finish, usage, [DONE]
    assert b'"usage"' in body and body.rstrip().endswith(b"data: [DONE]")
    status, body = loadgen.request_once(loadgen.LoadSpec(port=fast_upstream_port, model="m1"))
    assert status == 200 and b'"chat.completion"' in body and b'"m1"' in body


def test_response_parser_handles_split_chunked_bodies() -> None:
    raw = (
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
        b"6\r\ndata: \r\n8\r\n[DONE]\n\n\r\n0\r\n\r\n"
    )
    parser = loadgen.ResponseParser()
    done = [parser.feed(raw[i : i + 1], float(i)) for i in range(len(raw))]
    assert done[-1] and not any(done[:-1])
    assert parser.status == 200 and parser.saw_done and parser.first_event_at is not None


def test_loadgen_refuses_other_hosts() -> None:
    with pytest.raises(SystemExit):
        asyncio.run(loadgen.run_load(loadgen.LoadSpec(port=80, host="10.0.0.1")))


def test_policy_benchmark_runs(tmp_path: Path) -> None:
    out = tmp_path / "bench.md"
    rows = bench_policies.main(["--iterations", "5", "--output", str(out)])
    strategies = {r["strategy"] for r in rows}
    assert {"rules", "budget", "complexity", "fallback", "latency"} <= strategies
    assert {r["prompt"] for r in rows} == {"short", "2,000-token"}
    assert "## Policy decision" in out.read_text()


def test_write_section_replaces_only_its_own_block(tmp_path: Path) -> None:
    out = tmp_path / "b.md"
    write_section("a", "first", out)
    write_section("b", "other", out)
    write_section("a", "second", out)
    text = out.read_text()
    assert "second" in text and "first" not in text and "other" in text


def test_full_run_with_tiny_settings(tmp_path: Path) -> None:
    """Upstream, a throwaway Switchyard (direct and route/auto), tables and the report."""
    out = tmp_path / "benchmarks.md"
    run.main(
        [
            "--seconds",
            "0.25",
            "--warmup",
            "0.05",
            "--concurrency",
            "1",
            "--no-litellm",
            "--no-pin",
            "--output",
            str(out),
        ]
    )
    text = out.read_text()
    assert "make bench" in text and "## Gateway overhead and throughput" in text
    for target in (
        "| direct |",
        "| floor (uvicorn + client) |",
        "| switchyard |",
        "| switchyard /v1/messages |",
        "| switchyard route/auto |",
    ):
        assert target in text
    door_rows = [
        line.split("|")[1:-1] for line in text.splitlines() if "| switchyard /v1/messages |" in line
    ]
    assert len(door_rows) == 2 and all(cells[11].strip() == "0" for cells in door_rows)  # errors
    assert "against the chat door's gateway CPU per request" in text


@pytest.mark.parametrize("client", ["switchyard", "httpx"])
def test_client_cost_measures(fast_upstream_port: int, client: str) -> None:
    url = f"http://127.0.0.1:{fast_upstream_port}/v1/chat/completions"
    line = asyncio.run(client_cost.measure(client, url, requests=64, concurrency=4))
    assert line.startswith(client) and "µs CPU per call" in line
