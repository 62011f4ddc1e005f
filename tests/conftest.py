"""Shared fixtures: the fake upstream, the app served by uvicorn, a key, the real OpenAI SDK."""

from __future__ import annotations

import asyncio
import csv
import random
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest
import uvicorn
from django.conf import settings

from bench.fast_upstream import Canned, serve_protocol
from routerlab.data import DataMissing, is_gsm8k_test
from routing import catalog
from routing.guards import state
from routing.models import ApiKey, Model, Provider
from routing.transport import records
from tests.fake_upstream import FakeUpstream

FAKE_SECRET = "sk-fake-provider-secret-0123456789"


@dataclass
class LiveServer:
    url: str
    server: uvicorn.Server
    thread: threading.Thread


def _serve() -> LiveServer:
    from config.asgi import application

    config = uvicorn.Config(
        application, host="127.0.0.1", port=0, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return LiveServer(f"http://127.0.0.1:{port}", server, thread)


@pytest.fixture(scope="session")
def live_app() -> Iterator[LiveServer]:
    """The ASGI app served by uvicorn in a thread (pytest-django's live_server is WSGI)."""
    live = _serve()
    settings.SWITCHYARD_SELF_URL = live.url
    settings.SWITCHYARD_SIM_TOKENS_PER_SECOND = 400.0
    settings.SWITCHYARD_SIM_FIRST_TOKEN_SECONDS = 0.02
    settings.SWITCHYARD_USAGE_FLUSH_SECONDS = 0.02
    yield live
    live.server.should_exit = True
    live.thread.join(5)


@pytest.fixture(scope="session", autouse=True)
def _no_sessions_left_at_the_end(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Threads of the live server and the writers keep their own database connections; on
    PostgreSQL they would stop the test database from being dropped at the end of the run.
    Torn down before `django_db_setup`: end those sessions first."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(scope="module")
def fast_upstream_port() -> Iterator[int]:
    """The benchmark's fast upstream (bench/fast_upstream.py) on its own event loop in a
    thread, on a free port."""
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(serve_protocol("127.0.0.1", 0, Canned(5)))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield server.sockets[0].getsockname()[1]
    loop.call_soon_threadsafe(server.close)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


@pytest.fixture(scope="session")
def fake_upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture
def fake(fake_upstream: FakeUpstream) -> Iterator[FakeUpstream]:
    """The fake upstream with no faults, replies or recorded requests left from other tests."""
    fake_upstream.reset()
    yield fake_upstream
    fake_upstream.reset()


@pytest.fixture(autouse=True)
def _fresh_state() -> Iterator[None]:
    """Each test starts with empty shared state (local memory, or a flushed Redis database)
    and reloads the catalog snapshot."""
    state._state = None
    if settings.REDIS_URL:
        import redis

        redis.Redis.from_url(settings.REDIS_URL).flushdb()
    catalog.invalidate_local()
    yield
    records.writer.flush(10)
    catalog.invalidate_local()
    state._state = None


@pytest.fixture
def gateway_db(transactional_db: None) -> Iterator[None]:
    """A database the server thread can see; usage records are flushed before it closes."""
    yield
    records.writer.flush(10)


@pytest.fixture
def providers(gateway_db: None, fake: FakeUpstream) -> dict[str, Provider]:
    """Two providers on the fake upstream, one per wire protocol, priced from genai-prices."""
    openai_p = Provider.objects.create(
        slug="fakeai",
        name="FakeAI",
        protocol="openai",
        base_url=fake.openai_base_url,
        api_key=FAKE_SECRET,
        region="us",
    )
    anthropic_p = Provider.objects.create(
        slug="fakeanthropic",
        name="FakeAnthropic",
        protocol="anthropic",
        base_url=fake.anthropic_base_url,
        api_key=FAKE_SECRET,
        region="eu",
    )
    for provider, model_id, ref in [
        (openai_p, "gpt-4o", "openai:gpt-4o"),
        (openai_p, "gpt-4o-mini", "openai:gpt-4o-mini"),
        (openai_p, "deepseek-chat", "deepseek:deepseek-chat"),
        (openai_p, "unpriced-model", ""),
        (anthropic_p, "claude-3-5-sonnet-20241022", "anthropic:claude-3-5-sonnet-20241022"),
    ]:
        Model.objects.create(
            provider=provider,
            model_id=model_id,
            prices_ref=ref,
            price_known=bool(ref),
            input_price=2.5 if ref else None,
            output_price=10 if ref else None,
        )
    return {"openai": openai_p, "anthropic": anthropic_p}


@pytest.fixture
def api_key(gateway_db: None) -> str:
    _, raw = ApiKey.issue("test")
    return raw


@pytest.fixture
def client(live_app: LiveServer, api_key: str) -> openai.OpenAI:
    """The real OpenAI SDK pointed at Switchyard."""
    return openai.OpenAI(base_url=f"{live_app.url}/v1", api_key=api_key, max_retries=0, timeout=30)


@pytest.fixture
def fast_timeouts(settings: object) -> None:
    """Short deadlines so hang faults resolve quickly."""
    settings.SWITCHYARD_FIRST_TOKEN_TIMEOUT = 1.0  # type: ignore[attr-defined]
    settings.SWITCHYARD_STALL_TIMEOUT = 1.0  # type: ignore[attr-defined]
    settings.SWITCHYARD_REQUEST_TIMEOUT = 1.0  # type: ignore[attr-defined]
    settings.SWITCHYARD_MAX_RETRY_AFTER = 2.0  # type: ignore[attr-defined]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A test that needs ../shared/data and cannot find it fails with one line saying what is
    missing, not a traceback (it still fails: the data is there in CI)."""
    outcome = yield
    if call.excinfo is not None and call.excinfo.errisinstance(DataMissing):
        outcome.get_result().longrepr = str(call.excinfo.value)  # type: ignore[attr-defined]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright leaves an event loop running behind it."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    """A small labelled data folder in the RouteLLM layout (synthetic prompts), for the router's
    training and evaluation commands."""
    rng = random.Random(0)
    with open(tmp_path / "mmlu_dev.csv", "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["domain", "prompt", "weak_correct", "strong_correct"])
        for d in range(4):
            for i in range(30):
                prompt = f"Subject {d} question {i} " + "word " * rng.randrange(3, 40)
                prompt += "?\nA. one\nB. two\nC. 3\nD. four\nAnswer:"
                out.writerow([f"subject_{d}", prompt, rng.random() < 0.6, rng.random() < 0.8])
    with open(tmp_path / "gsm8k_responses.csv", "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["prompt", "weak_correct", "strong_correct"])
        i = tests = 0
        while tests < 20 or i < 120:
            prompt = f"Tom has {i} apples and buys {rng.randrange(2, 90)} more each day. How many?"
            tests += is_gsm8k_test(prompt)
            out.writerow([prompt, rng.random() < 0.6, rng.random() < 0.85])
            i += 1
    return tmp_path
