"""With no provider keys at all, the built-in simulator answers end to end over real HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from io import StringIO
from typing import Any

import openai
import pytest
from django.conf import settings
from django.core.management import call_command
from genai_prices import Usage
from genai_prices.data_snapshot import get_snapshot

from routing.catalog.seed import BUILTIN_PROVIDERS
from routing.providers.simulator import LABEL
from tests.conftest import LiveServer
from tests.routing.conftest import last_record

USER = [{"role": "user", "content": "How should I pick a model?"}]
DEEPSEEK_CHAT = {"input": Decimal("0.27"), "output": Decimal("1.1")}  # list price, per MTok


@pytest.fixture
def keyless(gateway_db: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh install: the catalog synced, no provider key anywhere."""
    for builtin in BUILTIN_PROVIDERS:
        monkeypatch.delenv(f"{builtin.slug.upper()}_API_KEY", raising=False)
        monkeypatch.delenv(f"{builtin.slug.upper()}_BASE_URL", raising=False)
    call_command("sync_catalog", stdout=StringIO())
    yield


@pytest.fixture
def sdk(keyless: None, client: openai.OpenAI) -> openai.OpenAI:
    return client


def test_sim_fast_answers_through_the_gateway(sdk: openai.OpenAI) -> None:
    """sim/fast answers a plain completion, labelled as simulated, priced as DeepSeek-V3."""
    raw = sdk.chat.completions.with_raw_response.create(model="sim/fast", messages=USER)
    result = raw.parse()
    assert result.model == "sim/fast"
    text = result.choices[0].message.content
    assert text.startswith(LABEL) and "simulated" in text.lower()
    assert "How should I pick a model?" in text
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
    record = last_record(raw.headers["x-request-id"])
    # genai-prices itself, at the time of the call: DeepSeek is half price off-peak
    provider, model = get_snapshot().find_provider_model("deepseek-chat", None, "deepseek", None)
    usage = Usage(
        input_tokens=result.usage.prompt_tokens, output_tokens=result.usage.completion_tokens
    )
    expected = model.calc_price(
        usage, provider, genai_request_timestamp=record.created_at
    ).total_price
    assert Decimal(raw.headers["x-switchyard-cost-usd"]) == pytest.approx(expected)
    assert record.provider == "sim" and record.model == "sim/fast"
    assert record.price_known and record.cost_usd == pytest.approx(expected)


def test_sim_streams_at_a_pace(sdk: openai.OpenAI, settings: Any) -> None:
    """A streamed simulator answer arrives word by word over time, not in one burst."""
    settings.SWITCHYARD_SIM_TOKENS_PER_SECOND = 50.0  # sim/fast: 100 words per second
    started = time.monotonic()
    arrivals, parts = [], []
    for chunk in sdk.chat.completions.create(
        model="sim/fast",
        messages=USER,
        stream=True,
        max_tokens=30,
        stream_options={"include_usage": True},
    ):
        arrivals.append(time.monotonic() - started)
        if chunk.choices:
            parts.append(chunk.choices[0].delta.content or "")
    text = "".join(parts)
    assert text.startswith(LABEL.split()[0])
    assert len([part for part in parts if part]) == 30
    assert arrivals[-1] - arrivals[1] >= 0.2  # 30 words at 100/s, with slack
    assert chunk.usage is not None and chunk.usage.completion_tokens == 30
    record = last_record()
    assert record.stream and record.status == "ok" and record.output_tokens == 30
    assert record.ttft_ms is not None and record.latency_ms - record.ttft_ms >= 200


def test_sim_models_are_listed_as_simulated(sdk: openai.OpenAI) -> None:
    """With no keys, models.list() offers the simulator's models, flagged as simulated."""
    models = {m.id: m.model_dump() for m in sdk.models.list().data}
    assert {"sim/fast", "sim/balanced", "sim/smart"} <= set(models)
    fast = models["sim/fast"]
    assert fast["simulated"] is True and fast["pricing"]["price_known"] is True
    assert fast["pricing"]["input_per_million"] == float(DEEPSEEK_CHAT["input"])
    assert not any(m.startswith(("openai/", "anthropic/", "deepseek/")) for m in models)


