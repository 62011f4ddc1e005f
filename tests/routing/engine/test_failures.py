"""The failure matrix: every upstream fault, through the real openai SDK, streaming and not."""

from __future__ import annotations

import time
from typing import Any

import httpx
import openai
import pytest

from routing.models import Model, Provider
from tests.conftest import FAKE_SECRET, free_port
from tests.fake_upstream import FakeUpstream, Fault
from tests.routing.conftest import assert_envelope, assert_no_secret, last_record, sse_events

pytestmark = pytest.mark.usefixtures("providers", "fast_timeouts")
TIMEOUT = 0.4  # seconds: tighter than fast_timeouts, the fake answers in milliseconds

USER = [{"role": "user", "content": "tell me something"}]
GPT = ("fakeai/gpt-4o", "gpt-4o")
CLAUDE = ("fakeanthropic/claude-3-5-sonnet-20241022", "claude-3-5-sonnet-20241022")
BOTH = pytest.mark.parametrize("model,upstream", [GPT, CLAUDE], ids=["openai", "anthropic"])
STREAM = pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
LEAKY = {"error": {"message": f"bad key {FAKE_SECRET} rejected", "type": "server_error"}}
LEAKY_ANTHROPIC = {
    "type": "error",
    "error": {"type": "api_error", "message": LEAKY["error"]["message"]},
}


@pytest.fixture(autouse=True)
def _quick(fast_timeouts: None, settings: Any) -> None:
    """Hangs resolve in well under a second; one attempt each unless a test retries."""
    settings.SWITCHYARD_FIRST_TOKEN_TIMEOUT = TIMEOUT
    settings.SWITCHYARD_STALL_TIMEOUT = TIMEOUT
    settings.SWITCHYARD_REQUEST_TIMEOUT = TIMEOUT
    settings.SWITCHYARD_MAX_RETRIES = 0


@pytest.fixture
def retry_once(settings: Any) -> None:
    """The shipped default: a model named directly gets one retry."""
    settings.SWITCHYARD_MAX_RETRIES = 1


def fail(client: openai.OpenAI, model: str, stream: bool) -> openai.APIStatusError:
    """Send one request that must fail before any chunk, and return the SDK's error."""
    with pytest.raises(openai.APIStatusError) as info:
        result = client.chat.completions.create(model=model, messages=USER, stream=stream)
        if stream:
            list(result)
    return info.value


def check_failed(
    err: openai.APIStatusError, status: int, code: str, error_type: str, attempts: int
) -> None:
    """Status, envelope, no secret, and a usage record that says what went wrong."""
    assert err.status_code == status
    assert_envelope(err.response, status, code)
    assert_no_secret(err.response)
    request_id = err.response.headers["x-request-id"]
    record = last_record(request_id)
    assert record.status == "error" and record.http_status == status
    assert record.error_type == error_type
    assert len(record.attempts) == attempts
    assert all(a["outcome"] == error_type for a in record.attempts)
    assert FAKE_SECRET not in str(record.attempts)


@BOTH
@STREAM
def test_upstream_500_gives_502(
    client: openai.OpenAI, fake: FakeUpstream, model: str, upstream: str, stream: bool
) -> None:
    """An upstream 500 (quoting our key) becomes a 502 envelope without the key."""
    body = LEAKY if upstream == "gpt-4o" else LEAKY_ANTHROPIC
    fake.add_fault(upstream, Fault.status_code(500, body=body))
    err = fail(client, model, stream)
    assert isinstance(err, openai.InternalServerError)
    check_failed(err, 502, "upstream_server", "server", attempts=1)


@STREAM
@pytest.mark.usefixtures("retry_once")
def test_persistent_500_is_retried_once_then_502(
    client: openai.OpenAI, fake: FakeUpstream, stream: bool
) -> None:
    """A 500 that persists is retried once, then the client gets a 502."""
    fake.add_fault("gpt-4o", Fault.status_code(500, body=LEAKY), times=2)
    err = fail(client, "fakeai/gpt-4o", stream)
    check_failed(err, 502, "upstream_server", "server", attempts=2)
    assert len(fake.requests) == 2


@STREAM
@pytest.mark.usefixtures("retry_once")
def test_single_500_is_retried_and_answers(
    client: openai.OpenAI, fake: FakeUpstream, stream: bool
) -> None:
    """One transient 500 is absorbed by the retry: the client gets the answer."""
    fake.add_fault("gpt-4o", Fault.status_code(500))
    result = client.chat.completions.create(model="fakeai/gpt-4o", messages=USER, stream=stream)
    text = (
        "".join(c.choices[0].delta.content or "" for c in result if c.choices)
        if stream
        else result.choices[0].message.content
    )
    assert text.startswith("Hello from gpt-4o")
    record = last_record()
    assert record.status == "ok"
    assert [a["outcome"] for a in record.attempts] == ["server", "ok"]


