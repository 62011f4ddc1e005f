"""Self-tests of the fake LLM provider (tests/fake_upstream.py): protocols and every fault."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.fake_upstream import FakeUpstream, Fault

FIXTURES = Path(__file__).parent / "fixtures" / "anthropic"
SECRET = "sk-test-secret-123"
OPENAI_HEADERS = {"Authorization": f"Bearer {SECRET}"}
ANTHROPIC_HEADERS = {"x-api-key": SECRET, "anthropic-version": "2023-06-01"}
USER = [{"role": "user", "content": "hi there"}]
TOOLS = [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}]
CLAUDE_TOOLS = [{"name": "search", "input_schema": {"type": "object"}}]
STREAM_GRAMMAR = re.compile(
    r"message_start( ping)?( content_block_start( ping)?( content_block_delta)*"
    r" content_block_stop)+ message_delta message_stop"
)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeUpstream) -> FakeUpstream:
    server.reset()
    return server


@pytest.fixture
def client(fake: FakeUpstream) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=fake.openai_base_url, api_key=SECRET, max_retries=0) as sdk:
        yield sdk


def chat(fake: FakeUpstream, timeout: float = 5.0, **body: Any) -> httpx.Response:
    url = fake.openai_base_url + "/chat/completions"
    payload = {"model": "m", "messages": USER, **body}
    return httpx.post(url, json=payload, headers=OPENAI_HEADERS, timeout=timeout)


def claude(fake: FakeUpstream, headers: dict | None = None, **body: Any) -> httpx.Response:
    payload = {"model": "c", "max_tokens": 100, "messages": USER, **body}
    url = fake.anthropic_base_url + "/v1/messages"
    return httpx.post(url, json=payload, headers=ANTHROPIC_HEADERS if headers is None else headers)


def events(text: str) -> list[tuple[str | None, str]]:
    """Parse SSE text into (event name, data) pairs."""
    parsed = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        parsed.append((lines.get("event"), lines["data"]))
    return parsed


def claude_events(text: str) -> list[tuple[str, dict]]:
    """Anthropic SSE: every event name must match the `type` inside its data."""
    out = []
    for name, data in events(text):
        payload = json.loads(data)
        assert payload["type"] == name
        out.append((name, payload))
    return out


def fixture_events(name: str) -> list[tuple[str, dict]]:
    return claude_events((FIXTURES / name).read_text())


def first_of(evts: list[tuple[str, dict]], name: str) -> dict:
    return next(data for event, data in evts if event == name)


def openai_chunks(text: str) -> list[dict]:
    data = [d for _, d in events(text)]
    assert data[-1] == "[DONE]"
    return [json.loads(d) for d in data[:-1]]


# --------------------------------------------------------------------------- OpenAI protocol


def test_openai_sdk_reply_usage_and_shape(fake: FakeUpstream, client: openai.OpenAI) -> None:
    """A plain completion looks like OpenAI's and counts words as tokens."""
    out = client.chat.completions.create(
        model="m", messages=[{"role": "system", "content": "be brief"}, *USER], seed=7
    )
    assert out.id.startswith("chatcmpl-") and out.object == "chat.completion"
    assert out.model == "m" and out.system_fingerprint and out.created > 0
    assert out.choices[0].message.content == "Hello from m. You said: hi there"
    assert out.choices[0].finish_reason == "stop" and out.choices[0].logprobs is None
    assert out.usage is not None
    assert (out.usage.prompt_tokens, out.usage.completion_tokens) == (4, 7)
    assert fake.requests[0].body["seed"] == 7
    assert fake.requests[0].headers["authorization"] == f"Bearer {SECRET}"


