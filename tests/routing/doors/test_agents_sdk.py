"""The OpenAI Agents SDK runs one agent with one function tool through the Responses door,
natively to an upstream with the Responses API and through the chat translation."""

from __future__ import annotations

import asyncio

import openai
import pytest
from agents import Agent, Runner, function_tool, set_tracing_disabled
from agents.models.openai_responses import OpenAIResponsesModel

from routing.transport import records
from tests.conftest import LiveServer
from tests.fake_upstream import FakeUpstream
from tests.routing.doors.test_responses import NATIVE
from usage.models import UsageRecord

pytestmark = pytest.mark.usefixtures("providers", "native_provider")
calls: list[str] = []


@function_tool
def lookup(query: str) -> str:
    """Look something up."""
    calls.append(query)
    return "forty-two"


def test_agent_with_one_function_tool(
    live_app: LiveServer, api_key: str, fake: FakeUpstream
) -> None:
    """The agent calls the tool, sends its output back, and answers with it."""
    set_tracing_disabled(True)  # tracing would try to reach api.openai.com
    calls.clear()

    async def go() -> str:
        client = openai.AsyncOpenAI(base_url=f"{live_app.url}/v1", api_key=api_key, max_retries=0)
        model = OpenAIResponsesModel(model=NATIVE, openai_client=client)
        agent = Agent(name="helper", instructions="Use the tool.", tools=[lookup], model=model)
        result = await Runner.run(agent, "call: the answer")
        await client.close()
        return str(result.final_output)

    answer = asyncio.run(go())
    assert calls == ["call: the answer"]
    assert answer == "The tool said forty-two"
    turns = [r for r in fake.requests if r.path.endswith("/responses")]
    assert len(turns) == 2
    assert turns[1].body["input"][-1]["type"] == "function_call_output"
    records.writer.flush(10)
    assert UsageRecord.objects.filter(protocol="responses").count() == 2
