"""Routes through the real SDK and the fake upstream: decisions, fallback, the failure matrix."""

from __future__ import annotations

import time
from typing import Any

import httpx
import openai
import pytest

from routing.models import Model, Provider, Route, RouteTarget
from routing.transport import records
from tests.conftest import FAKE_SECRET, LiveServer, free_port
from tests.fake_upstream import FakeUpstream, Fault
from usage.models import UsageRecord

pytestmark = pytest.mark.usefixtures("providers", "fast_timeouts")
PRIMARY, BACKUP = "fakeai/gpt-4o", "fakeai/gpt-4o-mini"


def make_route(slug: str, strategy: str, *targets: dict[str, Any], **fields: Any) -> Route:
    route = Route.objects.create(slug=slug, strategy=strategy, **fields)
    for position, target in enumerate(targets):
        RouteTarget.objects.create(route=route, position=position, **target)
    return route


@pytest.fixture
def chain() -> Route:
    return make_route("chain", "fallback", {"model": PRIMARY}, {"model": BACKUP})


def last_record() -> UsageRecord:
    records.writer.flush(10)
    return UsageRecord.objects.order_by("-id").first()


def ask(
    client: openai.OpenAI, model: str, stream: bool, **extra: Any
) -> tuple[str, dict[str, str]]:
    """One request; returns the answer text and the response headers."""
    messages = [{"role": "user", "content": "route me"}]
    if not stream:
        raw = client.chat.completions.with_raw_response.create(
            model=model, messages=messages, **extra
        )
        return raw.parse().choices[0].message.content or "", dict(raw.headers)
    with client.chat.completions.with_streaming_response.create(
        model=model, messages=messages, stream=True, **extra
    ) as raw:
        text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
        return text, dict(raw.headers)


def test_route_headers_name_route_model_and_decision(client: openai.OpenAI, chain: Route) -> None:
    """A route answers with the model that answered and why."""
    text, headers = ask(client, "route/chain", stream=False)
    assert text.startswith("Hello from gpt-4o.")
    assert headers["x-switchyard-route"] == "chain"
    assert headers["x-switchyard-model"] == PRIMARY
    assert headers["x-switchyard-decision"] == f"fallback chain {PRIMARY} > {BACKUP}"
    assert headers["x-switchyard-attempts"] == "1"


def test_rules_by_metadata_and_header(
    client: openai.OpenAI, live_app: LiveServer, api_key: str
) -> None:
    """metadata.query_type or the x-switchyard-query-type header picks the rule."""
    make_route(
        "types",
        "rules",
        {"model": BACKUP, "query_type": "faq", "max_tokens": 3},
        {"model": PRIMARY},
    )
    _, headers = ask(client, "route/types", stream=False, metadata={"query_type": "faq"})
    assert headers["x-switchyard-model"] == BACKUP
    assert last_record().query_type == "faq"
    response = httpx.post(
        f"{live_app.url}/v1/chat/completions",
        headers={"authorization": f"Bearer {api_key}", "x-switchyard-query-type": "faq"},
        json={"model": "route/types", "messages": [{"role": "user", "content": "a b c d e f"}]},
    )
    assert response.headers["x-switchyard-model"] == BACKUP
    assert response.json()["choices"][0]["finish_reason"] == "length"  # the rule's max_tokens=3


FAULTS = {
    "500": lambda: Fault.status_code(500),
    "429": lambda: Fault.status_code(429, retry_after=30),
    "hang-before-headers": lambda: Fault.hang_before_headers(5),
    "hang-after-headers": lambda: Fault.hang_after_headers(5),
    "malformed-json": lambda: Fault.malformed_json(),
    "drop": lambda: Fault.drop(),
}


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_failure_falls_back_to_next_model(
    client: openai.OpenAI, fake: FakeUpstream, chain: Route, fault: str, stream: bool
) -> None:
    """Each failure before the first byte moves on to the next model, within a time bound."""
    fake.add_fault("gpt-4o", FAULTS[fault](), times=3)
    started = time.monotonic()
    text, headers = ask(client, "route/chain", stream=stream)
    elapsed = time.monotonic() - started
    assert text.startswith("Hello from gpt-4o-mini.")
    assert headers["x-switchyard-model"] == BACKUP
    assert headers["x-switchyard-attempts"] == "2"
    assert elapsed < 3.0  # fast_timeouts: 1 s per attempt at most
    record = last_record()
    outcomes = [a["outcome"] for a in record.attempts]
    assert outcomes[-1] == "ok" and outcomes[0] != "ok" and record.model == BACKUP
    assert FAKE_SECRET not in str(record.attempts)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_connection_refused_falls_back(
    client: openai.OpenAI, fake: FakeUpstream, stream: bool
) -> None:
    """A provider that refuses connections is skipped for the next one."""
    dead = Provider.objects.create(
        slug="dead",
        name="Dead",
        protocol="openai",
        base_url=f"http://127.0.0.1:{free_port()}/v1",
        api_key="k",
    )
    Model.objects.create(provider=dead, model_id="gone")
    make_route("dead-first", "fallback", {"model": "dead/gone"}, {"model": BACKUP})
    text, headers = ask(client, "route/dead-first", stream=stream)
    assert headers["x-switchyard-model"] == BACKUP
    assert last_record().attempts[0]["outcome"] == "connection"


