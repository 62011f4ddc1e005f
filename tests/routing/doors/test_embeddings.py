"""POST /v1/embeddings with the real OpenAI SDK against the fake upstream and the simulator."""

from __future__ import annotations

import asyncio
import base64
import struct

import httpx
import openai
import pytest

from routing.catalog.routetable import CatalogIndex, route_problems
from routing.catalog.sync import sync_catalog
from routing.models import Model, Provider, Route, RouteTarget
from tests.conftest import LiveServer
from tests.fake_upstream import FakeUpstream, Fault
from tests.fake_upstream_openai import vector
from tests.routing.conftest import assert_envelope, last_record

pytestmark = pytest.mark.usefixtures("providers", "embedding_models")


@pytest.fixture
def embedding_models(providers: dict[str, Provider]) -> None:
    """Two OpenAI embedding models on the fake (1536 and 3072 dimensions) and a 1536 one."""
    for model_id, dims in [
        ("text-embedding-3-small", 1536),
        ("text-embedding-3-large", 3072),
        ("text-embedding-ada-002", 1536),
    ]:
        Model.objects.create(
            provider=providers["openai"],
            model_id=model_id,
            kind=Model.Kind.EMBEDDING,
            dimensions=dims,
            prices_ref=f"openai:{model_id}",
            price_known=True,
            input_price=0.02,
        )


