"""The Anthropic door to models on OpenAI-compatible providers: requests and streams translated
both ways (tools included), what cannot cross named in x-switchyard-dropped; and recorded
event sequences of both protocols replayed through the door."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from tests.conftest import LiveServer
from tests.fake_upstream import FakeUpstream
from tests.routing.conftest import last_record
from tests.routing.doors.anthropic_helpers import (
    NATIVE,
    OPENAI_MODEL,
    UPSTREAM_ID,
    names,
    parse_sse,
)

pytestmark = pytest.mark.usefixtures("providers")
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
STREAM = pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
WEATHER = {
    "name": "get_weather",
    "description": "Weather for a place.",
    "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}},
}


def stream_raw(live_app: LiveServer, key: str, body: dict[str, Any]) -> httpx.Response:
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    return httpx.post(
        f"{live_app.url}/v1/messages", json={**body, "stream": True}, headers=headers, timeout=30
    )


@STREAM
def test_text_is_translated_both_ways(
    claude: anthropic.Anthropic, fake: FakeUpstream, stream: bool
) -> None:
    """System blocks, a multi-turn conversation and options become an OpenAI request; the
    answer comes back as an Anthropic message."""
    kwargs: dict[str, Any] = {
        "model": OPENAI_MODEL,
        "max_tokens": 64,
        "extra_body": {"temperature": 0.5, "top_p": 0.9},  # not create() arguments in this SDK
        "stop_sequences": ["END"],
        "metadata": {"user_id": "u-1"},
        "system": [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Be kind."}],
        "messages": [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": [{"type": "text", "text": "second question"}]},
        ],
    }
    if stream:
        with claude.messages.stream(**kwargs) as events:
            final = events.get_final_message()
    else:
        final = claude.messages.create(**kwargs)
    sent = fake.requests[-1].body
    assert fake.requests[-1].path == "/openai/v1/chat/completions"
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief.\nBe kind."},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "second question"}]},
    ]
    assert (sent["max_tokens"], sent["temperature"], sent["top_p"]) == (64, 0.5, 0.9)
    assert sent["stop"] == ["END"] and sent["user"] == "u-1"
    assert final.content[0].text == "Hello from gpt-4o. You said: second question"  # type: ignore[union-attr]
    assert final.model == OPENAI_MODEL and final.stop_reason == "end_turn"
    assert final.usage.input_tokens > 0 and final.usage.output_tokens > 0
    assert last_record().protocol == "messages"


@STREAM
def test_tools_round_trip_translated(
    claude: anthropic.Anthropic, fake: FakeUpstream, stream: bool
) -> None:
    """Tools become functions, tool_choice any becomes required with parallel calls off; the
    call comes back as tool_use and its tool_result goes up as a tool message."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": "call: Oslo"}]
    kwargs: dict[str, Any] = {
        "model": OPENAI_MODEL,
        "max_tokens": 100,
        "tools": [WEATHER],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "messages": messages,
    }
    if stream:
        with claude.messages.stream(**kwargs) as events:
            first = events.get_final_message()
    else:
        first = claude.messages.create(**kwargs)
    sent = fake.requests[-1].body
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": WEATHER["input_schema"],
                "description": "Weather for a place.",
            },
        }
    ]
    assert sent["tool_choice"] == "required" and sent["parallel_tool_calls"] is False
    call = first.content[0]
    assert first.stop_reason == "tool_use" and call.type == "tool_use"
    assert call.name == "get_weather" and call.input == {"query": "Oslo"}
    messages += [
        {"role": "assistant", "content": [c.model_dump(exclude_none=True) for c in first.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "Rain"}],
        },
    ]
    claude.messages.create(**{**kwargs, "messages": messages, "tool_choice": {"type": "auto"}})
    up = fake.requests[-1].body["messages"]
    assert up[1]["tool_calls"][0]["id"] == call.id
    assert json.loads(up[1]["tool_calls"][0]["function"]["arguments"]) == {"query": "Oslo"}
    assert up[2] == {"role": "tool", "tool_call_id": call.id, "content": "Rain"}


@STREAM
def test_image_becomes_an_image_url_part(
    claude: anthropic.Anthropic, fake: FakeUpstream, stream: bool
) -> None:
    """A base64 image block reaches the OpenAI-compatible model as a data URL."""
    content = [
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0K"},
        },
        {"type": "text", "text": "describe"},
    ]
    kwargs = {
        "model": OPENAI_MODEL,
        "max_tokens": 20,
        "messages": [{"role": "user", "content": content}],
    }
    if stream:
        with claude.messages.stream(**kwargs) as events:
            events.get_final_message()
    else:
        claude.messages.create(**kwargs)
    parts = fake.requests[-1].body["messages"][0]["content"]
    assert parts[0] == {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}}