@BOTH
@STREAM
def test_429_with_long_retry_after_passes_through(
    client: openai.OpenAI, fake: FakeUpstream, model: str, upstream: str, stream: bool
) -> None:
    """429 + Retry-After longer than we wait: the client gets 429 and the same Retry-After."""
    fake.add_fault(upstream, Fault.status_code(429, retry_after=7))
    started = time.monotonic()
    err = fail(client, model, stream)
    assert time.monotonic() - started < 2.0  # did not wait the 7 seconds
    assert isinstance(err, openai.RateLimitError)
    assert err.response.headers["retry-after"] == "7"
    check_failed(err, 429, "rate_limit_exceeded", "rate_limit", attempts=1)


@pytest.mark.usefixtures("retry_once")
def test_429_short_retry_after_is_honoured_before_retrying(
    client: openai.OpenAI, fake: FakeUpstream
) -> None:
    """A short Retry-After is waited out once; a second 429 reaches the client with it."""
    fake.add_fault("gpt-4o", Fault.status_code(429, retry_after=1), times=2)
    started = time.monotonic()
    err = fail(client, "fakeai/gpt-4o", stream=False)
    elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 3.0
    assert err.response.headers["retry-after"] == "1"
    check_failed(err, 429, "rate_limit_exceeded", "rate_limit", attempts=2)
    gap = fake.requests[1].started - fake.requests[0].started
    assert gap >= 0.95


@STREAM
def test_hang_before_headers_gives_504_in_bounded_time(
    client: openai.OpenAI, fake: FakeUpstream, stream: bool
) -> None:
    """An upstream that never answers turns into a 504 soon after the timeouts, not a hang."""
    fake.add_fault("gpt-4o", Fault.hang_before_headers(10))
    started = time.monotonic()
    err = fail(client, "fakeai/gpt-4o", stream)
    elapsed = time.monotonic() - started
    assert TIMEOUT <= elapsed < TIMEOUT + 1.5
    assert isinstance(err, openai.InternalServerError)
    check_failed(err, 504, "upstream_timeout", "timeout", attempts=1)


@STREAM
def test_hang_after_headers_gives_504(
    client: openai.OpenAI, fake: FakeUpstream, stream: bool
) -> None:
    """200 headers then silence: a timeout (504), never a half answer or a hang."""
    fake.add_fault("gpt-4o", Fault.hang_after_headers(10))
    started = time.monotonic()
    err = fail(client, "fakeai/gpt-4o", stream)
    assert TIMEOUT <= time.monotonic() - started < TIMEOUT + 1.5
    check_failed(err, 504, "upstream_timeout", "timeout", attempts=1)


def test_stall_mid_stream_ends_with_timeout_error_event(
    client: openai.OpenAI, fake: FakeUpstream, http: httpx.Client
) -> None:
    """A stream that stalls after its first chunks ends with an error event within the stall timeout."""
    fake.add_fault("gpt-4o", Fault.stall_after(2, seconds=10))
    started = time.monotonic()
    response = http.post(
        "/v1/chat/completions",
        json={"model": "fakeai/gpt-4o", "messages": USER, "stream": True},
    )
    assert TIMEOUT <= time.monotonic() - started < TIMEOUT + 1.5
    assert response.status_code == 200
    events = sse_events(response.text)
    assert "[DONE]" not in events
    error = events[-1]["error"]  # type: ignore[index]
    assert error["code"] == "stream_timeout" and set(error) >= {"message", "type", "param"}
    record = last_record(response.headers["x-request-id"])
    assert record.status == "error" and record.error_type == "timeout"


@BOTH
@STREAM
def test_malformed_json_gives_502(
    client: openai.OpenAI, fake: FakeUpstream, model: str, upstream: str, stream: bool
) -> None:
    """A 200 whose body (or first content event) is not JSON becomes a 502."""
    fake.add_fault(upstream, Fault.malformed_json())
    err = fail(client, model, stream)
    check_failed(err, 502, "upstream_malformed", "malformed", attempts=1)


@BOTH
def test_stream_cut_mid_way_raises_in_the_sdk(
    client: openai.OpenAI, fake: FakeUpstream, model: str, upstream: str
) -> None:
    """A stream cut after N chunks makes the SDK raise: no clean finish_reason 'stop'."""
    fake.add_fault(upstream, Fault.cut_after(3))
    fake.set_reply(upstream, "one two three four five six seven eight")
    seen = []
    with pytest.raises(openai.APIError) as info:
        for chunk in client.chat.completions.create(model=model, messages=USER, stream=True):
            seen.append(chunk)
    text = "".join(c.choices[0].delta.content or "" for c in seen if c.choices)
    assert text == "one two three"
    assert not any(c.choices and c.choices[0].finish_reason for c in seen)
    assert info.value.code == "stream_connection"  # type: ignore[attr-defined]
    assert FAKE_SECRET not in str(info.value.body)
    record = last_record()
    assert record.status == "error" and record.error_type == "connection"
    assert record.stream and record.output_tokens == 3 and record.tokens_estimated


