"""Bad input gets OpenAI's error envelope and status: never a 500, never an HTML page."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from django.utils import timezone

from routing.models import ApiKey, Model, Provider
from tests.conftest import LiveServer
from tests.fake_upstream import FakeUpstream
from tests.routing.conftest import assert_envelope

pytestmark = pytest.mark.usefixtures("providers")

URL = "/v1/chat/completions"
MODEL = "fakeai/gpt-4o"
USER = [{"role": "user", "content": "hi"}]


def post_raw(http: httpx.Client, content: bytes) -> httpx.Response:
    return http.post(URL, content=content, headers={"content-type": "application/json"})


MALFORMED = [
    b"{not json",
    b'{"model": "fakeai/gpt-4o", "messages": [',
    b"",
    b"\xff\xfe\x00",
    b"NaN",
]
NOT_OBJECTS = [b"[]", b'"hello"', b"42", b"null", b"[{}]"]


def test_malformed_json_is_400(http: httpx.Client) -> None:
    """A body that is not JSON is a 400 invalid_request_error that says so."""
    for content in MALFORMED:
        error = assert_envelope(post_raw(http, content), 400)
        assert error["type"] == "invalid_request_error"
        assert "JSON" in error["message"], content


def test_non_object_body_is_400(http: httpx.Client) -> None:
    """Valid JSON that is not an object is a 400 that says so."""
    for content in NOT_OBJECTS:
        error = assert_envelope(post_raw(http, content), 400)
        assert "object" in error["message"], content


def test_missing_messages_is_400(http: httpx.Client) -> None:
    """A request without messages names the missing parameter."""
    error = assert_envelope(http.post(URL, json={"model": MODEL}), 400)
    assert error["param"] == "messages" and "messages" in error["message"]


def test_empty_messages_is_400(http: httpx.Client, fake: FakeUpstream) -> None:
    """An empty messages list is rejected before any upstream call."""
    error = assert_envelope(http.post(URL, json={"model": MODEL, "messages": []}), 400)
    assert error["param"] == "messages"
    assert fake.requests == []


def test_missing_model_is_400(http: httpx.Client) -> None:
    """A request without a model names the missing parameter."""
    error = assert_envelope(http.post(URL, json={"messages": USER}), 400)
    assert error["param"] == "model"


WRONG_TYPES: list[tuple[dict[str, Any], str]] = [
    ({"temperature": "hot"}, "temperature"),
    ({"temperature": 7}, "temperature"),
    ({"top_p": [1]}, "top_p"),
    ({"max_tokens": -1}, "max_tokens"),
    ({"max_tokens": "many"}, "max_tokens"),
    ({"n": 0}, "n"),
    ({"stream": {"yes": 1}}, "stream"),
    ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ({"stop": 5}, "stop"),
    ({"tools": "lookup"}, "tools"),
    ({"response_format": "json"}, "response_format"),
    ({"model": 123}, "model"),
    ({"model": ""}, "model"),
    ({"messages": "hi"}, "messages"),
    ({"messages": {"role": "user"}}, "messages"),
    ({"messages": ["hi"]}, "messages.0"),
    ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages.0.role"),
    ({"messages": [{"content": "hi"}]}, "messages.0.role"),
    ({"messages": [{"role": "user", "content": 42}]}, "messages.0.content"),
    ({"metadata": {"query_type": 3}}, "metadata.query_type"),
    ({"stream_options": {"include_usage": "sometimes"}}, "stream_options.include_usage"),
]


def test_wrong_types_are_400_naming_the_param(http: httpx.Client, fake: FakeUpstream) -> None:
    """Each wrongly typed field is a 400 whose `param` names it; nothing reaches upstream."""
    wrong = []
    for extra, param in WRONG_TYPES:
        response = http.post(URL, json={"model": MODEL, "messages": USER, **extra})
        error = assert_envelope(response, 400)
        assert error["type"] == "invalid_request_error"
        if not (error["param"] == param or str(error["param"]).startswith(param + ".")):
            wrong.append((extra, param, error["param"]))
    assert not wrong
    assert fake.requests == []


def test_wrong_types_through_the_sdk(client: openai.OpenAI) -> None:
    """The SDK surfaces a wrong type as BadRequestError with OpenAI's fields."""
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=MODEL, messages=USER, temperature="hot")  # type: ignore[arg-type]
    assert info.value.param == "temperature"
    assert info.value.type == "invalid_request_error"


def test_unknown_model_is_404_model_not_found(client: openai.OpenAI) -> None:
    """An unknown model is a 404 with code model_not_found, through the SDK."""
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="nope/not-a-model", messages=USER)
    assert info.value.code == "model_not_found" and info.value.param == "model"
    assert "nope/not-a-model" in info.value.message
    assert_envelope(info.value.response, 404, "model_not_found")


def test_unknown_model_detail_is_404(client: openai.OpenAI) -> None:
    """models.retrieve of an unknown id is a 404 model_not_found."""
    with pytest.raises(openai.NotFoundError) as info:
        client.models.retrieve("nope/not-a-model")
    assert info.value.code == "model_not_found"


