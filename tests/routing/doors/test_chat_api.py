"""The OpenAI SDK against Switchyard against the fake upstream: the happy paths."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import openai
import pytest

from routing.doors.openai_chat import sse
from routing.providers import Chunk
from routing.transport import records
from tests.conftest import FAKE_SECRET
from tests.fake_upstream import FakeUpstream
from usage.models import UsageRecord

pytestmark = pytest.mark.usefixtures("providers")


def last_record() -> UsageRecord:
    records.writer.flush(10)
    return UsageRecord.objects.order_by("-id").first()


def test_models_list_shows_configured_models_with_prices(client: openai.OpenAI) -> None:
    """models.list() returns OpenAI model objects with prices and context windows."""
    models = {m.id: m for m in client.models.list().data}
    assert "fakeai/gpt-4o" in models
    assert "fakeanthropic/claude-3-5-sonnet-20241022" in models
    gpt = models["fakeai/gpt-4o"].model_dump()
    assert gpt["object"] == "model"
    assert gpt["owned_by"] == "fakeai"
    assert gpt["pricing"]["input_per_million"] == 2.5


def test_non_streaming_completion(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """A plain completion relays the answer, names the answering model and its cost."""
    raw = client.chat.completions.with_raw_response.create(
        model="fakeai/gpt-4o",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi there"},
        ],
        temperature=0.2,
        top_p=0.9,
        max_tokens=50,
        seed=7,
        stop=["zzz"],
    )
    result = raw.parse()
    assert result.model == "fakeai/gpt-4o"
    assert result.choices[0].message.content.startswith("Hello from gpt-4o")
    assert raw.headers["x-switchyard-model"] == "fakeai/gpt-4o"
    assert float(raw.headers["x-switchyard-cost-usd"]) > 0
    sent = fake.requests[-1]
    assert sent.body["model"] == "gpt-4o"
    assert sent.body["temperature"] == 0.2 and sent.body["top_p"] == 0.9
    assert sent.body["seed"] == 7 and sent.body["stop"] == ["zzz"] and sent.body["max_tokens"] == 50
    assert sent.headers["authorization"] == f"Bearer {FAKE_SECRET}"


def test_usage_record_has_tokens_and_cost(client: openai.OpenAI) -> None:
    """Each request leaves a usage record priced from genai-prices with the reported usage."""
    result = client.chat.completions.create(
        model="fakeai/gpt-4o", messages=[{"role": "user", "content": "count my words please"}]
    )
    record = last_record()
    assert record.model == "fakeai/gpt-4o" and record.provider == "fakeai"
    assert record.status == "ok" and record.requested_model == "fakeai/gpt-4o"
    assert record.input_tokens == result.usage.prompt_tokens
    assert record.output_tokens == result.usage.completion_tokens
    expected = (result.usage.prompt_tokens * 2.5 + result.usage.completion_tokens * 10) / 1e6
    assert float(record.cost_usd) == pytest.approx(expected)
    assert record.latency_ms > 0 and record.api_key is not None


def test_unpriced_model_is_flagged_not_zero(client: openai.OpenAI) -> None:
    """A model without a known price records cost unknown, never $0."""
    raw = client.chat.completions.with_raw_response.create(
        model="fakeai/unpriced-model", messages=[{"role": "user", "content": "hi"}]
    )
    assert raw.headers["x-switchyard-cost-usd"] == "unknown"
    record = last_record()
    assert record.cost_usd is None and record.price_known is False


def test_streaming_with_usage(client: openai.OpenAI) -> None:
    """stream=True relays chunks in order and honours include_usage."""
    chunks = list(
        client.chat.completions.create(
            model="fakeai/gpt-4o",
            messages=[{"role": "user", "content": "stream this answer"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("Hello from gpt-4o. You said: stream this answer")
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert {c.model for c in chunks} == {"fakeai/gpt-4o"}
    finishes = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finishes == ["stop"]
    record = last_record()
    assert record.stream and record.output_tokens == chunks[-1].usage.completion_tokens
    assert record.ttft_ms is not None and record.tokens_estimated is False


def test_streamed_chunks_reach_the_client_as_the_upstream_sends_them(
    client: openai.OpenAI, fake: FakeUpstream
) -> None:
    """Chunks the upstream sends apart are relayed apart: nothing waits for the next one."""
    fake.set_reply("gpt-4o", " ".join(f"w{i}" for i in range(12)))
    fake.set_chunk_delay("gpt-4o", 0.1)
    arrived = []
    stream = client.chat.completions.create(
        model="fakeai/gpt-4o", messages=[{"role": "user", "content": "slowly"}], stream=True
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            arrived.append(time.monotonic())
    assert len(arrived) >= 10
    assert arrived[-1] - arrived[0] > 0.6  # spread out as sent, not delivered at the end


class _Session:
    def __init__(self, chunks: list[Chunk]) -> None:
        self._chunks = chunks

    async def chunks(self) -> AsyncIterator[Chunk]:
        for chunk in self._chunks:
            yield chunk


def _piece(text: str, more: bool) -> Chunk:
    return Chunk(data={"choices": [{"delta": {"content": text}}]}, text=text, more=more)


def test_chunks_that_arrived_together_are_written_together() -> None:
    """`more` marks a chunk whose successor is already here: after the first event (sent at
    once, for time to first token) the relay joins such chunks into one write."""
    chunks = [
        _piece("a", True),
        _piece("b", True),
        _piece("c", False),
        _piece("d", True),
        _piece("e", True),
    ]

    async def relay() -> list[bytes]:
        return [part async for part in sse(_Session(chunks), include_usage=False)]  # type: ignore[arg-type]

    parts = asyncio.run(relay())
    assert [part.count(b"data: ") for part in parts] == [1, 2, 3]
    assert b'"a"' in parts[0] and b'"b"' in parts[1] and b'"c"' in parts[1]
    assert b'"e"' in parts[2] and parts[2].endswith(b"data: [DONE]\n\n")


def test_streaming_without_usage_hides_usage_chunk(client: openai.OpenAI) -> None:
    """Without include_usage the client sees no usage chunk, but the record still has tokens."""
    chunks = list(
        client.chat.completions.create(
            model="fakeai/gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    )
    assert all(c.usage is None for c in chunks)
    assert last_record().output_tokens > 0


def test_tools_pass_through(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """tools/tool_choice reach an OpenAI-compatible upstream and tool calls come back."""
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    result = client.chat.completions.create(
        model="fakeai/gpt-4o",
        messages=[{"role": "user", "content": "call: weather in Paris"}],
        tools=tools,
        tool_choice="auto",
    )
    call = result.choices[0].message.tool_calls[0]
    assert call.function.name == "lookup"
    assert json.loads(call.function.arguments) == {"query": "weather in Paris"}
    assert result.choices[0].finish_reason == "tool_calls"
    assert fake.requests[-1].body["tools"] == tools


def test_response_format_passes_through(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """response_format reaches the upstream and its JSON answer comes back."""
    result = client.chat.completions.create(
        model="fakeai/gpt-4o",
        messages=[{"role": "user", "content": "json please"}],
        response_format={"type": "json_object"},
        max_completion_tokens=100,
    )
    assert isinstance(json.loads(result.choices[0].message.content), dict)
    assert fake.requests[-1].body["response_format"] == {"type": "json_object"}
    assert fake.requests[-1].body["max_completion_tokens"] == 100


def test_multi_turn_messages_reach_upstream(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """system/user/assistant turns are relayed unchanged."""
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "second"},
    ]
    client.chat.completions.create(model="fakeai/gpt-4o", messages=messages)
    assert fake.requests[-1].body["messages"] == messages