def test_stream_cut_raw_body_has_error_event_and_no_done(
    http: httpx.Client, fake: FakeUpstream
) -> None:
    """On the wire a cut stream ends with an error event, without [DONE] or a finish_reason."""
    fake.add_fault("gpt-4o", Fault.cut_after(2))
    response = http.post(
        "/v1/chat/completions",
        json={"model": "fakeai/gpt-4o", "messages": USER, "stream": True},
    )
    events = sse_events(response.text)
    assert "[DONE]" not in events
    assert set(events[-1]["error"]) >= {"message", "type", "code", "param"}  # type: ignore[index]
    finishes = [c["choices"][0]["finish_reason"] for c in events[:-1] if c["choices"]]  # type: ignore[index]
    assert finishes and not any(finishes)
    assert_no_secret(response)


@BOTH
def test_in_band_stream_error_is_an_error_event_without_the_secret(
    http: httpx.Client, fake: FakeUpstream, model: str, upstream: str
) -> None:
    """An upstream error event after some chunks is relayed as an error event, secret scrubbed."""
    body = LEAKY if upstream == "gpt-4o" else LEAKY_ANTHROPIC
    fake.add_fault(upstream, Fault.stream_error(chunks=2, body=body))
    response = http.post(
        "/v1/chat/completions", json={"model": model, "messages": USER, "stream": True}
    )
    events = sse_events(response.text)
    assert "[DONE]" not in events
    assert events[-1]["error"]["type"] == "upstream_error"  # type: ignore[index]
    assert_no_secret(response)
    assert last_record(response.headers["x-request-id"]).status == "error"


@BOTH
@STREAM
def test_dropped_connection_gives_502(
    client: openai.OpenAI, fake: FakeUpstream, model: str, upstream: str, stream: bool
) -> None:
    """An upstream that closes the connection without answering becomes a 502."""
    fake.add_fault(upstream, Fault.drop())
    err = fail(client, model, stream)
    check_failed(err, 502, "upstream_connection", "connection", attempts=1)


def test_half_body_then_cut_gives_502(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """A non-streaming body cut in the middle becomes a 502, not a parse crash."""
    fake.add_fault("gpt-4o", Fault.cut_after(0))
    err = fail(client, "fakeai/gpt-4o", stream=False)
    check_failed(err, 502, "upstream_connection", "connection", attempts=1)


@STREAM
def test_connection_refused_gives_502_quickly(client: openai.OpenAI, stream: bool) -> None:
    """A provider whose port has nothing listening fails fast with a 502."""
    dead = Provider.objects.create(
        slug="deadai",
        name="DeadAI",
        protocol="openai",
        base_url=f"http://127.0.0.1:{free_port()}/v1",
        api_key=FAKE_SECRET,
    )
    Model.objects.create(provider=dead, model_id="gpt-4o", prices_ref="openai:gpt-4o")
    started = time.monotonic()
    err = fail(client, "deadai/gpt-4o", stream)
    assert time.monotonic() - started < 3.0  # well under the 5 s connect timeout
    check_failed(err, 502, "upstream_connection", "connection", attempts=1)


@STREAM
def test_upstream_auth_error_does_not_echo_secret(
    client: openai.OpenAI, fake: FakeUpstream, stream: bool
) -> None:
    """An upstream 401 that quotes our provider key reaches the client scrubbed, as a 502."""
    body = {"error": {"message": f"Incorrect API key provided: {FAKE_SECRET}", "code": "x"}}
    fake.add_fault("gpt-4o", Fault.status_code(401, body=body))
    err = fail(client, "fakeai/gpt-4o", stream)
    assert err.status_code == 502
    assert_no_secret(err.response)
    assert len(fake.requests) == 1  # auth errors are not retried


@BOTH
def test_wrong_shape_mid_stream_ends_with_an_error_event(
    http: httpx.Client, fake: FakeUpstream, model: str, upstream: str
) -> None:
    """A mid-stream event that is JSON of the wrong shape ends the stream with an error event."""
    fake.add_fault(upstream, Fault.wrong_shape(chunks=2))
    response = http.post(
        "/v1/chat/completions", json={"model": model, "messages": USER, "stream": True}
    )
    events = sse_events(response.text)
    assert "[DONE]" not in events
    assert events[-1]["error"]["code"] == "stream_malformed"  # type: ignore[index]
    record = last_record(response.headers["x-request-id"])
    assert record.status == "error" and record.error_type == "malformed"


@BOTH
def test_wrong_shape_body_gives_502(
    client: openai.OpenAI, fake: FakeUpstream, model: str, upstream: str
) -> None:
    """A 200 whose JSON body is not a completion/message becomes a 502, never a 200 or 500."""
    fake.add_fault(upstream, Fault.wrong_shape())
    err = fail(client, model, stream=False)
    check_failed(err, 502, "upstream_malformed", "malformed", attempts=1)
