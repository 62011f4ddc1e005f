"""The Anthropic door's refusals and failures, in Anthropic's envelope and statuses: strict
validation naming the field, keys, limits, budgets, regions, unknown models, and the chat
door's failure matrix (500, 429 + Retry-After, hang, a stream cut mid-way, malformed JSON,
overload) with fallback before the first byte and an error event after it."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import anthropic
import httpx
import pytest

from routing.models import ApiKey, Route, RouteTarget
from tests.conftest import FAKE_SECRET, LiveServer
from tests.fake_upstream import FakeUpstream, Fault
from tests.routing.conftest import last_record
from tests.routing.doors.anthropic_helpers import (
    NATIVE,
    OPENAI_MODEL,
    UPSTREAM_ID,
    names,
    parse_sse,
)

pytestmark = pytest.mark.usefixtures("providers")
USER = [{"role": "user", "content": "tell me something"}]
OK_BODY = {"model": NATIVE, "max_tokens": 50, "messages": USER}
BOTH = pytest.mark.parametrize(
    "model,upstream", [(NATIVE, UPSTREAM_ID), (OPENAI_MODEL, "gpt-4o")], ids=["anthropic", "openai"]
)
STREAM = pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
TIMEOUT = 0.4


def send(live_app: LiveServer, key: str, body: Any, **headers: str) -> httpx.Response:
    sent = {"x-api-key": key, "anthropic-version": "2023-06-01", **headers}
    content = body if isinstance(body, bytes) else httpx.Request("POST", "/", json=body).content
    return httpx.post(f"{live_app.url}/v1/messages", content=content, headers=sent, timeout=30)


def envelope(response: httpx.Response, status: int, kind: str) -> str:
    """Anthropic's error shape with `status` and error type `kind`; returns the message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    data = response.json()
    assert data["type"] == "error" and set(data) >= {"type", "error"}
    assert data["error"]["type"] == kind, data
    assert isinstance(data["error"]["message"], str) and data["error"]["message"]
    assert FAKE_SECRET not in response.text
    return data["error"]["message"]


BAD = [
    ({"model": NATIVE, "messages": USER}, "max_tokens"),
    ({**OK_BODY, "max_tokens": 0}, "max_tokens"),
    ({**OK_BODY, "max_tokens": "5"}, "max_tokens"),
    ({"max_tokens": 5, "messages": USER}, "model"),
    ({**OK_BODY, "messages": []}, "messages"),
    ({**OK_BODY, "messages": "hi"}, "messages"),
    ({**OK_BODY, "messages": [{"role": "assistant", "content": "hi"}]}, "messages.0.role"),
    ({**OK_BODY, "messages": [{"role": "system", "content": "hi"}]}, "messages.0.role"),
    (
        {
            **OK_BODY,
            "messages": [{"role": "user", "content": [{"type": "tool_result", "content": "x"}]}],
        },
        "messages.0.content.0.tool_use_id",
    ),
    (
        {**OK_BODY, "messages": [{"role": "user", "content": [{"type": "video", "url": "x"}]}]},
        "messages.0.content.0.type",
    ),
    (
        {**OK_BODY, "messages": [{"role": "user", "content": [{"text": "no type"}]}]},
        "messages.0.content.0.type",
    ),
    (
        {**OK_BODY, "messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
        "messages.0.content.0.text",
    ),
    ({**OK_BODY, "messages": [{"role": "user", "content": None}]}, "messages.0.content"),
    (
        {
            **OK_BODY,
            "messages": [
                {"role": "user", "content": [{"type": "image", "source": {"type": "ftp"}}]}
            ],
        },
        "messages.0.content.0.source",
    ),
    ({**OK_BODY, "stream": "yes"}, "stream"),
    ({**OK_BODY, "temperature": 1.5}, "temperature"),
    ({**OK_BODY, "top_k": -1}, "top_k"),
    ({**OK_BODY, "stop_sequences": "END"}, "stop_sequences"),
    ({**OK_BODY, "system": 5}, "system"),
    ({**OK_BODY, "system": [{"type": "image"}]}, "system.0.type"),
    ({**OK_BODY, "tools": [{"name": "t"}]}, "tools.0.input_schema"),
    ({**OK_BODY, "tool_choice": {"type": "sometimes"}}, "tool_choice.type"),
    ({**OK_BODY, "tool_choice": {"type": "tool"}}, "tool_choice.name"),
    ({**OK_BODY, "thinking": {"type": "enabled", "budget_tokens": 10}}, "thinking.budget_tokens"),
    ({**OK_BODY, "metadata": "x"}, "metadata"),
]


@pytest.mark.parametrize(
    "body,field", BAD, ids=[field + str(i) for i, (_, field) in enumerate(BAD)]
)
def test_invalid_requests_are_400_naming_the_field(
    live_app: LiveServer, api_key: str, fake: FakeUpstream, body: dict, field: str
) -> None:
    """What Anthropic refuses is refused here, before any upstream call, naming the field."""
    message = envelope(send(live_app, api_key, body), 400, "invalid_request_error")
    assert message.startswith(field + ":"), message
    assert fake.requests == []


@pytest.mark.parametrize(
    "raw", [b"{not json", b"[1, 2]", b"", b"null", '{"model": "\u00e9"'.encode()]
)
def test_bodies_that_are_not_a_json_object_are_400(
    live_app: LiveServer, api_key: str, raw: bytes
) -> None:
    """Broken JSON, a list, an empty body: a 400, never a 500 or a hang."""
    envelope(send(live_app, api_key, raw), 400, "invalid_request_error")


def test_sdk_raises_bad_request(claude: anthropic.Anthropic) -> None:
    """The SDK sees Anthropic's BadRequestError with the message."""
    with pytest.raises(anthropic.BadRequestError) as info:
        claude.messages.create(
            model=NATIVE, max_tokens=5, messages=[{"role": "assistant", "content": "x"}]
        )
    assert info.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]


