"""Streams carry their cost in-band: the final usage chunk has `cost` (as OpenRouter's do)."""

from __future__ import annotations

from decimal import Decimal

import openai
import pytest

from routing.transport import records
from usage.models import UsageRecord

pytestmark = pytest.mark.usefixtures("providers")


def test_usage_chunk_carries_the_recorded_cost(client: openai.OpenAI) -> None:
    """The SDK reads usage.cost from the last chunk; it is the usage record's cost."""
    chunks = list(
        client.chat.completions.create(
            model="fakeai/gpt-4o",
            messages=[{"role": "user", "content": "price me"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    usage = chunks[-1].usage
    assert usage is not None and usage.completion_tokens > 0
    cost = (usage.model_extra or {})["cost"]
    assert isinstance(cost, float) and cost > 0
    records.writer.flush(10)
    record = UsageRecord.objects.get()
    assert Decimal(str(cost)).quantize(Decimal("1e-8")) == record.cost_usd.quantize(Decimal("1e-8"))


def test_no_usage_chunk_without_include_usage(client: openai.OpenAI) -> None:
    """Without stream_options.include_usage no chunk has usage (OpenAI's contract)."""
    chunks = list(
        client.chat.completions.create(
            model="fakeai/gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    )
    assert all(chunk.usage is None for chunk in chunks)
