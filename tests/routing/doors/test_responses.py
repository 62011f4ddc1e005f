"""POST /v1/responses with the real OpenAI SDK: native to an upstream serving the Responses
API, translated to chat-only and Anthropic upstreams; streaming, function calls, stored
responses with previous_response_id, failures mid-stream."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import openai
import pytest
from django.core.management import call_command

from routing.models import ApiKey, StoredResponse
from tests.conftest import LiveServer
from tests.fake_upstream import FakeUpstream, Fault
from tests.fake_upstream_openai import response_events
from tests.routing.conftest import assert_envelope, last_record

pytestmark = pytest.mark.usefixtures("providers", "native_provider")
NATIVE = "fakeresp/gpt-4o"
CHAT = "fakeai/gpt-4o"
CLAUDE = "fakeanthropic/claude-3-5-sonnet-20241022"
TOOL = {
    "type": "function",
    "name": "lookup",
    "description": "Look something up.",
    "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
}
DOCUMENTED_TEXT = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


def sent(fake: FakeUpstream, suffix: str) -> Any:
    return [r for r in fake.requests if r.path.endswith(suffix)][-1]


def squash(types: list[str]) -> list[str]:
    """Event types with runs of deltas collapsed to one."""
    out: list[str] = []
    for kind in types:
        if not (out and out[-1] == kind and kind.endswith(".delta")):
            out.append(kind)
    return out


def test_native_request_and_answer_pass_through(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """An upstream with the Responses API gets the request as sent (store off, our model id
    changed) and its answer comes back with reasoning and encrypted content intact."""
    raw = client.responses.with_raw_response.create(
        model=NATIVE,
        input="Hello there",
        instructions="Be brief.",
        reasoning={"effort": "low", "summary": "auto"},
        include=["reasoning.encrypted_content"],
        metadata={"team": "a"},
    )
    response = raw.parse()
    upstream = sent(fake, "/responses")
    assert upstream.body["model"] == "gpt-4o" and upstream.body["store"] is False
    assert upstream.body["reasoning"] == {"effort": "low", "summary": "auto"}
    assert upstream.body["input"] == [{"type": "message", "role": "user", "content": "Hello there"}]
    assert upstream.body["instructions"] == "Be brief."
    assert response.model == NATIVE
    reasoning = response.output[0]
    assert reasoning.type == "reasoning"
    assert reasoning.encrypted_content == "gAAAA-fake-encrypted-gpt-4o"
    assert response.output_text == "Hello from gpt-4o: Hello there"
    assert float(raw.headers["x-switchyard-cost-usd"]) > 0
    record = last_record(raw.headers["x-request-id"])
    assert record.protocol == "responses" and record.model == NATIVE
    assert record.input_tokens == response.usage.input_tokens > 0


def test_translated_to_chat(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """A chat-only upstream gets the chat translation; the answer is a Responses response."""
    raw = client.responses.with_raw_response.create(
        model=CHAT,
        input=[{"role": "user", "content": [{"type": "input_text", "text": "Hi chat"}]}],
        instructions="Be brief.",
        max_output_tokens=50,
        temperature=0.3,
        reasoning={"effort": "low"},
    )
    response = raw.parse()
    upstream = sent(fake, "/chat/completions")
    assert upstream.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi chat"},
    ]
    assert upstream.body["max_tokens"] == 50 and upstream.body["temperature"] == 0.3
    assert response.object == "response" and response.status == "completed"
    assert response.output_text.startswith("Hello from gpt-4o")
    assert response.usage.output_tokens > 0
    assert "reasoning" in raw.headers["x-switchyard-dropped"]
    assert last_record(raw.headers["x-request-id"]).protocol == "responses"


def test_translated_to_anthropic(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """An Anthropic model answers through the chat translation and the Anthropic back door."""
    response = client.responses.create(model=CLAUDE, input="Hi Claude")
    assert sent(fake, "/messages").body["messages"][0]["content"] in (
        "Hi Claude",
        [{"type": "text", "text": "Hi Claude"}],
    )
    assert response.output_text and response.model == CLAUDE


def test_json_schema_format_crosses_to_chat(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """text.format json_schema becomes the chat response_format."""
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    client.responses.create(
        model=CHAT,
        input="json please",
        text={"format": {"type": "json_schema", "name": "thing", "schema": schema}},
    )
    assert sent(fake, "/chat/completions").body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "thing", "schema": schema},
    }


@pytest.mark.parametrize("model", [NATIVE, CHAT])
def test_function_call_round_trip(client: openai.OpenAI, fake: FakeUpstream, model: str) -> None:
    """A function call comes back as a function_call item; its output sent back with
    previous_response_id reaches the upstream with the call before it."""
    first = client.responses.create(model=model, input="call: weather", tools=[TOOL])
    call = next(item for item in first.output if item.type == "function_call")
    assert call.name == "lookup" and call.call_id
    second = client.responses.create(
        model=model,
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
        tools=[TOOL],
    )
    if model == NATIVE:
        items = sent(fake, "/responses").body["input"]
        assert [i.get("type") for i in items] == [
            "message",
            "function_call",
            "function_call_output",
        ]
        assert second.output_text == "The tool said sunny"
    else:
        messages = sent(fake, "/chat/completions").body["messages"]
        assert [m["role"] for m in messages] == ["user", "assistant", "tool"]
        assert messages[1]["tool_calls"][0]["id"] == call.call_id
        assert messages[2] == {"role": "tool", "tool_call_id": call.call_id, "content": "sunny"}


def test_previous_response_id_and_stored_responses(
    client: openai.OpenAI, fake: FakeUpstream, live_app: LiveServer
) -> None:
    """Stored responses continue a conversation, can be read, listed and deleted, and are
    invisible to another key."""
    first = client.responses.create(model=CHAT, input="first question")
    second = client.responses.create(
        model=CHAT, input="second question", previous_response_id=first.id
    )
    messages = sent(fake, "/chat/completions").body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"] == first.output_text
    assert client.responses.retrieve(second.id).output_text == second.output_text
    items = client.responses.input_items.list(second.id).data
    assert len(items) == 1 and items[0].role == "user"
    assert items[0].content[0].text == "second question"
    _, raw = ApiKey.issue("other")
    other = openai.OpenAI(base_url=f"{live_app.url}/v1", api_key=raw, max_retries=0)
    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(second.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.create(model=CHAT, input="x", previous_response_id=first.id)
    client.responses.delete(second.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(second.id)
    unstored = client.responses.create(model=CHAT, input="no", store=False)
    assert not StoredResponse.objects.filter(public_id=unstored.id).exists()


def test_native_stream_is_the_upstreams_sequence(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """Streaming to a Responses upstream relays its documented events one for one, the
    reasoning summary events included, with their sequence numbers."""
    body = {
        "model": "gpt-4o",
        "input": [{"type": "message", "role": "user", "content": "Hey"}],
        "reasoning": {"summary": "auto"},
        "stream": True,
        "store": False,
    }
    expected = [e["type"] for e in response_events(body)]
    events = list(
        client.responses.create(
            model=NATIVE, input="Hey", stream=True, reasoning={"summary": "auto"}
        )
    )
    assert [e.type for e in events] == expected
    assert "response.reasoning_summary_text.delta" in expected
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].response.model == NATIVE
    assert events[-1].response.output_text == "Hello from gpt-4o: Hey"
    assert StoredResponse.objects.filter(public_id=events[-1].response.id).exists()


@pytest.mark.parametrize("model", [CHAT, CLAUDE])
def test_translated_stream_follows_the_documented_sequence(
    client: openai.OpenAI, model: str
) -> None:
    """A chat upstream's stream becomes the documented Responses sequence."""
    events = list(client.responses.create(model=model, input="Stream it", stream=True))
    assert squash([e.type for e in events]) == DOCUMENTED_TEXT
    assert [e.sequence_number for e in events] == list(range(len(events)))
    done = events[-1].response
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert done.output_text == deltas and done.usage.output_tokens > 0