def test_unconfigured_provider_names_its_env_var(
    client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A provider that needs a key and has none says which environment variable to set."""
    monkeypatch.delenv("KEYLESS_API_KEY", raising=False)
    provider = Provider.objects.create(
        slug="keyless", name="Keyless", protocol="openai", base_url="http://127.0.0.1:9/v1"
    )
    Model.objects.create(provider=provider, model_id="m1", prices_ref="openai:gpt-4o")
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="keyless/m1", messages=USER)
    error = assert_envelope(info.value.response, 400, "provider_not_configured")
    assert "KEYLESS_API_KEY" in error["message"] and error["param"] == "model"


def test_missing_key_is_401(live_app: LiveServer) -> None:
    """No Authorization header: 401 invalid_api_key."""
    response = httpx.post(live_app.url + URL, json={"model": MODEL, "messages": USER})
    error = assert_envelope(response, 401, "invalid_api_key")
    assert "API key" in error["message"]


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Token sy-abc", "sy-abc"])
def test_malformed_authorization_is_401(live_app: LiveServer, header: str) -> None:
    """An Authorization header that is not a bearer key is a 401."""
    response = httpx.get(live_app.url + "/v1/models", headers={"Authorization": header})
    assert_envelope(response, 401, "invalid_api_key")


def test_wrong_key_is_401(live_app: LiveServer) -> None:
    """An unknown key is a 401 through the SDK."""
    sdk = openai.OpenAI(base_url=live_app.url + "/v1", api_key="sy-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        sdk.chat.completions.create(model=MODEL, messages=USER)
    assert info.value.code == "invalid_api_key"


def test_revoked_key_is_401(client: openai.OpenAI, api_key: str) -> None:
    """A key revoked the way admin does it (revoked_at set and saved) stops working at once."""
    assert client.models.list().data
    key = ApiKey.objects.get(name="test")
    key.revoked_at = timezone.now()
    key.save()
    with pytest.raises(openai.AuthenticationError) as info:
        client.chat.completions.create(model=MODEL, messages=USER)
    assert "revoked" in info.value.message
    with pytest.raises(openai.AuthenticationError):
        client.models.list()


def test_oversized_body_is_413(http: httpx.Client, settings: Any) -> None:
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 request_too_large."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    body = {"model": MODEL, "messages": [{"role": "user", "content": "x" * 5000}]}
    assert_envelope(http.post(URL, json=body), 413, "request_too_large")


def test_body_over_default_4mb_is_413(client: openai.OpenAI) -> None:
    """With the default limit, a > 4 MB prompt is a 413 through the SDK."""
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "x" * (4 * 1024 * 1024 + 10)}]
        )
    assert info.value.status_code == 413
    assert_envelope(info.value.response, 413, "request_too_large")


UNKNOWN_PATHS = [
    "/v1/audio/speech",
    "/v1/images/generations",
    "/v1/fine_tuning/jobs",
    "/v1/chat/completions/x",
    "/v1/",
    "/v1/models/",
]
WRONG_METHODS = [
    ("GET", URL),
    ("PUT", URL),
    ("DELETE", URL),
    ("PATCH", URL),
    ("OPTIONS", URL),
    ("POST", "/v1/models"),
    ("DELETE", "/v1/models"),
    ("POST", "/v1/models/fakeai/gpt-4o"),
]


def test_unknown_v1_path_is_404_json(http: httpx.Client) -> None:
    """An unknown /v1 path is a JSON 404 naming the path, not Django's HTML page."""
    for path in UNKNOWN_PATHS:
        error = assert_envelope(http.post(path, json={}), 404, "unknown_url")
        assert path in error["message"]
        assert_envelope(http.get(path), 404)


def test_wrong_method_is_405_json(http: httpx.Client) -> None:
    """A method an endpoint does not serve is a JSON 405."""
    for method, path in WRONG_METHODS:
        assert_envelope(http.request(method, path), 405)


def test_wrong_method_without_key_is_still_json(live_app: LiveServer) -> None:
    """Without a key, wrong methods and unknown paths still answer JSON, never HTML."""
    for method, path in [("GET", URL), ("PUT", "/v1/whatever"), ("HEAD", URL)]:
        response = httpx.request(method, live_app.url + path)
        assert response.status_code in (401, 404, 405)
        if method != "HEAD":
            assert response.headers["content-type"].startswith("application/json")


ODD_BODIES: list[dict[str, Any]] = [
    {"model": MODEL, "messages": [{"role": "user", "content": [{"type": "text"}]}]},
    {"model": MODEL, "messages": [{"role": "user", "content": [1, 2]}]},
    {"model": MODEL, "messages": [{"role": "user", "content": None}]},
    {"model": MODEL, "messages": USER, "metadata": "x"},
    {"model": MODEL, "messages": USER, "tool_choice": 5},
    {"model": MODEL, "messages": USER, "stream_options": "x"},
    {"model": MODEL, "messages": USER, "stream": True, "n": 99},
    {"model": "x" * 1000, "messages": USER},
    {"model": MODEL, "messages": [{"role": "user", "content": "\u0000\ud7ff"}]},
]


def test_odd_inputs_never_500(http: httpx.Client) -> None:
    """Odd but parseable requests get a client error or an answer, never a 500 or HTML."""
    for body in ODD_BODIES:
        response = http.post(URL, json=body)
        assert response.status_code < 500, (body, response.text)
        content_type = response.headers["content-type"]
        assert content_type.startswith(("application/json", "text/event-stream")), body
