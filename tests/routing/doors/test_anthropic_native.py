"""The Anthropic SDK through the Anthropic door to an Anthropic model: passed through natively,
checked field by field against what the fake upstream received and sent, streaming and not."""

from __future__ import annotations

import base64
import json
from typing import Any

import anthropic
import httpx
import pytest

from tests.conftest import LiveServer
from tests.fake_upstream import FakeUpstream
from tests.routing.conftest import last_record
from tests.routing.doors.anthropic_helpers import NATIVE, UPSTREAM_ID, names, parse_sse

pytestmark = pytest.mark.usefixtures("providers")
STREAM = pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32).decode()
SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
RICH_MESSAGE: dict[str, Any] = {
    "id": "msg_01RichReplyWithEverything0",
    "type": "message",
    "role": "assistant",
    "model": UPSTREAM_ID,
    "content": [
        {"type": "thinking", "thinking": "Let me weigh the sources.", "signature": SIGNATURE},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT"},
        {
            "type": "server_tool_use",
            "id": "srvtoolu_014hJH82Qum7Td6UV8gDXThB",
            "name": "web_search",
            "input": {"query": "grass colour"},
        },
        {
            "type": "web_search_tool_result",
            "tool_use_id": "srvtoolu_014hJH82Qum7Td6UV8gDXThB",
            "content": [{"type": "web_search_result", "url": "https://example.org", "title": "G"}],
        },
        {
            "type": "text",
            "text": "The grass is green.",
            "citations": [
                {
                    "type": "char_location",
                    "cited_text": "The grass is green.",
                    "document_index": 0,
                    "document_title": "Facts",
                    "start_char_index": 0,
                    "end_char_index": 20,
                }
            ],
        },
        {
            "type": "tool_use",
            "id": "toolu_01A09q90qw90lq917835lq9",
            "name": "lookup",
            "input": {"q": "x"},
        },
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "stop_details": {"type": "tool_use"},
    "usage": {
        "input_tokens": 21,
        "cache_creation_input_tokens": 1500,
        "cache_read_input_tokens": 3000,
        "output_tokens": 40,
    },
}
REQUEST: dict[str, Any] = {
    "model": NATIVE,
    "max_tokens": 2048,
    "system": [
        {"type": "text", "text": "You are terse."},
        {"type": "text", "text": "Long reference text.", "cache_control": {"type": "ephemeral"}},
    ],
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "What colour is grass?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "Earlier thought.", "signature": SIGNATURE},
                {"type": "text", "text": "Let me check."},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Go on.", "cache_control": {"type": "ephemeral"}},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                },
            ],
        },
    ],
    "thinking": {"type": "enabled", "budget_tokens": 1024},
    "tools": [
        {
            "name": "lookup",
            "description": "Look something up.",
            "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
            "cache_control": {"type": "ephemeral"},
        },
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 2},
    ],
    "tool_choice": {"type": "auto"},
    "top_k": 5,
    "metadata": {"user_id": "user-42"},
    "stop_sequences": ["\n\nHuman:"],
}
BETA = "prompt-caching-2024-07-31,interleaved-thinking-2025-05-14"