def test_openai_sdk_stream_chunks_and_usage(fake: FakeUpstream, client: openai.OpenAI) -> None:
    """Streams one chunk per word, then finish_reason, then a choices=[] usage chunk."""
    chunks = list(
        client.chat.completions.create(
            model="m", messages=USER, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    words = [c.choices[0].delta.content for c in chunks[1:-2]]
    assert "".join(words) == "Hello from m. You said: hi there" and len(words) == 7
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 9
    assert len({c.id for c in chunks}) == 1 and chunks[0].object == "chat.completion.chunk"


def test_openai_raw_stream_ends_with_done_and_no_usage_by_default(fake: FakeUpstream) -> None:
    """Without include_usage there is no usage chunk; the stream ends with [DONE]."""
    response = chat(fake, stream=True)
    assert response.headers["content-type"].startswith("text/event-stream")
    chunks = openai_chunks(response.text)
    assert all("usage" not in c for c in chunks) and chunks[-1]["choices"]


def test_openai_max_tokens_and_stop(fake: FakeUpstream, client: openai.OpenAI) -> None:
    """max_tokens truncates with finish_reason length; stop cuts before the sequence."""
    fake.set_reply("m", "one two three four five")
    short = client.chat.completions.create(model="m", messages=USER, max_completion_tokens=2)
    assert short.choices[0].message.content == "one two"
    assert short.choices[0].finish_reason == "length"
    assert short.usage is not None and short.usage.completion_tokens == 2
    stopped = client.chat.completions.create(model="m", messages=USER, stop=["four", "five"])
    assert stopped.choices[0].message.content == "one two three "
    assert stopped.choices[0].finish_reason == "stop"


def test_openai_tool_call(fake: FakeUpstream, client: openai.OpenAI) -> None:
    """A 'call:' prompt with tools yields a tool call, whole and streamed."""
    messages = [{"role": "user", "content": "call: weather in Paris"}]
    out = client.chat.completions.create(model="m", messages=messages, tools=TOOLS)
    call = out.choices[0].message.tool_calls[0]
    assert out.choices[0].finish_reason == "tool_calls" and call.id.startswith("call_")
    assert call.function.name == "search"
    assert json.loads(call.function.arguments) == {"query": "weather in Paris"}
    chunks = list(
        client.chat.completions.create(model="m", messages=messages, tools=TOOLS, stream=True)
    )
    first = chunks[0].choices[0].delta.tool_calls[0]
    assert first.id and first.function.name == "search" and first.function.arguments == ""
    parts = [c.choices[0].delta.tool_calls[0].function.arguments for c in chunks[1:-1]]
    assert len(parts) > 1 and json.loads("".join(parts)) == {"query": "weather in Paris"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_openai_json_mode_and_models(fake: FakeUpstream, client: openai.OpenAI) -> None:
    """json_object mode answers a JSON object; /models lists a few models."""
    out = client.chat.completions.create(
        model="m", messages=USER, response_format={"type": "json_object"}
    )
    assert json.loads(out.choices[0].message.content or "") == {
        "answer": "Hello from m. You said: hi there"
    }
    assert "gpt-4o" in [model.id for model in client.models.list()]


def test_openai_requires_bearer_key(fake: FakeUpstream) -> None:
    """No Authorization header: 401 in OpenAI's error format."""
    url = fake.openai_base_url + "/chat/completions"
    response = httpx.post(url, json={"model": "m", "messages": USER})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"


# --------------------------------------------------------------------------- faults


def test_status_fault_with_retry_after_is_consumed_once(
    fake: FakeUpstream, client: openai.OpenAI
) -> None:
    """A 429 fault carries Retry-After and an error body, then the next call succeeds."""
    fake.add_fault("m", Fault.status_code(429, retry_after=1))
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="m", messages=USER)
    assert caught.value.response.headers["retry-after"] == "1"
    assert caught.value.body["code"] == "rate_limit_exceeded"  # type: ignore[index]
    assert client.chat.completions.create(model="m", messages=USER).choices
    assert [r.fault for r in fake.requests] == ["status", None]


def test_wildcard_fault_times_and_custom_body(fake: FakeUpstream) -> None:
    """'*' faults hit any model, `times` copies are queued, FIFO."""
    fake.add_fault("*", Fault.status_code(503, body={"error": {"message": "x"}}), times=2)
    fake.add_fault("*", Fault.status_code(500))
    statuses = [chat(fake, model=f"m{i}").status_code for i in range(4)]
    assert statuses == [503, 503, 500, 200]
    assert chat(fake).status_code == 200
    fake.add_fault("*", Fault.status_code(502))
    fake.reset()
    assert chat(fake).status_code == 200


def test_hang_before_headers_and_disconnect(fake: FakeUpstream) -> None:
    """The client times out with no headers; the fake records the disconnect."""
    fake.add_fault("m", Fault.hang_before_headers())
    with pytest.raises(httpx.ReadTimeout):
        chat(fake, timeout=0.3)
    rec = fake.wait_for_disconnect(timeout=2)
    assert rec is not None and rec.fault == "hang_before_headers"
    assert rec.status is None and rec.first_byte is None


@pytest.mark.parametrize("stream", [True, False])
def test_hang_after_headers(fake: FakeUpstream, stream: bool) -> None:
    """Headers (200) arrive, then the body does not."""
    fake.add_fault("m", Fault.hang_after_headers())
    payload = {"model": "m", "messages": USER, "stream": stream}
    timeout = httpx.Timeout(5, read=0.3)
    with httpx.Client(timeout=timeout, headers=OPENAI_HEADERS) as http:
        url = fake.openai_base_url + "/chat/completions"
        with http.stream("POST", url, json=payload) as response:
            assert response.status_code == 200
            with pytest.raises(httpx.ReadTimeout):
                response.read()
    assert fake.wait_for_disconnect(timeout=2) is not None


def test_hang_that_ends_answers_normally(fake: FakeUpstream) -> None:
    """A short hang only delays the answer."""
    fake.add_fault("m", Fault.hang_after_headers(0.1))
    assert chat(fake).json()["choices"][0]["finish_reason"] == "stop"


def test_cut_after_stream_with_sdk(fake: FakeUpstream, client: openai.OpenAI) -> None:
    """N content chunks arrive, then the connection dies without [DONE]."""
    fake.add_fault("m", Fault.cut_after(2))
    got: list[str | None] = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in client.chat.completions.create(model="m", messages=USER, stream=True):
            got.append(chunk.choices[0].delta.content)
    assert got == ["", "Hello", " from"]
    assert not fake.requests[0].disconnected


def test_cut_after_non_stream_truncates_body(fake: FakeUpstream) -> None:
    """A non-stream cut leaves the body half sent."""
    fake.add_fault("m", Fault.cut_after(0))
    with pytest.raises(httpx.RemoteProtocolError):
        chat(fake)


def test_malformed_json(fake: FakeUpstream) -> None:
    """200 with an unparsable body, or a broken data: line in a stream."""
    fake.add_fault("m", Fault.malformed_json(), times=2)
    response = chat(fake)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()
    data = [d for _, d in events(chat(fake, stream=True).text)]
    with pytest.raises(json.JSONDecodeError):
        json.loads(data[1])
    assert data[-1] == "[DONE]"


def test_drop_closes_without_response(fake: FakeUpstream) -> None:
    """The connection closes before any status line."""
    fake.add_fault("m", Fault.drop())
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        chat(fake)
    assert fake.requests[0].status is None


@pytest.mark.parametrize("stream", [True, False])
def test_slow_delays_first_byte(fake: FakeUpstream, stream: bool) -> None:
    """The first body byte comes `seconds` late, then the answer is normal."""
    fake.add_fault("m", Fault.slow(0.3))
    assert chat(fake, stream=stream).status_code == 200
    rec = fake.requests[0]
    assert rec.first_byte is not None and rec.first_byte - rec.started >= 0.3


def test_stream_error_event_openai(fake: FakeUpstream, client: openai.OpenAI) -> None:
    """An in-band error after N chunks surfaces as an APIError in the SDK."""
    fake.add_fault("m", Fault.stream_error(chunks=1, status=500))
    with pytest.raises(openai.APIError, match="server had an error"):
        list(client.chat.completions.create(model="m", messages=USER, stream=True))


def test_client_disconnect_mid_stream(fake: FakeUpstream) -> None:
    """A client leaving mid-stream is recorded and the fake stops sending."""
    fake.set_chunk_delay("m", 0.1)  # the whole stream would take about 1 s
    url = fake.openai_base_url + "/chat/completions"
    payload = {"model": "m", "messages": USER, "stream": True}
    with httpx.Client(headers=OPENAI_HEADERS) as http, http.stream("POST", url, json=payload) as r:
        lines = r.iter_lines()
        assert next(lines).startswith("data: ")
    rec = fake.wait_for_disconnect(timeout=2)
    assert rec is not None and rec.disconnected and rec.fault is None
    time.sleep(0.1)
    assert rec.finished is not None and rec.finished - rec.started < 0.6


def test_concurrent_requests(fake: FakeUpstream) -> None:
    """Many slow streams are served concurrently, not one after another."""
    fake.chunk_delay = 0.02

    async def one(http: httpx.AsyncClient, i: int) -> str:
        payload = {"model": f"m{i}", "messages": USER, "stream": True}
        response = await http.post("/chat/completions", json=payload)
        return "".join(
            c["choices"][0]["delta"].get("content") or "" for c in openai_chunks(response.text)[:-1]
        )

    async def main() -> list[str]:
        base = fake.openai_base_url
        async with httpx.AsyncClient(base_url=base, headers=OPENAI_HEADERS) as http:
            return await asyncio.gather(*(one(http, i) for i in range(20)))

    started = time.monotonic()
    texts = asyncio.run(main())
    assert texts == [f"Hello from m{i}. You said: hi there" for i in range(20)]
    assert time.monotonic() - started < 2.0  # sequential would take 20 x ~0.2 s


def test_stop_aborts_hanging_requests_quickly() -> None:
    """stop() does not wait for a 30 s hang to finish."""
    fake = FakeUpstream().start()
    fake.add_fault("*", Fault.hang_before_headers(30))
    errors: list[Exception] = []

    def call() -> None:
        try:
            chat(fake, timeout=10)
        except httpx.HTTPError as exc:
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    while not fake.requests:
        time.sleep(0.01)
    started = time.monotonic()
    fake.stop()
    thread.join(timeout=5)
    assert time.monotonic() - started < 2.0 and len(errors) == 1


# --------------------------------------------------------------------------- Anthropic


def test_documented_fixtures_are_well_formed() -> None:
    """The recorded Anthropic examples parse and follow the documented event flow."""
    for name in ("stream_text.txt", "stream_tool_use.txt"):
        names = " ".join(event for event, _ in fixture_events(name))
        assert STREAM_GRAMMAR.fullmatch(names), name
    tool = fixture_events("stream_tool_use.txt")
    partial = [d["delta"]["partial_json"] for e, d in tool if d.get("index") == 1 and "delta" in d]
    assert json.loads("".join(partial)) == {"location": "San Francisco, CA", "unit": "fahrenheit"}
    assert fixture_events("stream_error_midstream.txt")[-1][0] == "error"


def test_anthropic_message_matches_documented_shape(fake: FakeUpstream) -> None:
    """Non-stream reply has the documented keys plus cache usage fields."""
    documented = json.loads((FIXTURES / "message_basic.json").read_text())
    body = claude(fake, system="be brief", temperature=0.2).json()
    assert body.keys() == documented.keys() and body["id"].startswith("msg_")
    assert body["content"] == [{"type": "text", "text": "Hello from c. You said: hi there"}]
    assert body["stop_reason"] == "end_turn" and body["stop_sequence"] is None
    cache_usage = json.loads((FIXTURES / "usage_prompt_caching.json").read_text())[0]
    assert body["usage"].keys() == cache_usage.keys()
    assert body["usage"]["input_tokens"] == 4 and body["usage"]["output_tokens"] == 7
    assert fake.requests[0].headers["x-api-key"] == SECRET
    assert fake.requests[0].body["temperature"] == 0.2


def test_anthropic_stream_matches_documented_events(fake: FakeUpstream) -> None:
    """Streamed events follow the documented flow and per-event keys."""
    fake.set_cache_tokens("c", 100, 50)
    ours = claude_events(claude(fake, stream=True).text)
    documented = fixture_events("stream_text.txt")
    assert [e for e, _ in ours if e != "content_block_delta"] == [
        e for e, _ in documented if e != "content_block_delta"
    ]
    for name in ("content_block_start", "content_block_delta", "content_block_stop"):
        assert first_of(ours, name).keys() == first_of(documented, name).keys()
    start, delta = first_of(ours, "message_start"), first_of(ours, "message_delta")
    assert start["message"].keys() == first_of(documented, "message_start")["message"].keys()
    assert start["message"]["usage"]["output_tokens"] == 1
    assert delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    expected = {"input_tokens": 2, "cache_creation_input_tokens": 100}
    assert delta["usage"] == {**expected, "cache_read_input_tokens": 50, "output_tokens": 7}
    text = "".join(d["delta"]["text"] for e, d in ours if e == "content_block_delta")
    assert text == "Hello from c. You said: hi there"


def test_anthropic_tool_use(fake: FakeUpstream) -> None:
    """Tools + 'call:' give a tool_use block, whole and streamed via input_json_delta."""
    messages = [{"role": "user", "content": [{"type": "text", "text": "call: news"}]}]
    body = claude(fake, tools=CLAUDE_TOOLS, messages=messages).json()
    block = body["content"][0]
    assert body["stop_reason"] == "tool_use" and block["id"].startswith("toolu_")
    assert (block["name"], block["input"]) == ("search", {"query": "news"})
    ours = claude_events(claude(fake, tools=CLAUDE_TOOLS, messages=messages, stream=True).text)
    assert STREAM_GRAMMAR.fullmatch(" ".join(e for e, _ in ours))
    deltas = [d["delta"] for e, d in ours if e == "content_block_delta"]
    assert deltas[0] == {"type": "input_json_delta", "partial_json": ""}
    assert json.loads("".join(d["partial_json"] for d in deltas)) == {"query": "news"}
    assert first_of(ours, "message_delta")["delta"]["stop_reason"] == "tool_use"


def test_anthropic_max_tokens_and_stop_sequences(fake: FakeUpstream) -> None:
    """max_tokens and stop_sequences end the reply with the matching stop_reason."""
    fake.set_reply("c", "alpha beta gamma delta")
    short = claude(fake, max_tokens=2).json()
    assert short["content"][0]["text"] == "alpha beta" and short["stop_reason"] == "max_tokens"
    stopped = claude(fake, stop_sequences=["gamma"]).json()
    assert stopped["content"][0]["text"] == "alpha beta "
    assert (stopped["stop_reason"], stopped["stop_sequence"]) == ("stop_sequence", "gamma")


def test_anthropic_request_validation(fake: FakeUpstream) -> None:
    """Missing key -> 401, missing version or max_tokens -> 400, in Anthropic's format."""
    no_key = claude(fake, headers={"anthropic-version": "2023-06-01"})
    assert no_key.status_code == 401
    assert no_key.json()["error"]["type"] == "authentication_error"
    assert claude(fake, headers={"x-api-key": SECRET}).status_code == 400
    url = fake.anthropic_base_url + "/v1/messages"
    missing = httpx.post(url, json={"model": "c", "messages": USER}, headers=ANTHROPIC_HEADERS)
    assert missing.status_code == 400
    assert missing.json()["error"] == {
        "type": "invalid_request_error",
        "message": "max_tokens: Field required",
    }


def test_anthropic_status_fault_body_shape(fake: FakeUpstream) -> None:
    """A 529 fault answers the documented error shape with overloaded_error."""
    documented = json.loads((FIXTURES / "error_response.json").read_text())
    fake.add_fault("c", Fault.status_code(529))
    response = claude(fake)
    assert response.status_code == 529 and response.json().keys() == documented.keys()
    assert response.json()["error"]["type"] == "overloaded_error"


def test_anthropic_stream_error_event(fake: FakeUpstream) -> None:
    """An in-band overloaded_error ends the stream like the documented example."""
    fake.add_fault("c", Fault.stream_error(chunks=1))
    ours = claude_events(claude(fake, stream=True).text)
    documented = fixture_events("stream_error_midstream.txt")
    assert [e for e, _ in ours] == [e for e, _ in documented]
    assert ours[-1][1]["error"] == documented[-1][1]["error"]


def test_anthropic_cut_and_malformed(fake: FakeUpstream) -> None:
    """cut_after drops the connection before message_stop; malformed breaks a delta."""
    fake.add_fault("c", Fault.cut_after(1))
    with pytest.raises(httpx.RemoteProtocolError):
        claude(fake, stream=True)
    fake.add_fault("c", Fault.malformed_json())
    pairs = events(claude(fake, stream=True).text)
    assert pairs[3][0] == "content_block_delta"
    with pytest.raises(json.JSONDecodeError):
        json.loads(pairs[3][1])
    assert pairs[-1][0] == "message_stop"
