"""Input files: format detection, refusals, per-line errors."""

from __future__ import annotations

import json

import pytest

from batch.inputs import InputRefused, parse_bytes


def jsonl(*lines: object) -> bytes:
    return "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines).encode()


def chat(custom_id: str, **extra: object) -> dict:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": body,
        **extra,
    }


def test_openai_batch_jsonl() -> None:
    """OpenAI Batch lines become items with their custom_id and body."""
    parsed = parse_bytes(jsonl(chat("a"), chat("b")), ".jsonl")
    assert parsed.format == "jsonl"
    assert [i.custom_id for i in parsed.items] == ["a", "b"]
    assert parsed.items[0].body["model"] == "m"


def test_plain_text_one_prompt_per_line() -> None:
    """Each non-blank line is a prompt; its custom_id names its line."""
    parsed = parse_bytes(b"first question\n\nsecond question\n", ".txt")
    assert parsed.format == "text"
    assert [(i.custom_id, i.body["messages"][0]["content"]) for i in parsed.items] == [
        ("line-1", "first question"),
        ("line-3", "second question"),
    ]


def test_csv_with_prompt_column() -> None:
    """CSV needs a prompt column; a custom_id column is used when present."""
    parsed = parse_bytes(b'custom_id,prompt\nx1,"Hello, world"\n,second\n', ".csv")
    assert parsed.format == "csv"
    assert [(i.custom_id, i.body["messages"][0]["content"]) for i in parsed.items] == [
        ("x1", "Hello, world"),
        ("row-3", "second"),
    ]


@pytest.mark.parametrize(
    "data,suffix,message",
    [
        (b"", ".jsonl", "empty"),
        (b"%PDF-1.7\n...", ".pdf", "binary"),
        (b"\xff\xfe\x00h\x00i", ".txt", "binary"),
        (b"caf\xe9 au lait\n", ".txt", "not UTF-8"),
        (b'[{"custom_id": "a"}]', ".json", "JSON array"),
        (b"just words\n", ".jsonl", "one JSON object a line"),
        (b"id,question\n1,hi\n", ".csv", "'prompt' column"),
    ],
)
def test_refused_files(data: bytes, suffix: str, message: str) -> None:
    """Files that are not JSONL, CSV or text are refused with a clear message."""
    with pytest.raises(InputRefused, match=message):
        parse_bytes(data, suffix)


def test_bad_lines_become_error_items() -> None:
    """Broken JSON, wrong url/method, missing custom_id and duplicates each carry an error."""
    parsed = parse_bytes(
        jsonl(
            chat("a"),
            "{oops",
            chat("b", url="/v1/audio/speech"),
            chat("c", method="GET"),
            {"body": {}},
            chat("a"),
            [1, 2],
        )
    )
    errors = [(i.custom_id, i.error.code if i.error else None) for i in parsed.items]
    assert errors == [
        ("a", None),
        ("line-2", "invalid_json"),
        ("b", "invalid_request"),
        ("c", "invalid_request"),
        ("line-5", "missing_custom_id"),
        ("a", "duplicate_custom_id"),
        ("line-7", "invalid_request"),
    ]
    assert parsed.items[5].duplicate and parsed.items[5].key == ("a", True)