def post(live_app: LiveServer, key: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    sent = {"x-api-key": key, "anthropic-version": "2023-06-01", "anthropic-beta": BETA, **headers}
    return httpx.post(f"{live_app.url}/v1/messages", json=body, headers=sent, timeout=30)


@STREAM
def test_request_reaches_anthropic_field_by_field(
    live_app: LiveServer, api_key: str, fake: FakeUpstream, stream: bool
) -> None:
    """The body the fake receives is the client's, with only the model id changed; the
    anthropic-version and anthropic-beta headers are passed on."""
    response = post(live_app, api_key, {**REQUEST, "stream": stream})
    assert response.status_code == 200, response.text
    received = fake.requests[-1]
    expected = {**REQUEST, "model": UPSTREAM_ID}
    if stream:
        expected["stream"] = True
    assert received.body == expected
    assert received.headers["anthropic-version"] == "2023-06-01"
    assert received.headers["anthropic-beta"] == BETA
    assert received.path == "/anthropic/v1/messages"
    assert "x-switchyard-dropped" not in response.headers


def test_answer_is_what_anthropic_sent_field_by_field(
    live_app: LiveServer, api_key: str, fake: FakeUpstream
) -> None:
    """Thinking and redacted thinking with signatures, server tool use, citations, tool_use
    ids, stop details and cache usage counts all come back untouched."""
    fake.set_message(UPSTREAM_ID, RICH_MESSAGE)
    response = post(live_app, api_key, REQUEST)
    assert response.status_code == 200, response.text
    sent = json.loads(bytes(fake.requests[-1].sent))
    assert sent == RICH_MESSAGE
    assert response.json() == {**RICH_MESSAGE, "model": NATIVE}
    assert response.headers["x-switchyard-model"] == NATIVE


def test_stream_is_relayed_event_by_event(
    live_app: LiveServer, api_key: str, fake: FakeUpstream
) -> None:
    """Every event the upstream sent (thinking_delta, signature_delta, citations_delta, ping,
    stop details) reaches the client as it was; only message_start's model id changes."""
    fake.set_message(UPSTREAM_ID, RICH_MESSAGE)
    with httpx.stream(
        "POST",
        f"{live_app.url}/v1/messages",
        json={**REQUEST, "stream": True},
        headers={"x-api-key": api_key, "anthropic-version": "2023-06-01"},
        timeout=30,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        got = parse_sse(b"".join(response.iter_bytes()))
    sent = parse_sse(bytes(fake.requests[-1].sent))
    assert len(got) == len(sent)
    assert got[0][1]["message"]["model"] == NATIVE
    got[0][1]["message"]["model"] = UPSTREAM_ID
    assert got == sent
    kinds = {d["delta"]["type"] for n, d in got if n == "content_block_delta"}
    assert kinds >= {"thinking_delta", "signature_delta", "citations_delta", "input_json_delta"}


def test_sdk_stream_helper_sees_thinking_signatures_and_cache_counts(
    claude: anthropic.Anthropic, fake: FakeUpstream
) -> None:
    """messages.stream() assembles the same message Anthropic would give it."""
    fake.set_message(UPSTREAM_ID, RICH_MESSAGE)
    kwargs = {k: v for k, v in REQUEST.items() if k != "top_k"}  # not a stream() argument
    with claude.messages.stream(**kwargs) as stream:
        final = stream.get_final_message()
    thinking = final.content[0]
    assert thinking.type == "thinking" and thinking.signature == SIGNATURE
    assert thinking.thinking == "Let me weigh the sources."
    assert final.content[1].type == "redacted_thinking"
    assert final.content[2].type == "server_tool_use"
    text = final.content[4]
    assert text.type == "text" and text.citations and text.citations[0].cited_text
    assert final.content[5].id == "toolu_01A09q90qw90lq917835lq9"
    assert final.stop_reason == "tool_use"
    assert final.usage.cache_creation_input_tokens == 1500
    assert final.usage.cache_read_input_tokens == 3000
    record = last_record()
    assert record.protocol == "messages" and record.stream
    assert record.cached_tokens == 3000
    assert record.input_tokens == 21 + 1500 + 3000 and record.output_tokens == 40
    assert record.cost_usd is not None and record.cost_usd > 0


@STREAM
def test_text(claude: anthropic.Anthropic, fake: FakeUpstream, stream: bool) -> None:
    """Plain text, system as a string, with a usage record of this door."""
    kwargs: dict[str, Any] = {
        "model": NATIVE,
        "max_tokens": 100,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "hello there"}],
    }
    if stream:
        with claude.messages.stream(**kwargs) as events:
            text = "".join(events.text_stream)
            final = events.get_final_message()
    else:
        final = claude.messages.create(**kwargs)
        text = final.content[0].text  # type: ignore[union-attr]
    assert text == f"Hello from {UPSTREAM_ID}. You said: hello there"
    assert final.model == NATIVE and final.stop_reason == "end_turn"
    assert fake.requests[-1].body["system"] == "Be brief."
    record = last_record()
    assert record.protocol == "messages" and record.model == NATIVE
    assert record.stream is stream and record.status == "ok"
    assert record.input_tokens > 0 and record.output_tokens > 0 and record.cost_usd