def test_missing_and_wrong_keys_are_401(live_app: LiveServer) -> None:
    """No key, or one Switchyard never issued: authentication_error."""
    envelope(send(live_app, "", OK_BODY), 401, "authentication_error")
    envelope(send(live_app, "sy-not-a-key", OK_BODY), 401, "authentication_error")
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(
            base_url=live_app.url, api_key="sy-wrong", max_retries=0
        ).messages.create(**OK_BODY)


def test_unknown_model_is_404_with_a_suggestion(live_app: LiveServer, api_key: str) -> None:
    """A misspelt model: not_found_error that suggests the closest id."""
    message = envelope(
        send(live_app, api_key, {**OK_BODY, "model": "claude-3-5-sonet-20241022"}),
        404,
        "not_found_error",
    )
    assert f"Did you mean {NATIVE}" in message


def test_wrong_method_and_large_body(live_app: LiveServer, api_key: str, settings: Any) -> None:
    """GET on /v1/messages is refused; a body over the limit is 413 request_too_large."""
    response = httpx.get(f"{live_app.url}/v1/messages", headers={"x-api-key": api_key})
    envelope(response, 405, "invalid_request_error")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = {**OK_BODY, "messages": [{"role": "user", "content": "x" * 5000}]}
    envelope(send(live_app, api_key, big), 413, "request_too_large")


def test_rate_limit_of_a_key_is_429_with_retry_after(
    live_app: LiveServer, gateway_db: None
) -> None:
    """The key's rpm refuses in Anthropic's terms, with retry-after."""
    _, raw = ApiKey.issue("limited", rpm=1)
    assert send(live_app, raw, OK_BODY).status_code == 200
    refused = send(live_app, raw, OK_BODY)
    envelope(refused, 429, "rate_limit_error")
    assert int(refused.headers["retry-after"]) >= 1


def test_budget_refuses_in_anthropics_envelope(live_app: LiveServer, gateway_db: None) -> None:
    """A key whose monthly budget cannot cover the request gets rate_limit_error 429."""
    _, raw = ApiKey.issue("broke", budget_usd=Decimal("0.0000001"))
    message = envelope(send(live_app, raw, OK_BODY), 429, "rate_limit_error")
    assert "budget" in message


def test_region_refuses_with_permission_error(live_app: LiveServer, gateway_db: None) -> None:
    """A key limited to the us region may not reach the eu-hosted Anthropic model."""
    _, raw = ApiKey.issue("us-only", allowed_regions="us")
    envelope(send(live_app, raw, OK_BODY), 403, "permission_error")


# --------------------------------------------------------------------------- failure matrix


@pytest.fixture
def quick(fast_timeouts: None, settings: Any) -> None:
    settings.SWITCHYARD_FIRST_TOKEN_TIMEOUT = TIMEOUT
    settings.SWITCHYARD_STALL_TIMEOUT = TIMEOUT
    settings.SWITCHYARD_REQUEST_TIMEOUT = TIMEOUT
    settings.SWITCHYARD_MAX_RETRIES = 0


def request(live_app: LiveServer, key: str, model: str, stream: bool) -> httpx.Response:
    return send(live_app, key, {**OK_BODY, "model": model, "stream": stream})


@BOTH
@STREAM
@pytest.mark.usefixtures("quick")
def test_upstream_500_is_api_error_500(
    live_app: LiveServer, api_key: str, fake: FakeUpstream, model: str, upstream: str, stream: bool
) -> None:
    """A 500 upstream (quoting our provider key) is api_error 500 without the key."""
    leaky = {"type": "error", "error": {"type": "api_error", "message": f"key {FAKE_SECRET}"}}
    fake.add_fault(upstream, Fault.status_code(500, body=leaky))
    response = request(live_app, api_key, model, stream)
    envelope(response, 500, "api_error")
    record = last_record(response.headers["x-request-id"])
    assert record.status == "error" and record.protocol == "messages"


