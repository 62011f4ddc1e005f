"""Playground test helpers: an open playground, simulator models, and a browser-like client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from routing.models import Model, Provider
from tests.conftest import LiveServer

SIM_MODELS = [
    ("fast", "deepseek:deepseek-chat"),
    ("balanced", "openrouter:qwen/qwen3-32b"),
    ("smart", "openai:gpt-4o"),
]


@pytest.fixture
def open_playground(settings: object) -> None:
    """Local development: no login needed (tests run with DEBUG off, which requires one)."""
    settings.PLAYGROUND_REQUIRE_LOGIN = False  # type: ignore[attr-defined]


@pytest.fixture
def sim_models(gateway_db: None) -> list[str]:
    """The built-in simulator provider and its three models, as sync_catalog creates them."""
    sim = Provider.objects.create(
        slug="sim",
        name="Simulator (not a real model)",
        protocol="openai",
        requires_key=False,
        builtin=True,
        region="local",
    )
    for model_id, ref in SIM_MODELS:
        Model.objects.create(
            provider=sim,
            model_id=model_id,
            prices_ref=ref,
            price_known=True,
            input_price=0.27,
            output_price=1.1,
        )
    return [f"sim/{model_id}" for model_id, _ in SIM_MODELS]


@dataclass
class Page:
    """A cookie-keeping client that talks to the live app the way the browser page does."""

    http: httpx.Client

    def csrf(self) -> str:
        self.http.get("/playground/")
        return self.http.cookies["csrftoken"]

    def run(self, data: dict[str, str | list[str]], csrf: bool = True) -> httpx.Response:
        headers = {"HX-Request": "true", "Accept": "text/html, text/event-stream"}
        if csrf:
            headers["X-CSRFToken"] = self.csrf()
        response = self.http.post("/playground/run/", data=data, headers=headers)
        return response


@pytest.fixture
def page(live_app: LiveServer, open_playground: None) -> Iterator[Page]:
    with httpx.Client(base_url=live_app.url, timeout=30) as http:
        yield Page(http)


def sse_messages(body: str) -> list[str]:
    """The data of each SSE message, lines re-joined as the hx-sse parser does."""
    messages = []
    for block in body.split("\n\n"):
        lines = [line[6:] if line.startswith("data: ") else line[5:] for line in block.split("\n")]
        if block.strip():
            messages.append("\n".join(lines))
    return messages


def partials(body: str, target: str) -> list[str]:
    """Inner HTML of every <hx-partial> aimed at `target`, in order."""
    text = "\n".join(sse_messages(body))
    pattern = rf'<hx-partial hx-target="{re.escape(target)}" hx-swap="[^"]+">(.*?)</hx-partial>'
    return re.findall(pattern, text, flags=re.S)