def test_string_input_float(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """A string comes back as one float vector, the upstream's own, with usage and a cost."""
    raw = client.embeddings.with_raw_response.create(
        model="fakeai/text-embedding-3-small", input="hello world", encoding_format="float"
    )
    result = raw.parse()
    assert result.model == "fakeai/text-embedding-3-small"
    assert len(result.data) == 1
    assert result.data[0].embedding == pytest.approx(vector("hello world", 1536))
    assert result.usage.prompt_tokens == 3
    assert fake.requests[-1].path == "/openai/v1/embeddings"
    assert fake.requests[-1].body["model"] == "text-embedding-3-small"
    assert float(raw.headers["x-switchyard-cost-usd"]) == pytest.approx(3 * 0.02 / 1e6)
    record = last_record(raw.headers["x-request-id"])
    assert record.protocol == "embeddings"
    assert record.model == "fakeai/text-embedding-3-small"
    assert record.input_tokens == 3 and record.output_tokens == 0
    assert record.cost_usd is not None and record.cost_usd > 0


def test_list_and_base64_and_dimensions(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """A list of strings with base64 and dimensions: each vector decodes to the right one."""
    raw = client.embeddings.with_raw_response.create(
        model="fakeai/text-embedding-3-small",
        input=["one", "two"],
        encoding_format="base64",
        dimensions=8,
    )
    raw_json = raw.http_response.json()
    assert [item["index"] for item in raw_json["data"]] == [0, 1]
    decoded = struct.unpack("<8f", base64.b64decode(raw_json["data"][1]["embedding"]))
    assert decoded == pytest.approx(vector("two", 8), rel=1e-6)
    assert fake.requests[-1].body["dimensions"] == 8
    assert fake.requests[-1].body["encoding_format"] == "base64"


def test_sdk_default_base64_decodes(client: openai.OpenAI) -> None:
    """The SDK asks for base64 by default and decodes it into floats."""
    result = client.embeddings.create(model="fakeai/text-embedding-3-small", input="abc")
    assert result.data[0].embedding == pytest.approx(vector("abc", 1536), rel=1e-6)


def test_token_arrays(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """Token arrays (one, and a list of them) pass through and are counted as tokens."""
    client.embeddings.create(model="fakeai/text-embedding-3-small", input=[1, 2, 3])
    assert fake.requests[-1].body["input"] == [1, 2, 3]
    client.embeddings.create(model="fakeai/text-embedding-3-small", input=[[1, 2], [3]])
    assert fake.requests[-1].body["input"] == [[1, 2], [3]]


def test_async_sdk(live_app: LiveServer, api_key: str) -> None:
    """The async SDK gets the same vectors."""

    async def go() -> list[float]:
        async with openai.AsyncOpenAI(
            base_url=f"{live_app.url}/v1", api_key=api_key, max_retries=0
        ) as aclient:
            result = await aclient.embeddings.create(
                model="fakeai/text-embedding-3-small", input="async", encoding_format="float"
            )
            return result.data[0].embedding

    assert asyncio.run(go()) == pytest.approx(vector("async", 1536))


def test_identical_input_is_a_cache_hit(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """The second identical request is answered from the cache at $0, recorded as a hit."""
    args = {"model": "fakeai/text-embedding-3-small", "input": "cache me"}
    first = client.embeddings.with_raw_response.create(**args)
    second = client.embeddings.with_raw_response.create(**args)
    assert first.headers["x-switchyard-cache"] == "miss"
    assert second.headers["x-switchyard-cache"] == "hit"
    assert second.parse().data[0].embedding == first.parse().data[0].embedding
    assert len([r for r in fake.requests if r.path.endswith("/embeddings")]) == 1
    record = last_record(second.headers["x-request-id"])
    assert record.cache_hit and record.cost_usd == 0 and record.saved_usd > 0
    other = client.embeddings.with_raw_response.create(**{**args, "input": "other"})
    assert other.headers["x-switchyard-cache"] == "miss"


def test_models_list_has_embedding_models(client: openai.OpenAI) -> None:
    """/v1/models lists embedding models with their kind and dimension."""
    models = {m.id: m.model_dump() for m in client.models.list().data}
    small = models["fakeai/text-embedding-3-small"]
    assert small["kind"] == "embedding" and small["dimensions"] == 1536
    assert models["fakeai/gpt-4o"]["kind"] == "chat"


def test_chat_model_refused(http: httpx.Client) -> None:
    """A chat model on /v1/embeddings is refused with the field named."""
    response = http.post("/v1/embeddings", json={"model": "fakeai/gpt-4o", "input": "x"})
    error = assert_envelope(response, 400, "model_not_supported")
    assert error["param"] == "model"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "x"}, "model"),
        ({"model": "fakeai/text-embedding-3-small"}, "input"),
        ({"model": "fakeai/text-embedding-3-small", "input": ""}, "input"),
        ({"model": "fakeai/text-embedding-3-small", "input": []}, "input"),
        ({"model": "fakeai/text-embedding-3-small", "input": [""]}, "input"),
        ({"model": "fakeai/text-embedding-3-small", "input": {"a": 1}}, "input"),
        ({"model": "fakeai/text-embedding-3-small", "input": [1.5]}, "input"),
        (
            {"model": "fakeai/text-embedding-3-small", "input": "x", "encoding_format": "hex"},
            "encoding_format",
        ),
        ({"model": "fakeai/text-embedding-3-small", "input": "x", "dimensions": 0}, "dimensions"),
        (
            {"model": "fakeai/text-embedding-3-small", "input": "x", "dimensions": 4000},
            "dimensions",
        ),
    ],
)
def test_bad_input_names_the_field(http: httpx.Client, body: dict, param: str) -> None:
    """Bad input gets OpenAI's envelope with the field named."""
    error = assert_envelope(http.post("/v1/embeddings", json=body), 400)
    assert error["param"] == param, error


def test_not_json_and_unknown_model(http: httpx.Client) -> None:
    """A body that is not JSON is a 400; an unknown model a 404 model_not_found."""
    assert_envelope(http.post("/v1/embeddings", content=b"{nope"), 400)
    response = http.post("/v1/embeddings", json={"model": "fakeai/nope", "input": "x"})
    assert_envelope(response, 404, "model_not_found")