@BOTH
@STREAM
@pytest.mark.usefixtures("quick")
def test_429_passes_retry_after(
    live_app: LiveServer, api_key: str, fake: FakeUpstream, model: str, upstream: str, stream: bool
) -> None:
    """429 with a Retry-After longer than we wait: rate_limit_error with the same retry-after."""
    fake.add_fault(upstream, Fault.status_code(429, retry_after=7))
    response = request(live_app, api_key, model, stream)
    envelope(response, 429, "rate_limit_error")
    assert response.headers["retry-after"] == "7"


@STREAM
@pytest.mark.usefixtures("quick")
def test_upstream_overloaded_is_529(
    live_app: LiveServer, api_key: str, fake: FakeUpstream, stream: bool
) -> None:
    """Anthropic's 529 overloaded_error comes back as 529 overloaded_error."""
    fake.add_fault(UPSTREAM_ID, Fault.status_code(529))
    envelope(request(live_app, api_key, NATIVE, stream), 529, "overloaded_error")


@BOTH
@STREAM
@pytest.mark.usefixtures("quick")
def test_hang_is_a_timeout_in_bounded_time(
    live_app: LiveServer, api_key: str, fake: FakeUpstream, model: str, upstream: str, stream: bool
) -> None:
    """An upstream that never answers: timeout_error 504 within the deadline."""
    fake.add_fault(upstream, Fault.hang_before_headers(10))
    started = time.monotonic()
    response = request(live_app, api_key, model, stream)
    assert time.monotonic() - started < 3
    envelope(response, 504, "timeout_error")


@BOTH
@pytest.mark.usefixtures("quick")
def test_malformed_json_is_api_error(
    live_app: LiveServer, api_key: str, fake: FakeUpstream, model: str, upstream: str
) -> None:
    """A 200 whose body is not JSON is api_error 500, not a clean-looking answer."""
    fake.add_fault(upstream, Fault.malformed_json())
    envelope(request(live_app, api_key, model, False), 500, "api_error")


@BOTH
@pytest.mark.usefixtures("quick")
def test_stream_cut_mid_way_ends_with_an_error_event(
    live_app: LiveServer, api_key: str, fake: FakeUpstream, model: str, upstream: str
) -> None:
    """The connection drops after some text: an error event, no message_stop; the SDK raises."""
    fake.add_fault(upstream, Fault.cut_after(2))
    response = request(live_app, api_key, model, True)
    assert response.status_code == 200
    events = parse_sse(response.content)
    assert "content_block_delta" in names(events)
    assert names(events)[-1] == "error" and "message_stop" not in names(events)
    assert events[-1][1] == {
        "type": "error",
        "error": {"type": "api_error", "message": events[-1][1]["error"]["message"]},
    }
    record = last_record(response.headers["x-request-id"])
    assert record.status == "error"
    fake.add_fault(upstream, Fault.cut_after(2))
    client = anthropic.Anthropic(base_url=live_app.url, api_key=api_key, max_retries=0)
    with (
        pytest.raises(anthropic.APIStatusError),
        client.messages.stream(**{**OK_BODY, "model": model}) as stream,
    ):
        for _ in stream:
            pass


@BOTH
@STREAM
@pytest.mark.usefixtures("quick")
def test_fallback_before_the_first_byte(
    live_app: LiveServer, api_key: str, fake: FakeUpstream, model: str, upstream: str, stream: bool
) -> None:
    """A route's first model fails before answering: the next one answers, and the client
    sees a clean answer (translated or native, whichever answered)."""
    other = OPENAI_MODEL if model == NATIVE else NATIVE
    route = Route.objects.create(slug="chain", strategy="fallback")
    for position, target in enumerate([model, other]):
        RouteTarget.objects.create(route=route, position=position, model=target)
    fake.add_fault(upstream, Fault.status_code(500))
    response = request(live_app, api_key, "route/chain", stream)
    assert response.status_code == 200, response.text
    assert response.headers["x-switchyard-model"] == other
    if stream:
        events = parse_sse(response.content)
        assert names(events)[0] == "message_start" and names(events)[-1] == "message_stop"
        text = "".join(d["delta"].get("text", "") for n, d in events if n == "content_block_delta")
    else:
        text = response.json()["content"][0]["text"]
    assert text.startswith("Hello from")
    record = last_record(response.headers["x-request-id"])
    assert [a["outcome"] for a in record.attempts] == ["server", "ok"]