def test_sim_smart_is_priced_as_gpt_4o(sdk: openai.OpenAI) -> None:
    """Each simulated model costs what the model it stands for would."""
    result = sdk.chat.completions.create(model="sim/smart", messages=USER, max_tokens=5)
    expected = (
        Decimal(result.usage.prompt_tokens) * Decimal("2.5")
        + Decimal(result.usage.completion_tokens) * 10
    ) / 10**6
    assert result.choices[0].finish_reason == "length"
    assert last_record().cost_usd == pytest.approx(expected)


def test_real_models_without_keys_say_how_to_configure(sdk: openai.OpenAI) -> None:
    """Asking for a real model with no key set names the variable to set, not a crash."""
    with pytest.raises(openai.BadRequestError) as info:
        sdk.chat.completions.create(model="openai/gpt-4o", messages=USER)
    assert "OPENAI_API_KEY" in info.value.message


def test_simulator_endpoint_is_plain_openai(live_app: LiveServer, keyless: None) -> None:
    """The simulator itself is an OpenAI-compatible endpoint the real SDK can call (with the
    server's internal token, outside DEBUG)."""
    token = settings.SWITCHYARD_INTERNAL_TOKEN
    sim = openai.OpenAI(base_url=f"{live_app.url}/sim/v1", api_key=token, max_retries=0)
    result = sim.chat.completions.create(model="balanced", messages=USER)
    assert result.choices[0].message.content.startswith(LABEL)
    with pytest.raises(openai.NotFoundError):
        sim.chat.completions.create(model="nope", messages=USER)


@pytest.mark.parametrize("api_key", ["unused", "sy-not-the-internal-token"])
def test_simulator_refuses_anyone_but_the_gateway_outside_debug(
    live_app: LiveServer, keyless: None, api_key: str
) -> None:
    """DEBUG off: without the internal token the simulator answers 401, on every endpoint."""
    sim = openai.OpenAI(base_url=f"{live_app.url}/sim/v1", api_key=api_key, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        sim.chat.completions.create(model="balanced", messages=USER)
    with pytest.raises(openai.AuthenticationError):
        sim.models.list()
    with pytest.raises(openai.AuthenticationError):
        sim.embeddings.create(model="embed", input="hi")
    with pytest.raises(openai.AuthenticationError):
        sim.chat.completions.create(
            model="fast", messages=USER, response_format={"type": "json_object"}
        )


def test_simulator_is_open_in_development(
    live_app: LiveServer, keyless: None, settings: object
) -> None:
    """DEBUG on (a laptop): the simulator answers without a token."""
    settings.DEBUG = True  # type: ignore[attr-defined]
    sim = openai.OpenAI(base_url=f"{live_app.url}/sim/v1", api_key="unused", max_retries=0)
    assert sim.chat.completions.create(model="balanced", messages=USER).choices


WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 2},
        "temp": {"type": "number"},
        "days": {"type": "array", "items": {"type": "integer"}, "minItems": 2},
        "unit": {"enum": ["C", "F"]},
        "sunny": {"type": "boolean"},
    },
    "required": ["city", "temp", "days", "unit", "sunny"],
    "additionalProperties": False,
}


def _matches(value: Any) -> None:
    """The simulated value satisfies WEATHER_SCHEMA, checked key by key."""
    assert set(value) == set(WEATHER_SCHEMA["properties"])
    assert isinstance(value["city"], str) and len(value["city"]) >= 2
    assert isinstance(value["temp"], float)
    assert len(value["days"]) >= 2 and all(isinstance(d, int) for d in value["days"])
    assert value["unit"] in ("C", "F") and value["sunny"] is True


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_sim_honours_a_json_schema(sdk: openai.OpenAI, stream: bool) -> None:
    """response_format json_schema: valid JSON matching the schema (as instructor expects)."""
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "w", "schema": WEATHER_SCHEMA},
    }
    kwargs: dict[str, Any] = {
        "model": "sim/fast",
        "messages": USER,
        "response_format": response_format,
    }
    if stream:
        text = "".join(
            c.choices[0].delta.content or ""
            for c in sdk.chat.completions.create(**kwargs, stream=True)
            if c.choices
        )
    else:
        text = sdk.chat.completions.create(**kwargs).choices[0].message.content or ""
    _matches(json.loads(text))