def test_route_falls_back_between_same_dimension_models(
    client: openai.OpenAI, fake: FakeUpstream
) -> None:
    """A fallback route of two 1536-dimension models moves on when the first fails."""
    route = Route.objects.create(slug="emb", strategy="fallback")
    RouteTarget.objects.create(route=route, position=0, model="fakeai/text-embedding-3-small")
    RouteTarget.objects.create(route=route, position=1, model="fakeai/text-embedding-ada-002")
    fake.add_fault("text-embedding-3-small", Fault.status_code(503))
    raw = client.embeddings.with_raw_response.create(model="route/emb", input="fall")
    assert raw.headers["x-switchyard-model"] == "fakeai/text-embedding-ada-002"
    record = last_record(raw.headers["x-request-id"])
    assert [a["outcome"] for a in record.attempts] == ["server", "ok"]


def test_route_validation_needs_one_dimension(providers: dict[str, Provider]) -> None:
    """Route validation refuses embedding models of different dimensions and mixed kinds."""
    index = CatalogIndex.load()
    mixed_dims = {
        "slug": "e",
        "strategy": "fallback",
        "targets": [
            {"model": "fakeai/text-embedding-3-small"},
            {"model": "fakeai/text-embedding-3-large"},
        ],
    }
    problems = route_problems(mixed_dims, index)
    assert any("share one dimension" in p and "3072" in p for p in problems), problems
    mixed_kind = {
        **mixed_dims,
        "targets": [{"model": "fakeai/text-embedding-3-small"}],
        "fallbacks": ["fakeai/gpt-4o"],
    }
    assert any("mixes embedding models" in p for p in route_problems(mixed_kind, index))
    same = {
        **mixed_dims,
        "targets": [
            {"model": "fakeai/text-embedding-3-small"},
            {"model": "fakeai/text-embedding-ada-002"},
        ],
    }
    assert route_problems(same, index) == []


def test_simulator_embedding_model_works_with_no_keys(live_app: LiveServer, api_key: str) -> None:
    """A fresh catalog's sim/embed gives deterministic unit vectors, priced and recorded."""
    sync_catalog()
    client = openai.OpenAI(base_url=f"{live_app.url}/v1", api_key=api_key, max_retries=0)
    first = client.embeddings.create(model="sim/embed", input=["a", "b"], encoding_format="float")
    again = client.embeddings.create(
        model="sim/embed",
        input=["a"],
        extra_headers={"cache-control": "no-cache"},
        encoding_format="float",
    )
    assert len(first.data[0].embedding) == 256
    assert first.data[0].embedding == again.data[0].embedding
    assert first.data[0].embedding != first.data[1].embedding
    assert sum(v * v for v in first.data[0].embedding) == pytest.approx(1.0, rel=1e-3)
    short = client.embeddings.create(model="sim/embed", input="a", dimensions=32)
    assert len(short.data[0].embedding) == 32
    models = {m.id for m in client.models.list().data}
    assert "sim/embed" in models
    sim = Model.objects.get(provider__slug="sim", model_id="embed")
    assert sim.price_known and sim.kind == "embedding" and sim.dimensions == 256


def test_rate_limit_and_budget_hold_for_embeddings(live_app: LiveServer) -> None:
    """A key's requests per minute and its monthly budget hold on /v1/embeddings too."""
    from routing.models import ApiKey

    _, raw = ApiKey.issue("emb-limited", rpm=1)
    limited = openai.OpenAI(base_url=f"{live_app.url}/v1", api_key=raw, max_retries=0)
    limited.embeddings.create(model="fakeai/text-embedding-3-small", input="one")
    with pytest.raises(openai.RateLimitError):
        limited.embeddings.create(model="fakeai/text-embedding-3-small", input="two")
    _, raw = ApiKey.issue("emb-broke", budget_usd=0)
    broke = openai.OpenAI(base_url=f"{live_app.url}/v1", api_key=raw, max_retries=0)
    with pytest.raises(openai.RateLimitError) as caught:
        broke.embeddings.create(model="fakeai/text-embedding-3-small", input="three")
    assert caught.value.code == "budget_exceeded"
