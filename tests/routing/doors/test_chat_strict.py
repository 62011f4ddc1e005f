"""The OpenAI chat door refuses what OpenAI refuses, and its translation to Anthropic models
drops nothing silently: response_format, n, parallel_tool_calls and logprobs."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import LiveServer
from tests.fake_upstream import FakeUpstream
from tests.routing.conftest import assert_envelope
from tests.routing.doors.anthropic_helpers import NATIVE, UPSTREAM_ID

pytestmark = pytest.mark.usefixtures("providers")
MODEL = "fakeai/gpt-4o"
USER = {"role": "user", "content": "hi"}
CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
BAD = [
    ({"messages": [{"role": "user"}]}, "messages.0"),
    ({"messages": [{"role": "user", "content": None}]}, "messages.0"),
    ({"messages": [{"role": "system", "content": None}, USER]}, "messages.0"),
    ({"messages": [USER, {"role": "tool", "tool_call_id": "c"}]}, "messages.1"),
    ({"messages": [USER, {"role": "assistant"}]}, "messages.1"),
    ({"messages": [USER, {"role": "assistant", "content": None}]}, "messages.1"),
    ({"messages": [{"role": "user", "content": [{"text": "no type"}]}]}, "messages.0"),
    ({"messages": [{"role": "user", "content": [{"type": "video"}]}]}, "messages.0"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}, "messages.0"),
    ({"messages": [USER], "stream": "yes"}, "stream"),
    ({"messages": [USER], "logprobs": "true"}, "logprobs"),
    ({"messages": [USER], "parallel_tool_calls": "no"}, "parallel_tool_calls"),
    (
        {"messages": [USER], "stream": True, "stream_options": {"include_usage": "yes"}},
        "stream_options.include_usage",
    ),
]


def chat(live_app: LiveServer, key: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{live_app.url}/v1/chat/completions",
        json={"model": MODEL, **body},
        headers={"authorization": f"Bearer {key}"},
        timeout=30,
    )


@pytest.mark.parametrize("body,param", BAD, ids=[p + str(i) for i, (_, p) in enumerate(BAD)])
def test_what_openai_refuses_is_400(
    live_app: LiveServer, api_key: str, fake: FakeUpstream, body: dict, param: str
) -> None:
    """Content missing or null where OpenAI needs it, parts without a valid type or with a
    non-string text, booleans sent as strings: 400 naming the parameter, nothing sent up."""
    error = assert_envelope(chat(live_app, api_key, body), 400)
    assert error["param"] == param, error
    assert fake.requests == []


def test_assistant_may_omit_content_with_tool_calls(
    live_app: LiveServer, api_key: str, fake: FakeUpstream
) -> None:
    """An assistant message carrying tool_calls needs no content (OpenAI accepts it)."""
    messages = [
        USER,
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": "done"},
    ]
    assert chat(live_app, api_key, {"messages": messages}).status_code == 200


JSON_ANSWER = {
    "id": "msg_01JsonAnswer000000000000",
    "type": "message",
    "role": "assistant",
    "model": UPSTREAM_ID,
    "content": [
        {
            "type": "tool_use",
            "id": "toolu_01J",
            "name": "json_response",
            "input": {"city": "Oslo", "temp": 3},
        }
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {"input_tokens": 12, "output_tokens": 9},
}
SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "weather",
        "schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "temp": {"type": "number"}},
            "required": ["city", "temp"],
        },
    },
}


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize(
    "response_format", [SCHEMA, {"type": "json_object"}], ids=["schema", "object"]
)
def test_response_format_to_anthropic_is_a_forced_tool_unwrapped(
    client: openai.OpenAI, fake: FakeUpstream, stream: bool, response_format: dict
) -> None:
    """response_format becomes a forced tool whose input is the schema; its input comes back
    as message.content (streaming too), with no tool call and finish_reason stop."""
    fake.set_message(UPSTREAM_ID, JSON_ANSWER)
    kwargs: dict[str, Any] = {
        "model": NATIVE,
        "messages": [USER],
        "response_format": response_format,
    }
    if stream:
        chunks = list(client.chat.completions.create(**kwargs, stream=True))
        content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        finish = [
            c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
        ]
        assert not any(c.choices[0].delta.tool_calls for c in chunks if c.choices)
        assert finish == ["stop"]
    else:
        answer = client.chat.completions.create(**kwargs)
        content = answer.choices[0].message.content or ""
        assert answer.choices[0].message.tool_calls is None
        assert answer.choices[0].finish_reason == "stop"
    assert json.loads(content) == {"city": "Oslo", "temp": 3}
    sent = fake.requests[-1].body
    assert sent["tool_choice"] == {"type": "tool", "name": "json_response"}
    tool = sent["tools"][-1]
    assert tool["name"] == "json_response"
    if response_format is SCHEMA:
        assert tool["input_schema"] == SCHEMA["json_schema"]["schema"]


def test_n_fans_out_to_n_calls(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """n=3 to an Anthropic model: three calls, three choices, usage summed."""
    answer = client.chat.completions.create(model=NATIVE, messages=[USER], n=3)
    assert [c.index for c in answer.choices] == [0, 1, 2]
    assert all(c.message.content for c in answer.choices)
    assert len(fake.requests) == 3
    one = fake.requests[0]
    assert answer.usage is not None and answer.usage.completion_tokens >= 3 * len(
        one.body["messages"]
    )


def test_n_with_stream_is_refused(client: openai.OpenAI) -> None:
    """Anthropic streams one choice: n=2 with stream is a 400, never one choice for two."""
    with pytest.raises(openai.BadRequestError) as info:
        list(client.chat.completions.create(model=NATIVE, messages=[USER], n=2, stream=True))
    assert "n=1" in str(info.value)


def test_parallel_tool_calls_false_disables_parallel_tool_use(
    client: openai.OpenAI, fake: FakeUpstream
) -> None:
    """parallel_tool_calls=false maps to tool_choice.disable_parallel_tool_use."""
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    client.chat.completions.create(
        model=NATIVE,
        messages=[USER],
        tools=tools,
        tool_choice="required",
        parallel_tool_calls=False,
    )
    assert fake.requests[-1].body["tool_choice"] == {
        "type": "any",
        "disable_parallel_tool_use": True,
    }


def test_logprobs_to_anthropic_is_refused(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """Anthropic returns no logprobs: a 400 that says so, rather than silently none."""
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=NATIVE, messages=[USER], logprobs=True)
    assert "logprobs" in str(info.value)
    assert fake.requests == []
