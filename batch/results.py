"""A job's lines as the job page shows them: prompt -> answer, status, cost, and the failures.

Reads the job's input and output files (output lines arrive in completion order and are
matched to input lines by custom_id) and the usage records of their request ids for the cost.
Also writes the input of a retry: the lines of a job that failed, as OpenAI Batch JSONL.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from batch.inputs import CHAT_URL, InputRefused, Item, read_input
from usage.models import UsageRecord
from usage.records import by_request_ids

PAGE = 100
TEXT_LIMIT = 400


@dataclass(frozen=True)
class Line:
    number: int
    custom_id: str
    prompt: str
    status: str  # ok | failed | pending
    answer: str = ""
    error_code: str = ""
    error: str = ""
    cost: Decimal | None = None
    request_id: str = ""
    record_id: int | None = None


@dataclass(frozen=True)
class Failure:
    code: str
    count: int
    example: str  # the first message with this code


def _short(text: str) -> str:
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def prompt_of(item: Item) -> str:
    messages = (item.body or {}).get("messages") or []
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    return _short(_text(users[-1].get("content")) if users else "")


def answer_of(line: dict[str, Any]) -> str:
    body = (line.get("response") or {}).get("body") or {}
    choices = body.get("choices") or []
    if not choices or not isinstance(choices[0], dict):
        return ""
    return _short(_text((choices[0].get("message") or {}).get("content")))


def output_lines(path: Path) -> dict[tuple[str, bool], dict[str, Any]]:
    """OUT's lines by the input line they answer (a torn last line is left out)."""
    from batch.output import line_key

    found: dict[tuple[str, bool], dict[str, Any]] = {}
    if not path.is_file():
        return found
    for raw in path.read_bytes().splitlines():
        try:
            line = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        if isinstance(line, dict):
            found[line_key(line)] = line
    return found


def _items(input_path: Path) -> list[Item]:
    try:
        return read_input(input_path).items
    except (InputRefused, OSError):
        return []


def _line(item: Item, line: dict[str, Any] | None, records: dict[str, UsageRecord]) -> Line:
    if line is None:
        return Line(item.line, item.custom_id, prompt_of(item), "pending")
    error = line.get("error") or {}
    request_id = (line.get("response") or {}).get("request_id") or ""
    record = records.get(request_id)
    return Line(
        number=item.line,
        custom_id=item.custom_id,
        prompt=prompt_of(item),
        status="failed" if error else "ok",
        answer=answer_of(line),
        error_code=str(error.get("code", "")),
        error=str(error.get("message", "")),
        cost=record.cost_usd if record is not None else (None if request_id else Decimal(0)),
        request_id=request_id,
        record_id=record.pk if record is not None else None,
    )


def lines(
    input_path: Path, output_path: Path, status: str = "", page: int = 1
) -> tuple[list[Line], int]:
    """One page of the job's lines (input order), optionally only `status` ones; and the count."""
    out = output_lines(output_path)
    pairs = [(item, out.get(item.key)) for item in _items(input_path)]
    if status == "failed":
        pairs = [(i, o) for i, o in pairs if o is not None and o.get("error")]
    elif status == "ok":
        pairs = [(i, o) for i, o in pairs if o is not None and not o.get("error")]
    chosen = pairs[(page - 1) * PAGE : page * PAGE]
    ids = [(o.get("response") or {}).get("request_id") for _, o in chosen if o is not None]
    records = {r.request_id: r for r in by_request_ids([i for i in ids if i])}
    return [_line(item, o, records) for item, o in chosen], len(pairs)


def failures(output_path: Path) -> list[Failure]:
    """Failed lines by error code, most frequent first, each with its first message."""
    counts: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for line in output_lines(output_path).values():
        error = line.get("error")
        if error:
            code = str(error.get("code") or "unknown")
            counts[code] += 1
            examples.setdefault(code, str(error.get("message", "")))
    return [Failure(code, n, examples[code]) for code, n in counts.most_common()]


def failed_requests(input_path: Path, output_path: Path) -> list[Item]:
    """Input lines whose output line is an error and that hold a request (can be retried)."""
    out = output_lines(output_path)
    return [
        item
        for item in _items(input_path)
        if item.body is not None and (line := out.get(item.key)) is not None and line.get("error")
    ]


def retry_input(items: list[Item]) -> bytes:
    """Those lines as OpenAI Batch JSONL (custom_ids kept, so outputs can be matched up)."""
    rows = [
        orjson.dumps({"custom_id": i.custom_id, "method": "POST", "url": CHAT_URL, "body": i.body})
        for i in items
    ]
    return b"\n".join(rows) + b"\n"
