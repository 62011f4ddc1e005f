"""Helpers for the batch tests: input files, reading OUT, running the runner, usage records."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from batch.inputs import read_input
from batch.runner import BatchRunner, Options
from routing.models import Route, RouteTarget
from routing.transport import records
from usage.models import UsageRecord

GPT = "fakeai/gpt-4o"
MINI = "fakeai/gpt-4o-mini"
OUTPUT_KEYS = {"id", "custom_id", "response", "error"}


def request_line(custom_id: str, prompt: str, model: str = GPT, **body: Any) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": model, "messages": [{"role": "user", "content": prompt}], **body},
    }


def write_jsonl(path: Path, lines: list[dict[str, Any] | str]) -> Path:
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    path.write_text(text)
    return path


def read_out(path: Path) -> list[dict[str, Any]]:
    """Every line of OUT, each checked to be whole JSON in the OpenAI Batch output shape."""
    raw = path.read_bytes()
    assert raw.endswith(b"\n"), "OUT ends with a half line"
    lines = [json.loads(line) for line in raw.splitlines()]
    for line in lines:
        assert set(line) == OUTPUT_KEYS, line
        assert line["id"].startswith("batch_req_")
        if line["error"] is None:
            assert line["response"]["status_code"] == 200
            assert line["response"]["body"]["object"] == "chat.completion"
        else:
            assert set(line["error"]) == {"code", "message"}
            if line["response"] is not None:
                assert line["response"]["status_code"] >= 400
                assert set(line["response"]["body"]["error"]) >= {"message", "type", "code"}
    return lines


def by_id(lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found = {line["custom_id"]: line for line in lines}
    assert len(found) == len(lines), "a custom_id appears twice in OUT"
    return found


def run(
    input_path: Path, out: Path, options: Options | None = None, cancel_after: int | None = None
) -> tuple[BatchRunner, dict[str, Any]]:
    """Run the batch on a fresh event loop; `cancel_after` aborts once that many lines landed."""
    runner = BatchRunner(read_input(input_path).items, out, options or Options(concurrency=4))

    async def main() -> dict[str, Any]:
        task = asyncio.create_task(runner.run())
        while cancel_after is not None and not task.done():
            if runner.tally.finished - runner.tally.resumed >= cancel_after:
                runner.abort()
                break
            await asyncio.sleep(0.005)
        return await task

    return runner, asyncio.run(main())


def batch_cost_in_records() -> Decimal:
    records.writer.flush(10)
    rows = UsageRecord.objects.filter(source=UsageRecord.Source.BATCH)
    return sum((r.cost_usd or Decimal(0) for r in rows), Decimal(0))


def make_route(slug: str, strategy: str, models: list[str], **fields: Any) -> Route:
    route = Route.objects.create(slug=slug, strategy=strategy, **fields)
    for position, model in enumerate(models):
        RouteTarget.objects.create(route=route, position=position, model=model)
    return route


@pytest.fixture
def cheap_mini(providers: Any) -> None:
    """gpt-4o-mini at its real list price so the budget policy can tell the models apart."""
    from routing.models import Model

    Model.objects.filter(model_id="gpt-4o-mini").update(input_price=0.15, output_price=0.6)
