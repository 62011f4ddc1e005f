"""A hung provider on a fallback route, with the default settings: the fallback answers within
seconds, stream and non-stream; a slow but live model is never cut off.

Non-streaming attempts that have a fallback are requested upstream as streams, so the
first-token deadline (routing/engine/deadlines.py) applies to them too.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import openai
import pytest

from routing.engine import latency
from tests.fake_upstream import FakeUpstream, Fault
from tests.routing.engine.test_routes_e2e import BACKUP, PRIMARY, make_route

pytestmark = pytest.mark.usefixtures("providers")
HUNG = {
    "before headers": Fault.hang_before_headers(120),
    "after headers": Fault.hang_after_headers(120),
}


def answer(client: openai.OpenAI, model: str, stream: bool) -> tuple[str, str, str | None]:
    """(text, answering model, finish reason) of one request through the real SDK."""
    messages = [{"role": "user", "content": "Hello"}]
    if not stream:
        result = client.chat.completions.create(model=model, messages=messages)  # type: ignore[arg-type]
        choice = result.choices[0]
        return choice.message.content or "", result.model, choice.finish_reason
    text, answered, finish = "", "", None
    for chunk in client.chat.completions.create(model=model, messages=messages, stream=True):  # type: ignore[arg-type]
        answered = chunk.model or answered
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
    return text, answered, finish


@pytest.fixture(autouse=True)
def _no_measurements() -> None:
    latency.reset()  # the default deadline of an unmeasured model


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
@pytest.mark.parametrize("hang", list(HUNG))
def test_a_hung_primary_costs_seconds(
    client: openai.OpenAI, fake: FakeUpstream, stream: bool, hang: str
) -> None:
    """[hung -> healthy]: the healthy model answers within 5 s, with the default settings."""
    make_route("chain", "fallback", {"model": PRIMARY}, {"model": BACKUP})
    fake.add_fault("gpt-4o", HUNG[hang])
    fake.set_reply("gpt-4o-mini", "From the backup.")
    started = time.monotonic()
    text, model, finish = answer(client, "route/chain", stream)
    elapsed = time.monotonic() - started
    print(f"{hang}, stream={stream}: fallback answered after {elapsed:.2f} s")
    assert (text, model, finish) == ("From the backup.", BACKUP, "stop")
    assert elapsed < 5


def test_the_route_can_set_its_own_deadline(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """first_token_timeout_seconds on the route: the hung primary is left after it."""
    make_route(
        "patient", "fallback", {"model": PRIMARY}, {"model": BACKUP}, first_token_timeout_seconds=1
    )
    fake.add_fault("gpt-4o", Fault.hang_before_headers(120))
    started = time.monotonic()
    assert answer(client, "route/patient", False)[1] == BACKUP
    assert time.monotonic() - started < 2.5


def test_a_slow_but_live_primary_is_never_cut_off(
    client: openai.OpenAI, fake: FakeUpstream
) -> None:
    """One token a second for 60 s, stream and non-stream at once: both answers are whole
    and come from the primary, not the fallback."""
    make_route("chain", "fallback", {"model": PRIMARY}, {"model": BACKUP})
    words = [f"w{i}" for i in range(60)]
    fake.set_reply("gpt-4o", " ".join(words))
    fake.set_chunk_delay("gpt-4o", 1.0)
    results: dict[bool, Any] = {}

    def run(stream: bool) -> None:
        results[stream] = answer(client.with_options(timeout=120), "route/chain", stream)

    threads = [threading.Thread(target=run, args=(stream,)) for stream in (False, True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for stream in (False, True):
        text, model, finish = results[stream]
        assert (text.split(), model, finish) == (words, PRIMARY, "stop"), stream