@STREAM
def test_tool_use_round_trip(claude: anthropic.Anthropic, fake: FakeUpstream, stream: bool) -> None:
    """A tool call comes back with its id; the tool_result that answers it reaches the model
    with the same id."""
    tools = [
        {
            "name": "weather",
            "description": "Weather for a city.",
            "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}},
        }
    ]
    messages: list[dict[str, Any]] = [{"role": "user", "content": "call: Paris"}]
    kwargs = {"model": NATIVE, "max_tokens": 200, "tools": tools, "messages": messages}
    if stream:
        with claude.messages.stream(**kwargs) as events:
            seen = [e.type for e in events]
            first = events.get_final_message()
        assert "input_json" in seen
    else:
        first = claude.messages.create(**kwargs)
    call = first.content[0]
    assert first.stop_reason == "tool_use" and call.type == "tool_use"
    assert call.input == {"query": "Paris"} and call.id.startswith("toolu_")
    messages += [
        {"role": "assistant", "content": [c.model_dump(exclude_none=True) for c in first.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "Sunny, 21C"}],
        },
    ]
    second = claude.messages.create(**{**kwargs, "messages": messages})
    assert "Sunny, 21C" in second.content[0].text  # type: ignore[union-attr]
    result = fake.requests[-1].body["messages"][2]["content"][0]
    assert result == {"type": "tool_result", "tool_use_id": call.id, "content": "Sunny, 21C"}


@STREAM
def test_image_and_cache_control_arrive_intact(
    claude: anthropic.Anthropic, fake: FakeUpstream, stream: bool
) -> None:
    """Image blocks and cache_control markers reach Anthropic unchanged; cache usage counts
    come back."""
    fake.set_cache_tokens(UPSTREAM_ID, creation=1200, read=0)
    content = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "text", "text": "What is this?", "cache_control": {"type": "ephemeral"}},
    ]
    kwargs = {"model": NATIVE, "max_tokens": 50, "messages": [{"role": "user", "content": content}]}
    if stream:
        with claude.messages.stream(**kwargs) as events:
            final = events.get_final_message()
    else:
        final = claude.messages.create(**kwargs)
    assert fake.requests[-1].body["messages"][0]["content"] == content
    assert final.usage.cache_creation_input_tokens == 1200


def test_stream_event_order_is_anthropics(
    live_app: LiveServer, api_key: str, fake: FakeUpstream
) -> None:
    """message_start, content_block_start, ping, deltas, content_block_stop, message_delta
    (stop_reason and usage), message_stop."""
    body = {
        "model": NATIVE,
        "max_tokens": 50,
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
    }
    response = post(live_app, api_key, body)
    events = parse_sse(response.content)
    order = names(events)
    assert order[:3] == ["message_start", "content_block_start", "ping"]
    assert order[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    delta = events[-2][1]
    assert delta["delta"]["stop_reason"] == "end_turn" and delta["usage"]["output_tokens"] > 0


def test_bearer_key_works_like_x_api_key(live_app: LiveServer, api_key: str) -> None:
    """Claude Code with ANTHROPIC_AUTH_TOKEN sends the key as a bearer token."""
    body = {"model": NATIVE, "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
    response = httpx.post(
        f"{live_app.url}/v1/messages",
        json=body,
        headers={"authorization": f"Bearer {api_key}", "anthropic-version": "2023-06-01"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["type"] == "message"


def test_count_tokens_is_passed_through(claude: anthropic.Anthropic, fake: FakeUpstream) -> None:
    """count_tokens for an Anthropic model is Anthropic's own count, not an estimate."""
    counted = claude.messages.count_tokens(
        model=NATIVE, messages=[{"role": "user", "content": "one two three four"}]
    )
    assert fake.requests[-1].path == "/anthropic/v1/messages/count_tokens"
    assert fake.requests[-1].body["model"] == UPSTREAM_ID
    assert counted.input_tokens == 4
    assert not getattr(counted, "estimated", False)


def test_models_in_anthropics_shape(live_app: LiveServer, api_key: str) -> None:
    """GET /v1/models with anthropic-version answers Anthropic's list shape."""
    client = anthropic.Anthropic(base_url=live_app.url, api_key=api_key, max_retries=0)
    listed = {m.id: m for m in client.models.list()}
    assert listed[NATIVE].type == "model" and listed[NATIVE].display_name
    detail = client.models.retrieve(NATIVE)
    assert detail.id == NATIVE
    plain = httpx.get(f"{live_app.url}/v1/models", headers={"authorization": f"Bearer {api_key}"})
    assert plain.json()["object"] == "list"  # the OpenAI shape without the header
