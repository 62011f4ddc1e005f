"""The legacy /v1/completions (relayed where served, refused elsewhere), the 404 of every other
/v1 path, and bad input on every OpenAI door: OpenAI's envelope, never a 5xx."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.fake_upstream import FakeUpstream
from tests.routing.conftest import assert_envelope, last_record

pytestmark = pytest.mark.usefixtures("providers", "native_provider")


def test_completions_relayed(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """A provider that serves /v1/completions gets the request; usage and cost recorded."""
    raw = client.completions.with_raw_response.create(
        model="fakeresp/gpt-4o", prompt="Once upon a time", max_tokens=5
    )
    result = raw.parse()
    assert result.choices[0].text == " and then Once upon a time"
    assert result.model == "fakeresp/gpt-4o"
    sent = fake.requests[-1]
    assert sent.path == "/openai/v1/completions" and sent.body["model"] == "gpt-4o"
    assert sent.body["max_tokens"] == 5
    record = last_record(raw.headers["x-request-id"])
    assert record.protocol == "completions" and record.output_tokens == 3 and record.cost_usd


@pytest.mark.parametrize("model", ["fakeai/gpt-4o", "fakeanthropic/claude-3-5-sonnet-20241022"])
def test_completions_refused_where_not_served(http: httpx.Client, model: str) -> None:
    """A provider without /v1/completions: a clear 400 naming the model and the way out."""
    response = http.post("/v1/completions", json={"model": model, "prompt": "x"})
    error = assert_envelope(response, 400, "endpoint_not_supported")
    assert error["param"] == "model" and "/v1/chat/completions" in error["message"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"prompt": "x"}, "model"),
        ({"model": "fakeresp/gpt-4o"}, "prompt"),
        ({"model": "fakeresp/gpt-4o", "prompt": {"a": 1}}, "prompt"),
        ({"model": "fakeresp/gpt-4o", "prompt": "x", "stream": True}, "stream"),
        ({"model": "fakeresp/gpt-4o", "prompt": "x", "max_tokens": 0}, "max_tokens"),
    ],
)
def test_completions_bad_input(http: httpx.Client, body: dict, param: str) -> None:
    """Bad input on /v1/completions names the field."""
    error = assert_envelope(http.post("/v1/completions", json=body), 400)
    assert error["param"] == param, error


@pytest.mark.parametrize(
    "path",
    ["/v1/embeddings", "/v1/responses", "/v1/completions", "/v1/batches", "/v1/chat/completions"],
)
@pytest.mark.parametrize("body", [b"", b"{oops", b"[1, 2]", b"null", b'{"model": 5}'])
def test_garbage_on_every_door_is_a_400(http: httpx.Client, path: str, body: bytes) -> None:
    """Whatever the body, every JSON door answers OpenAI's 400 envelope."""
    response = http.post(path, content=body, headers={"content-type": "application/json"})
    assert_envelope(response, 400)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/audio/transcriptions"),
        ("GET", "/v1/fine_tuning/jobs"),
        ("POST", "/v1/responses/resp_x/cancel"),
        ("GET", "/v1/files/file-x/content/more"),
    ],
)
def test_other_paths_are_openai_404s(http: httpx.Client, method: str, path: str) -> None:
    """Every other /v1 path answers OpenAI's 404 envelope naming the path."""
    error = assert_envelope(http.request(method, path), 404, "unknown_url")
    assert path in error["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/embeddings"), ("PUT", "/v1/files"), ("POST", "/v1/responses/resp_x")],
)
def test_wrong_methods_are_405s(http: httpx.Client, method: str, path: str) -> None:
    """A door's path with a method it does not serve is a JSON 405."""
    assert_envelope(http.request(method, path), 405)


def test_no_key_is_a_401_on_every_door(live_app: object, fake: FakeUpstream) -> None:
    """Without a key every door answers 401 in OpenAI's envelope."""
    with httpx.Client(base_url=live_app.url, timeout=10) as anonymous:  # type: ignore[attr-defined]
        for method, path in [
            ("POST", "/v1/embeddings"),
            ("POST", "/v1/responses"),
            ("GET", "/v1/files"),
            ("GET", "/v1/batches"),
            ("POST", "/v1/completions"),
            ("GET", "/v1/responses/resp_x"),
        ]:
            assert_envelope(anonymous.request(method, path, json={}), 401)