def test_sim_honours_json_object(sdk: openai.OpenAI) -> None:
    """response_format json_object: a JSON object, still labelled as simulated."""
    answer = sdk.chat.completions.create(
        model="sim/fast", messages=USER, response_format={"type": "json_object"}
    )
    value = json.loads(answer.choices[0].message.content or "")
    assert value["simulated"] is True and value["answer"].startswith(LABEL)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize(
    "choice", ["required", {"type": "function", "function": {"name": "get_weather"}}]
)
def test_sim_calls_a_required_tool(sdk: openai.OpenAI, stream: bool, choice: Any) -> None:
    """tools with tool_choice required (or a named tool): a tool call with arguments that
    match the tool's parameters, finish_reason tool_calls."""
    tools = [
        {"type": "function", "function": {"name": "other", "parameters": {"type": "object"}}},
        {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA}},
    ]
    if choice == "required":
        tools.reverse()
    kwargs: dict[str, Any] = {
        "model": "sim/fast",
        "messages": USER,
        "tools": tools,
        "tool_choice": choice,
    }
    if stream:
        chunks = [c for c in sdk.chat.completions.create(**kwargs, stream=True) if c.choices]
        calls = [t for c in chunks for t in c.choices[0].delta.tool_calls or ()]
        name = calls[0].function.name  # type: ignore[union-attr]
        arguments = "".join(t.function.arguments or "" for t in calls)  # type: ignore[union-attr]
        finish = chunks[-1].choices[0].finish_reason
    else:
        message = sdk.chat.completions.create(**kwargs).choices[0]
        call = message.message.tool_calls[0]  # type: ignore[index]
        name, arguments, finish = call.function.name, call.function.arguments, message.finish_reason  # type: ignore[union-attr]
    assert name == "get_weather" and finish == "tool_calls"
    _matches(json.loads(arguments))


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_sim_answers_n_choices(sdk: openai.OpenAI, stream: bool) -> None:
    """n=3: three choices, never fewer than asked."""
    kwargs: dict[str, Any] = {"model": "sim/fast", "messages": USER, "n": 3, "max_tokens": 12}
    if stream:
        seen: dict[int, str] = {}
        for chunk in sdk.chat.completions.create(**kwargs, stream=True):
            for c in chunk.choices:
                seen[c.index] = seen.get(c.index, "") + (c.delta.content or "")
        texts = [seen[i] for i in sorted(seen)]
    else:
        texts = [c.message.content or "" for c in sdk.chat.completions.create(**kwargs).choices]
    assert len(texts) == 3 and all(t.startswith(LABEL.split()[0]) for t in texts)


@pytest.mark.parametrize(
    ("prompt", "shape"),
    [
        ("Write a Python function that reverses a list", "```python\ndef "),
        ("Show me a JavaScript snippet to debounce input", "```javascript\nfunction "),
        ("A SQL query for last week's orders", "```sql\n"),
        ("Compare Redis, Memcached and Postgres in a table", "| Redis |"),
        ("List the steps to rotate an API key", "\n1. "),
    ],
)
def test_sim_answers_in_the_shape_asked_for(sdk: openai.OpenAI, prompt: str, shape: str) -> None:
    """Code for a code question, a table for a comparison, steps for a list; still labelled."""
    text = (
        sdk.chat.completions.create(
            model="sim/balanced", messages=[{"role": "user", "content": prompt}], max_tokens=2000
        )
        .choices[0]
        .message.content
        or ""
    )
    assert text.startswith(LABEL)
    assert shape in text


def test_sim_quotes_a_long_prompt_without_cutting_a_word(sdk: openai.OpenAI) -> None:
    """The closing quote of a long prompt ends at a word boundary, with an ellipsis."""
    prompt = "Explain " + "consistently hashing distributed caches " * 10
    text = (
        sdk.chat.completions.create(
            model="sim/fast", messages=[{"role": "user", "content": prompt}], max_tokens=2000
        )
        .choices[0]
        .message.content
        or ""
    )
    quoted = text.rsplit('You asked about "', 1)[1].removesuffix('".')
    assert quoted.endswith("…") and prompt.startswith(quoted.removesuffix("…"))
    assert quoted.removesuffix("…").split()[-1] in prompt.split()
