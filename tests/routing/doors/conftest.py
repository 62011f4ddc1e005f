"""Fixtures of the door tests."""

from __future__ import annotations

import pytest

from routing.models import Model, Provider
from tests.conftest import FAKE_SECRET
from tests.fake_upstream import FakeUpstream
from tests.routing.doors.anthropic_helpers import claude

__all__ = ["claude"]


@pytest.fixture
def native_provider(providers: dict[str, Provider], fake: FakeUpstream) -> Provider:
    """An OpenAI-compatible provider on the fake that serves /v1/responses and the legacy
    /v1/completions."""
    provider = Provider.objects.create(
        slug="fakeresp",
        name="FakeResponses",
        protocol="openai",
        base_url=fake.openai_base_url,
        api_key=FAKE_SECRET,
        serves_responses=True,
        serves_completions=True,
        region="us",
    )
    Model.objects.create(
        provider=provider,
        model_id="gpt-4o",
        prices_ref="openai:gpt-4o",
        price_known=True,
        input_price=2.5,
        output_price=10,
    )
    return provider