@pytest.mark.parametrize("model", [NATIVE, CHAT])
def test_function_call_stream(client: openai.OpenAI, model: str) -> None:
    """A streamed function call: output_item.added, argument deltas, .done, completed."""
    events = list(client.responses.create(model=model, input="call: x", tools=[TOOL], stream=True))
    kinds = squash([e.type for e in events])
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert "response.function_call_arguments.delta" in kinds
    assert kinds[-3:] == [
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    item = events[-1].response.output[-1]
    assert item.type == "function_call" and item.arguments == done.arguments


@pytest.mark.parametrize(("model", "upstream"), [(NATIVE, "gpt-4o"), (CHAT, "gpt-4o")])
def test_failure_mid_stream_ends_with_response_failed(
    client: openai.OpenAI, fake: FakeUpstream, model: str, upstream: str
) -> None:
    """A stream that breaks after its first events ends with response.failed, never
    response.completed."""
    fake.add_fault(upstream, Fault.stream_error(chunks=6))
    events = list(
        client.responses.create(model=model, input="one two three four five six", stream=True)
    )
    kinds = [e.type for e in events]
    assert kinds[-1] == "response.failed" and "response.completed" not in kinds
    assert events[-1].response.status == "failed"
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_async_sdk(live_app: LiveServer, api_key: str) -> None:
    """The async SDK, streaming and not."""

    async def go() -> tuple[str, list[str]]:
        async with openai.AsyncOpenAI(
            base_url=f"{live_app.url}/v1", api_key=api_key, max_retries=0
        ) as aclient:
            whole = await aclient.responses.create(model=NATIVE, input="async")
            stream = await aclient.responses.create(model=CHAT, input="async", stream=True)
            kinds = [event.type async for event in stream]
            return whole.output_text, kinds

    text, kinds = asyncio.run(go())
    assert text == "Hello from gpt-4o: async" and kinds[-1] == "response.completed"


def test_other_tools_refused_on_chat_only_upstreams(http: httpx.Client) -> None:
    """A web_search tool cannot run on a chat-only upstream: a clear 400 naming the tool."""
    body = {"model": CHAT, "input": "x", "tools": [{"type": "web_search"}]}
    error = assert_envelope(http.post("/v1/responses", json=body), 400)
    assert error["param"] == "tools[0].type" and "web_search" in error["message"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "x"}, "model"),
        ({"model": CHAT}, "input"),
        ({"model": CHAT, "input": 5}, "input"),
        ({"model": CHAT, "input": "x", "temperature": 5}, "temperature"),
        ({"model": CHAT, "input": "x", "max_output_tokens": 0}, "max_output_tokens"),
        ({"model": CHAT, "input": [{"type": "nonsense"}]}, "input[0]"),
        ({"model": CHAT, "input": [{"role": "robot", "content": "x"}]}, "input[0]"),
        ({"model": CHAT, "input": "x", "text": {"format": {"type": "yaml"}}}, "text.format.type"),
        (
            {"model": CHAT, "input": "x", "previous_response_id": "resp_nope"},
            "previous_response_id",
        ),
    ],
)
def test_bad_input_names_the_field(http: httpx.Client, body: dict, param: str) -> None:
    """Bad input: OpenAI's envelope with the field named, never a 5xx."""
    response = http.post("/v1/responses", json=body)
    assert response.status_code in (400, 404), response.text
    error = assert_envelope(response, response.status_code)
    assert error["param"] == param, error


def test_purge_command_drops_old_responses(client: openai.OpenAI, settings: Any) -> None:
    """purge_responses deletes stored responses older than the retention period."""
    kept = client.responses.create(model=CHAT, input="keep")
    old = client.responses.create(model=CHAT, input="old")
    StoredResponse.objects.filter(public_id=old.id).update(created_at="2000-01-01T00:00:00Z")
    settings.SWITCHYARD_RESPONSES_RETENTION_DAYS = 30
    call_command("purge_responses")
    assert list(StoredResponse.objects.values_list("public_id", flat=True)) == [kept.id]
    assert json.dumps(client.responses.retrieve(kept.id).model_dump())
