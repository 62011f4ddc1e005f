"""The Anthropic adapter: OpenAI chat in, Anthropic Messages on the wire, OpenAI chat out."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import openai
import pytest

from routing.catalog import ModelEntry, ProviderEntry
from routing.providers import Chunk, UpstreamError
from routing.providers.anthropic import (
    DEFAULT_MAX_TOKENS,
    StreamTranslator,
    from_anthropic,
    usage_from,
)
from tests.conftest import FAKE_SECRET
from tests.fake_upstream import FakeUpstream
from tests.routing.conftest import last_record

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "anthropic"
CLAUDE = "fakeanthropic/claude-3-5-sonnet-20241022"
UPSTREAM = "claude-3-5-sonnet-20241022"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]
# genai-prices, claude-3-5-sonnet: input, output, cache write, cache read (USD per MTok)
PRICES = {"input": 3, "output": 15, "write": Decimal("3.75"), "read": Decimal("0.3")}


def entry() -> ModelEntry:
    provider = ProviderEntry(
        slug="fakeanthropic",
        name="FakeAnthropic",
        protocol="anthropic",
        base_url="http://127.0.0.1:9",
        api_key=FAKE_SECRET,
        configured=True,
        reason="",
        region="eu",
    )
    return ModelEntry(
        id=CLAUDE,
        provider=provider,
        model_id=UPSTREAM,
        display_name=UPSTREAM,
        context_window=200_000,
        input_price=Decimal(3),
        output_price=Decimal(15),
        cached_input_price=Decimal("0.3"),
        price_known=True,
        prices_ref="anthropic:claude-3-5-sonnet-20241022",
        region="eu",
        note="",
    )


def recorded_events(name: str) -> list[tuple[str, str]]:
    """(event, data) pairs of a recorded Anthropic stream."""
    events = []
    for block in (FIXTURES / name).read_text().strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.strip().splitlines())
        events.append((lines["event"], lines["data"]))
    return events


def translate(name: str) -> tuple[StreamTranslator, list[Chunk]]:
    translator = StreamTranslator(entry())
    chunks = [c for event, data in recorded_events(name) for c in translator.feed(event, data)]
    return translator, chunks


def text_of(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def sent(fake: FakeUpstream) -> dict[str, Any]:
    """The body the fake Anthropic endpoint received last."""
    return fake.requests[-1].body


# --------------------------------------------------------------------------- recorded sequences


def test_recorded_text_stream_translates_to_chunks() -> None:
    """The documented basic stream becomes role, text deltas, finish 'stop' and a usage chunk."""
    translator, chunks = translate("stream_text.txt")
    first = chunks[0].data
    assert first["object"] == "chat.completion.chunk" and first["model"] == CLAUDE
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert "".join(c.text for c in chunks) == "Hello!"
    assert [c.finish_reason for c in chunks if c.finish_reason] == ["stop"]
    assert {c.data["id"] for c in chunks} == {"chatcmpl-1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY"}
    usage = chunks[-1]
    assert usage.data["choices"] == [] and usage.usage is not None
    assert usage.data["usage"]["prompt_tokens"] == 25
    assert usage.data["usage"]["completion_tokens"] == 15
    assert translator.stopped


def test_recorded_tool_stream_translates_to_tool_call_deltas() -> None:
    """The documented tool-use stream becomes text, then one tool call whose arguments parse."""
    _, chunks = translate("stream_tool_use.txt")
    assert "".join(c.text for c in chunks).startswith("Okay, let's check the weather")
    deltas = [c.data["choices"][0]["delta"] for c in chunks if c.data["choices"]]
    calls = [call for delta in deltas for call in delta.get("tool_calls", [])]
    assert calls[0]["id"] == "toolu_01T1x1fJ34qAmk2tNTrN7Up6"
    assert calls[0]["function"]["name"] == "get_weather" and calls[0]["type"] == "function"
    assert {call["index"] for call in calls} == {0}
    arguments = "".join(call["function"]["arguments"] for call in calls)
    assert json.loads(arguments) == {"location": "San Francisco, CA", "unit": "fahrenheit"}
    assert [c.finish_reason for c in chunks if c.finish_reason] == ["tool_calls"]
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.input_tokens, chunks[-1].usage.output_tokens) == (472, 89)


def test_recorded_midstream_error_raises_after_the_text_so_far() -> None:
    """An error event after a 200 raises an overloaded UpstreamError, never a clean end."""
    translator = StreamTranslator(entry())
    chunks: list[Chunk] = []
    with pytest.raises(UpstreamError) as info:
        for event, data in recorded_events("stream_error_midstream.txt"):
            chunks += translator.feed(event, data)
    assert info.value.kind == "overloaded" and "Overloaded" in info.value.message
    assert "".join(c.text for c in chunks) == "Hello"
    assert not translator.stopped and not any(c.finish_reason for c in chunks)


def test_recorded_message_translates_to_a_completion() -> None:
    """The documented basic message becomes a chat.completion with usage and finish 'stop'."""
    data = json.loads((FIXTURES / "message_basic.json").read_text())
    completion = from_anthropic(entry(), data)
    body = completion.body
    assert body["object"] == "chat.completion" and body["model"] == CLAUDE
    assert body["id"] == "chatcmpl-01XFDUDYJgAACzvnptvVoYEL"
    assert body["choices"][0]["message"]["content"] == "Hello!"
    assert body["choices"][0]["message"]["role"] == "assistant"
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["prompt_tokens"] == 12 and body["usage"]["completion_tokens"] == 6
    assert body["usage"]["total_tokens"] == 18


def test_recorded_cache_usage_counts_cache_tokens_as_input() -> None:
    """Cache writes and reads add to prompt_tokens; reads are reported as cached_tokens."""
    write, read = json.loads((FIXTURES / "usage_prompt_caching.json").read_text())
    written = usage_from(write)
    assert written.input_tokens == 21 + 188086 and written.cache_write_tokens == 188086
    assert written.cache_read_tokens == 0 and written.output_tokens == 393
    reread = usage_from(read).to_openai()
    assert reread["prompt_tokens"] == 21 + 188086
    assert reread["prompt_tokens_details"]["cached_tokens"] == 188086


@pytest.mark.parametrize("raw", ['["not", "an", "object"]', '"text"', "42", "{not json"])
def test_events_that_are_not_objects_are_malformed(raw: str) -> None:
    """A stream event that is not a JSON object is a 'malformed' upstream error, not a crash."""
    with pytest.raises(UpstreamError) as info:
        StreamTranslator(entry()).feed("content_block_delta", raw)
    assert info.value.kind == "malformed"


@pytest.mark.parametrize(
    "reason,finish",
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
    ],
)
def test_stop_reasons_map_to_finish_reasons(reason: str, finish: str) -> None:
    """Every Anthropic stop_reason maps to the OpenAI finish_reason, whole and streamed."""
    data = json.loads((FIXTURES / "message_basic.json").read_text())
    assert (
        from_anthropic(entry(), {**data, "stop_reason": reason}).body["choices"][0]["finish_reason"]
        == finish
    )
    delta = {"type": "message_delta", "delta": {"stop_reason": reason}, "usage": {}}
    (chunk,) = StreamTranslator(entry()).feed("message_delta", json.dumps(delta))
    assert chunk.finish_reason == finish


# --------------------------------------------------------------------------- through the SDK

LIVE = pytest.mark.usefixtures("providers")


@LIVE
def test_system_prompt_and_multi_turn_are_translated(
    client: openai.OpenAI, fake: FakeUpstream
) -> None:
    """System messages become `system`; turns alternate as Anthropic content blocks."""
    result = client.chat.completions.create(
        model=CLAUDE,
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "second"},
        ],
        temperature=0.3,
        top_p=0.8,
    )
    body = sent(fake)
    assert body["system"] == "You are terse."
    assert body["model"] == UPSTREAM
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "first"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
        {"role": "user", "content": [{"type": "text", "text": "second"}]},
    ]
    assert body["temperature"] == 0.3 and body["top_p"] == 0.8
    assert fake.requests[-1].headers["x-api-key"] == FAKE_SECRET
    assert fake.requests[-1].headers["anthropic-version"]
    assert result.model == CLAUDE
    assert result.choices[0].message.content.startswith(f"Hello from {UPSTREAM}. You said: second")
    assert result.choices[0].finish_reason == "stop"


@LIVE
def test_temperature_above_anthropics_range_is_clamped(
    client: openai.OpenAI, fake: FakeUpstream
) -> None:
    """OpenAI's temperature goes to 2, Anthropic's to 1: 1.6 is sent as 1.0, 0.4 unchanged."""
    client.chat.completions.create(
        model=CLAUDE, messages=[{"role": "user", "content": "hi"}], temperature=1.6
    )
    assert sent(fake)["temperature"] == 1.0
    client.chat.completions.create(
        model=CLAUDE, messages=[{"role": "user", "content": "hi"}], temperature=0.4
    )
    assert sent(fake)["temperature"] == 0.4


@LIVE
def test_consecutive_user_turns_are_merged(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """Two user messages in a row become one user turn (Anthropic requires alternation)."""
    client.chat.completions.create(
        model=CLAUDE,
        messages=[{"role": "user", "content": "one"}, {"role": "user", "content": "two"}],
    )
    (turn,) = sent(fake)["messages"]
    assert turn["role"] == "user" and [b["text"] for b in turn["content"]] == ["one", "two"]


@LIVE
def test_max_tokens_default_and_explicit(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """Anthropic needs max_tokens: a default is sent, an explicit limit wins and ends 'length'."""
    client.chat.completions.create(model=CLAUDE, messages=[{"role": "user", "content": "hi"}])
    assert sent(fake)["max_tokens"] == DEFAULT_MAX_TOKENS
    result = client.chat.completions.create(
        model=CLAUDE, messages=[{"role": "user", "content": "hi"}], max_completion_tokens=3
    )
    assert sent(fake)["max_tokens"] == 3
    assert result.choices[0].finish_reason == "length"
    assert len(result.choices[0].message.content.split()) == 3


@LIVE
def test_stop_becomes_stop_sequences(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """`stop` (string or list) is sent as stop_sequences and the answer ends before it."""
    fake.set_reply(UPSTREAM, "alpha beta STOP gamma")
    result = client.chat.completions.create(
        model=CLAUDE, messages=[{"role": "user", "content": "hi"}], stop="STOP"
    )
    assert sent(fake)["stop_sequences"] == ["STOP"]
    assert result.choices[0].message.content == "alpha beta "
    assert result.choices[0].finish_reason == "stop"
    client.chat.completions.create(
        model=CLAUDE, messages=[{"role": "user", "content": "hi"}], stop=["X", "Y"]
    )
    assert sent(fake)["stop_sequences"] == ["X", "Y"]


@LIVE
def test_usage_with_cache_tokens_is_priced(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """Cache reads/writes count as prompt tokens, reads as cached_tokens, each at its price."""
    fake.set_cache_tokens(UPSTREAM, creation=1000, read=4000)
    raw = client.chat.completions.with_raw_response.create(
        model=CLAUDE, messages=[{"role": "user", "content": "four words right here"}]
    )
    result = raw.parse()
    plain = 4
    assert result.usage.prompt_tokens == plain + 1000 + 4000
    assert result.usage.prompt_tokens_details.cached_tokens == 4000
    output = result.usage.completion_tokens
    expected = (
        plain * PRICES["input"]
        + 1000 * PRICES["write"]
        + 4000 * PRICES["read"]
        + output * PRICES["output"]
    ) / Decimal(1_000_000)
    record = last_record()
    assert record.input_tokens == plain + 5000 and record.cached_tokens == 4000
    assert record.cost_usd == pytest.approx(expected)
    assert Decimal(raw.headers["x-switchyard-cost-usd"]) == pytest.approx(expected)


@LIVE
def test_streaming_events_become_chunks(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """A streamed answer arrives as chunks with the text, one finish_reason and the usage."""
    fake.set_cache_tokens(UPSTREAM, creation=0, read=10)
    chunks = list(
        client.chat.completions.create(
            model=CLAUDE,
            messages=[
                {"role": "system", "content": "Be kind."},
                {"role": "user", "content": "stream me"},
            ],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert sent(fake)["stream"] is True and sent(fake)["system"] == "Be kind."
    assert chunks[0].choices[0].delta.role == "assistant"
    assert text_of(chunks) == f"Hello from {UPSTREAM}. You said: stream me"
    finishes = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finishes == ["stop"]
    assert {c.model for c in chunks} == {CLAUDE}
    usage = chunks[-1].usage
    assert usage is not None and usage.prompt_tokens == 4 + 10
    assert usage.prompt_tokens_details.cached_tokens == 10
    assert usage.completion_tokens == len(text_of(chunks).split())
    record = last_record()
    assert record.stream and record.status == "ok" and not record.tokens_estimated
    assert record.output_tokens == usage.completion_tokens and record.cached_tokens == 10


@LIVE
def test_streamed_length_finish(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """A streamed answer cut by max_tokens ends with finish_reason 'length'."""
    chunks = list(
        client.chat.completions.create(
            model=CLAUDE, messages=[{"role": "user", "content": "hi"}], max_tokens=2, stream=True
        )
    )
    assert [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ] == ["length"]


@LIVE
def test_tools_are_translated_and_tool_use_comes_back(
    client: openai.OpenAI, fake: FakeUpstream
) -> None:
    """OpenAI tools become Anthropic tools; a tool_use block comes back as a tool call."""
    result = client.chat.completions.create(
        model=CLAUDE,
        messages=[{"role": "user", "content": "call: weather in Paris"}],
        tools=TOOLS,
        tool_choice="auto",
    )
    assert sent(fake)["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather for a city.",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    assert sent(fake)["tool_choice"] == {"type": "auto"}
    call = result.choices[0].message.tool_calls[0]
    assert call.type == "function" and call.function.name == "get_weather"
    assert call.id.startswith("toolu_")
    assert json.loads(call.function.arguments) == {"query": "weather in Paris"}
    assert result.choices[0].finish_reason == "tool_calls"


@LIVE
@pytest.mark.parametrize(
    "choice,expected",
    [
        ("required", {"type": "any"}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            {"type": "tool", "name": "get_weather"},
        ),
    ],
)
def test_tool_choice_is_translated(
    client: openai.OpenAI, fake: FakeUpstream, choice: Any, expected: dict
) -> None:
    """tool_choice 'required' and a named function map to Anthropic's any/tool."""
    client.chat.completions.create(
        model=CLAUDE, messages=[{"role": "user", "content": "hi"}], tools=TOOLS, tool_choice=choice
    )
    assert sent(fake)["tool_choice"] == expected