@STREAM
def test_what_cannot_cross_is_named(
    live_app: LiveServer, api_key: str, fake: FakeUpstream, stream: bool
) -> None:
    """thinking, cache_control, top_k and a server tool have no OpenAI equivalent: the header
    names them (and a native request names nothing)."""
    body = {
        "model": OPENAI_MODEL,
        "max_tokens": 2000,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "top_k": 3,
        "system": [{"type": "text", "text": "S", "cache_control": {"type": "ephemeral"}}],
        "tools": [{"type": "web_search_20250305", "name": "web_search"}],
        "messages": [{"role": "user", "content": "hi"}],
        "stream": stream,
    }
    headers = {"x-api-key": api_key, "anthropic-version": "2023-06-01"}
    response = httpx.post(f"{live_app.url}/v1/messages", json=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    dropped = {d.strip() for d in response.headers["x-switchyard-dropped"].split(",")}
    assert dropped == {"thinking", "top_k", "cache_control", "server tool web_search_20250305"}
    native = httpx.post(
        f"{live_app.url}/v1/messages", json={**body, "model": NATIVE}, headers=headers, timeout=30
    )
    assert native.status_code == 200 and "x-switchyard-dropped" not in native.headers


def test_recorded_openai_text_chunks_become_anthropic_events(
    live_app: LiveServer, api_key: str, fake: FakeUpstream
) -> None:
    """OpenAI's documented text stream -> Anthropic's event sequence, deltas and usage."""
    fake.set_recording("gpt-4o", (FIXTURES / "openai" / "stream_text.txt").read_text())
    events = parse_sse(
        stream_raw(
            live_app,
            api_key,
            {
                "model": OPENAI_MODEL,
                "max_tokens": 50,
                "messages": [{"role": "user", "content": "joke"}],
            },
        ).content
    )
    assert names(events) == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert events[0][1]["message"]["model"] == OPENAI_MODEL
    assert events[1][1]["content_block"] == {"type": "text", "text": ""}
    texts = [d["delta"]["text"] for n, d in events if n == "content_block_delta"]
    assert texts == ["Why", " don't", " skeletons fight?"]
    delta = events[-2][1]
    assert delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert delta["usage"]["input_tokens"] == 11 and delta["usage"]["output_tokens"] == 6


def test_recorded_openai_tool_call_chunks_become_input_json_deltas(
    live_app: LiveServer, api_key: str, fake: FakeUpstream
) -> None:
    """OpenAI's documented tool-call stream -> a tool_use block fed by input_json_delta."""
    fake.set_recording("gpt-4o", (FIXTURES / "openai" / "stream_tool_calls.txt").read_text())
    body = {
        "model": OPENAI_MODEL,
        "max_tokens": 50,
        "tools": [WEATHER],
        "messages": [{"role": "user", "content": "weather?"}],
    }
    events = parse_sse(stream_raw(live_app, api_key, body).content)
    assert names(events)[:3] == ["message_start", "content_block_start", "ping"]
    assert events[1][1]["content_block"] == {
        "type": "tool_use",
        "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA",
        "name": "get_weather",
        "input": {},
    }
    parts = [d["delta"]["partial_json"] for n, d in events if n == "content_block_delta"]
    assert {d["delta"]["type"] for n, d in events if n == "content_block_delta"} == {
        "input_json_delta"
    }
    assert json.loads("".join(parts)) == {"location": "Paris, France"}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"
    assert names(events)[-3:] == ["content_block_stop", "message_delta", "message_stop"]


@pytest.mark.parametrize(
    "fixture", ["stream_text.txt", "stream_tool_use.txt", "stream_thinking.txt"]
)
def test_recorded_anthropic_sequences_are_relayed_as_they_are(
    live_app: LiveServer, api_key: str, fake: FakeUpstream, fixture: str
) -> None:
    """Anthropic's documented streams (text, tool use with input_json_delta, thinking with
    signature_delta) reach the client event for event, only the model id changed."""
    recording = (FIXTURES / "anthropic" / fixture).read_text()
    fake.set_recording(UPSTREAM_ID, recording)
    body = {"model": NATIVE, "max_tokens": 2048, "messages": [{"role": "user", "content": "go"}]}
    got = parse_sse(stream_raw(live_app, api_key, body).content)
    expected = parse_sse(recording)
    assert got[0][1]["message"]["model"] == NATIVE
    got[0][1]["message"]["model"] = expected[0][1]["message"]["model"]
    assert got == expected


def test_recorded_thinking_stream_through_the_sdk(
    claude: anthropic.Anthropic, fake: FakeUpstream
) -> None:
    """The SDK assembles the documented thinking stream into a signed thinking block."""
    fake.set_recording(UPSTREAM_ID, (FIXTURES / "anthropic" / "stream_thinking.txt").read_text())
    with claude.messages.stream(
        model=NATIVE,
        max_tokens=2048,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "gcd?"}],
    ) as events:
        final = events.get_final_message()
    assert final.content[0].type == "thinking"
    assert final.content[0].signature.startswith("EqQBCgIYAhIM")
    assert "GCD(1071, 462) = 21" in final.content[0].thinking
    assert final.content[1].text.endswith("**21**.")  # type: ignore[union-attr]


def test_recorded_error_mid_stream_ends_with_an_error_event(
    live_app: LiveServer, api_key: str, fake: FakeUpstream
) -> None:
    """Anthropic's documented mid-stream overloaded error: the client gets an error event and
    no message_stop, and the usage record says it failed."""
    recording = (FIXTURES / "anthropic" / "stream_error_midstream.txt").read_text()
    fake.set_recording(UPSTREAM_ID, recording)
    body = {"model": NATIVE, "max_tokens": 50, "messages": [{"role": "user", "content": "go"}]}
    response = stream_raw(live_app, api_key, body)
    events = parse_sse(response.content)
    assert names(events)[:4] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
    ]
    assert names(events)[-1] == "error" and "message_stop" not in names(events)
    assert events[-1][1]["error"]["type"] == "overloaded_error"
    record = last_record(response.headers["x-request-id"])
    assert record.status == "error" and record.protocol == "messages"


def test_count_tokens_for_other_models_is_an_estimate(
    claude: anthropic.Anthropic, fake: FakeUpstream
) -> None:
    """No count endpoint on OpenAI-compatible providers: an estimate, marked as one."""
    before = len(fake.requests)
    raw = claude.messages.with_raw_response.count_tokens(
        model=OPENAI_MODEL, messages=[{"role": "user", "content": "x" * 400}]
    )
    assert raw.headers["x-switchyard-estimated"] == "true"
    data = json.loads(raw.http_response.content)
    assert data == {"input_tokens": 100, "estimated": True}
    assert len(fake.requests) == before  # nothing was sent upstream
