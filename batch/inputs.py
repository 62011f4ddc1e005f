"""Batch input files: OpenAI Batch JSONL, plain text (one prompt a line), CSV with `prompt`.

`read_input()` detects the format and returns one `Item` per request line. A file that is
none of these is refused with `InputRefused` before anything runs; a bad line inside a good
file becomes an `Item` carrying a `LineError`, so it gets its own error line in the output.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

CHAT_URL = "/v1/chat/completions"
EMBEDDINGS_URL = "/v1/embeddings"
RESPONSES_URL = "/v1/responses"
URLS = (
    CHAT_URL,
    EMBEDDINGS_URL,
    RESPONSES_URL,
)  # the endpoints a batch line may call (batch/endpoints.py)
JSONL_SUFFIXES = {".jsonl", ".json", ".ndjson"}
BINARY_MAGIC = (b"%PDF", b"PK\x03\x04", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b")


class InputRefused(Exception):
    """The whole file is unusable: nothing runs."""


@dataclass(frozen=True)
class LineError:
    code: str
    message: str


@dataclass(frozen=True)
class Item:
    """One request line: its custom_id, its chat body (or why it cannot run), its line number."""

    custom_id: str
    line: int
    body: dict[str, Any] | None = None
    error: LineError | None = None
    duplicate: bool = False
    url: str = CHAT_URL

    @property
    def key(self) -> tuple[str, bool]:
        """Identity in OUT: a duplicate's error line shares the custom_id of the original."""
        return (self.custom_id, self.duplicate)


@dataclass(frozen=True)
class BatchInput:
    format: str  # jsonl | text | csv
    items: list[Item]


def read_input(path: Path) -> BatchInput:
    return parse_bytes(path.read_bytes(), path.suffix.lower())


def parse_bytes(data: bytes, suffix: str = "") -> BatchInput:
    text = _decode(data)
    fmt = detect_format(text, suffix)
    items = {"jsonl": _jsonl_items, "csv": _csv_items, "text": _text_items}[fmt](text)
    if not items:
        raise InputRefused("The file holds no requests.")
    return BatchInput(fmt, _mark_duplicates(items))


def _decode(data: bytes) -> str:
    if not data.strip():
        raise InputRefused("The file is empty.")
    if data.startswith(BINARY_MAGIC) or b"\x00" in data[:8192]:
        raise InputRefused(
            "This is a binary file, not a batch: send OpenAI Batch JSONL, "
            "plain text (one prompt per line) or CSV with a 'prompt' column."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputRefused(f"The file is not UTF-8 text (byte {exc.start}).") from None


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def detect_format(text: str, suffix: str = "") -> str:
    first = _first_line(text)
    if first.startswith("["):
        raise InputRefused("This is a JSON array; batch input is JSONL: one JSON object a line.")
    if first.startswith("{"):
        return "jsonl"
    if suffix in JSONL_SUFFIXES:
        raise InputRefused(f"A {suffix} file must hold one JSON object a line (OpenAI Batch).")
    if suffix == ".csv" or _csv_header(first):
        if not _csv_header(first):
            raise InputRefused("A CSV batch needs a 'prompt' column in its header row.")
        return "csv"
    return "text"


def _csv_header(line: str) -> bool:
    try:
        cells = next(csv.reader([line]))
    except (csv.Error, StopIteration):
        return False
    return len(cells) > 1 and "prompt" in {c.strip().lower() for c in cells}


def _text_items(text: str) -> list[Item]:
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            items.append(Item(f"line-{number}", number, body=_user_body(line.strip())))
    return items


def _user_body(prompt: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": prompt}]}


def _csv_items(text: str) -> list[Item]:
    reader = csv.DictReader(io.StringIO(text))
    columns = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
    prompt_col, id_col = columns["prompt"], columns.get("custom_id")
    items = []
    for row in reader:
        number = reader.line_num
        prompt = (row.get(prompt_col) or "").strip()
        custom_id = ((row.get(id_col) or "") if id_col else "").strip() or f"row-{number}"
        if prompt:
            items.append(Item(custom_id, number, body=_user_body(prompt)))
        elif any((value or "").strip() for value in row.values() if isinstance(value, str)):
            items.append(Item(custom_id, number, error=LineError("empty_prompt", "Empty prompt.")))
    return items


def _jsonl_items(text: str) -> list[Item]:
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            items.append(_jsonl_item(line, number))
    return items


def _jsonl_item(line: str, number: int) -> Item:
    fallback_id = f"line-{number}"
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return Item(fallback_id, number, error=LineError("invalid_json", f"Line {number}: {exc}"))
    if not isinstance(data, dict):
        return Item(fallback_id, number, error=_bad(number, "the line must be a JSON object"))
    custom_id = data.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        error = LineError("missing_custom_id", f"Line {number}: 'custom_id' must be a string.")
        return Item(fallback_id, number, error=error)
    problem = _request_problem(data)
    if problem:
        return Item(custom_id, number, error=_bad(number, problem))
    return Item(custom_id, number, body=data["body"], url=data.get("url", CHAT_URL))


def _request_problem(data: dict[str, Any]) -> str:
    method, url = data.get("method", "POST"), data.get("url", CHAT_URL)
    if str(method).upper() != "POST":
        return f"method must be POST, not {method!r}"
    if url not in URLS:
        return f"url must be one of {', '.join(URLS)}, not {url!r}"
    if not isinstance(data.get("body"), dict):
        return "'body' must be a JSON object (the request)"
    return ""


def _bad(number: int, problem: str) -> LineError:
    return LineError("invalid_request", f"Line {number}: {problem}.")


def _mark_duplicates(items: list[Item]) -> list[Item]:
    """Every repeat of a custom_id after the first becomes an error line of its own."""
    seen: Counter[str] = Counter()
    out = []
    for item in items:
        seen[item.custom_id] += 1
        if seen[item.custom_id] > 1:
            message = f"Line {item.line}: duplicate custom_id {item.custom_id!r}."
            error = LineError("duplicate_custom_id", message)
            item = Item(item.custom_id, item.line, error=error, duplicate=True)
        out.append(item)
    return out