def test_cut_after_first_byte_ends_with_error_not_stop(
    client: openai.OpenAI, fake: FakeUpstream, chain: Route
) -> None:
    """After the first byte a failure cannot fall back: the stream ends with an error event."""
    fake.add_fault("gpt-4o", Fault.cut_after(3))
    seen: list[Any] = []
    with pytest.raises(openai.APIError, match="mid-stream"):
        for chunk in client.chat.completions.create(
            model="route/chain",
            messages=[{"role": "user", "content": "long answer please"}],
            stream=True,
        ):
            seen.append(chunk)
    assert seen, "some chunks arrived before the cut"
    assert all(c.choices[0].finish_reason is None for c in seen if c.choices)
    record = last_record()
    assert record.status == "error" and record.error_type == "connection"
    assert record.model == PRIMARY and record.output_tokens > 0


def test_bad_request_is_not_retried(
    client: openai.OpenAI, fake: FakeUpstream, chain: Route
) -> None:
    """A 4xx request error is returned as is; the next model would reject it too."""
    fake.add_fault("gpt-4o", Fault.status_code(400))
    with pytest.raises(openai.BadRequestError):
        ask(client, "route/chain", stream=False)
    assert [r.model for r in fake.requests] == ["gpt-4o"]


def test_retry_after_is_honoured_for_a_single_model(
    client: openai.OpenAI, fake: FakeUpstream
) -> None:
    """A direct model that answers 429 with Retry-After is retried after that delay."""
    fake.add_fault("gpt-4o", Fault.status_code(429, retry_after=0.5))
    started = time.monotonic()
    text, _ = ask(client, PRIMARY, stream=False)
    assert text.startswith("Hello from gpt-4o.")
    gap = fake.requests[1].started - fake.requests[0].started
    assert 0.45 <= gap < 2.0 and time.monotonic() - started < 3


def test_every_target_failing_answers_with_the_last_error(
    client: openai.OpenAI, fake: FakeUpstream, chain: Route
) -> None:
    """When the whole chain fails the client gets a 502 listing every attempt."""
    fake.add_fault("*", Fault.status_code(500), times=4)
    with pytest.raises(openai.APIStatusError) as err:
        ask(client, "route/chain", stream=False)
    assert err.value.status_code == 502
    details = err.value.body["details"]  # type: ignore[index]
    assert [d["model"] for d in details] == [PRIMARY, BACKUP]
    assert FAKE_SECRET not in str(err.value.body)


def test_unavailable_targets_answer_503_with_reasons(
    client: openai.OpenAI, fake: FakeUpstream, settings: Any
) -> None:
    """A route whose targets are unavailable for now (one unconfigured, one cooling down)
    answers 503 with the reason per target (all unconfigured: see test_not_configured)."""
    settings.SWITCHYARD_COOLDOWN_FAILURES = 1
    settings.SWITCHYARD_COOLDOWN_SECONDS = 30.0
    Provider.objects.create(slug="nokey", name="NoKey", protocol="openai", base_url="http://x")
    Model.objects.create(provider=Provider.objects.get(slug="nokey"), model_id="m")
    make_route("nothing", "fallback", {"model": "nokey/m"}, {"model": PRIMARY})
    fake.add_fault("gpt-4o", Fault.status_code(500), times=1)
    with pytest.raises(openai.APIStatusError):
        ask(client, "route/nothing", stream=False)  # the primary fails and cools down
    with pytest.raises(openai.APIStatusError) as err:
        ask(client, "route/nothing", stream=False)
    body = str(err.value.body)
    assert err.value.status_code == 503 and "NOKEY_API_KEY" in body and "cooling down" in body