@LIVE
def test_tool_results_go_back_as_tool_result_blocks(
    client: openai.OpenAI, fake: FakeUpstream
) -> None:
    """An assistant tool call and the tool's answer become tool_use and tool_result blocks."""
    client.chat.completions.create(
        model=CLAUDE,
        tools=TOOLS,
        messages=[
            {"role": "user", "content": "weather in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "toolu_01abc",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "toolu_01abc", "content": "18C and sunny"},
        ],
    )
    user, assistant, result = sent(fake)["messages"]
    assert user["role"] == "user"
    assert assistant == {
        "role": "assistant",
        "content": [
            {
                "type": "tool_use",
                "id": "toolu_01abc",
                "name": "get_weather",
                "input": {"city": "Paris"},
            }
        ],
    }
    assert result == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01abc", "content": "18C and sunny"}
        ],
    }


@LIVE
def test_streamed_tool_use_becomes_tool_call_deltas(
    client: openai.OpenAI, fake: FakeUpstream
) -> None:
    """A streamed tool_use arrives as tool_calls deltas whose arguments join into JSON."""
    chunks = list(
        client.chat.completions.create(
            model=CLAUDE,
            messages=[{"role": "user", "content": "call: news today"}],
            tools=TOOLS,
            stream=True,
        )
    )
    calls = [t for c in chunks if c.choices for t in c.choices[0].delta.tool_calls or ()]
    assert calls[0].function.name == "get_weather" and calls[0].id.startswith("toolu_")
    arguments = "".join(t.function.arguments or "" for t in calls)
    assert json.loads(arguments) == {"query": "news today"}
    finishes = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finishes == ["tool_calls"]