def test_failing_model_cools_down_and_comes_back(
    client: openai.OpenAI, fake: FakeUpstream, chain: Route, settings: Any
) -> None:
    """After repeated failures a model is skipped without being called, then returns by itself."""
    settings.SWITCHYARD_COOLDOWN_FAILURES = 2
    settings.SWITCHYARD_COOLDOWN_SECONDS = 1.0
    fake.add_fault("gpt-4o", Fault.status_code(500), times=2)
    ask(client, "route/chain", stream=False)
    ask(client, "route/chain", stream=False)
    calls = len(fake.requests)
    _, headers = ask(client, "route/chain", stream=False)
    assert headers["x-switchyard-model"] == BACKUP
    assert [r.model for r in fake.requests[calls:]] == ["gpt-4o-mini"]  # primary not called
    assert last_record().attempts[0]["outcome"] == "skipped"
    time.sleep(1.1)
    _, headers = ask(client, "route/chain", stream=False)
    assert headers["x-switchyard-model"] == PRIMARY


def test_route_edit_is_live_on_next_request(client: openai.OpenAI, chain: Route) -> None:
    """Editing a route's targets changes the next request, no restart."""
    assert ask(client, "route/chain", stream=False)[1]["x-switchyard-model"] == PRIMARY
    target = chain.targets.get(position=0)
    target.model = BACKUP
    target.save()
    assert ask(client, "route/chain", stream=False)[1]["x-switchyard-model"] == BACKUP


def test_ensemble_reports_each_model_and_failures_per_choice(
    client: openai.OpenAI, fake: FakeUpstream
) -> None:
    """An ensemble returns one choice per model; a failing member fails only its choice."""
    make_route(
        "panel",
        "ensemble",
        {"model": PRIMARY},
        {"model": BACKUP},
        {"model": "fakeai/deepseek-chat"},
    )
    fake.add_fault("deepseek-chat", Fault.status_code(500), times=3)
    raw = client.chat.completions.with_raw_response.create(
        model="route/panel", messages=[{"role": "user", "content": "compare"}]
    )
    body = raw.http_response.json()
    models = [c["model"] for c in body["choices"]]
    assert models == [PRIMARY, BACKUP, "fakeai/deepseek-chat"]
    assert body["choices"][0]["message"]["content"].startswith("Hello from gpt-4o.")
    assert body["choices"][2]["finish_reason"] == "error" and "error" in body["choices"][2]
    starts = sorted(r.started for r in fake.requests)
    assert starts[-1] - starts[0] < 0.5  # fanned out concurrently


def test_ensemble_judge_picks_an_answer(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """With a judge model the response says which answer won and why."""
    fake.set_reply("deepseek-chat", "best: 1\nreason: it is more complete")
    make_route(
        "judged",
        "ensemble",
        {"model": PRIMARY},
        {"model": BACKUP},
        judge_model="fakeai/deepseek-chat",
    )
    raw = client.chat.completions.with_raw_response.create(
        model="route/judged", messages=[{"role": "user", "content": "compare"}]
    )
    judge = raw.http_response.json()["switchyard"]["judge"]
    assert judge == {"model": "fakeai/deepseek-chat", "choice": 1, "reason": "it is more complete"}
    assert raw.headers["x-switchyard-judge-choice"] == "1"
    assert float(raw.headers["x-switchyard-cost-usd"]) > 0


def test_unknown_route_is_404_route_not_found(client: openai.OpenAI) -> None:
    """An unknown route is a 404 with code route_not_found."""
    with pytest.raises(openai.NotFoundError) as err:
        ask(client, "route/nope", stream=False)
    assert err.value.code == "route_not_found"


def test_invalid_metadata_names_the_field(client: openai.OpenAI, chain: Route) -> None:
    """Invalid metadata is a 400 naming the field."""
    with pytest.raises(openai.BadRequestError) as err:
        ask(client, "route/chain", stream=False, metadata={"max_cost_usd": "lots"})
    assert err.value.param == "metadata.max_cost_usd"
