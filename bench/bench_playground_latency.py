"""Playground latency: upstream first token -> text visible in the page (not a test).

    .venv/bin/python -m bench.bench_playground_latency [--runs 20] [--panes 3]

Everything runs on this machine: the fake upstream (`tests/fake_upstream.py`, real HTTP) in
its own process, the app under uvicorn on a throwaway SQLite database, and Debian's chromium
driven by Playwright. Timestamps compare across processes: time.monotonic() is the system's
CLOCK_MONOTONIC, converted to the wall clock the browser's performance.timeOrigin uses. Each run presses Run on a comparison of `--panes`
models. For each pane the delay is

    (first text node in the pane, MutationObserver, performance.timeOrigin + now())
  - (first body byte the fake upstream sent for that model, time.monotonic() -> wall clock)

The fake sends its first content chunk right after the first byte (chunk delay 0), so the
delay is what Switchyard adds: dispatch, the SSE multiplexer, Django/uvicorn, the browser's
stream reader and the htmx swap. Target: p95 under 50 ms.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import threading
import time
from multiprocessing import Pipe, Process
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import percentile, text_table  # noqa: E402

MODELS = ["gpt-4o", "gpt-4o-mini", "deepseek-chat", "qwen3-32b", "deepseek-reasoner"]
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip
OBSERVE = """() => {
  window.__first = {};
  const panes = document.getElementById('panes');
  panes.replaceChildren();
  new MutationObserver(() => {
    const now = performance.timeOrigin + performance.now();
    for (const out of panes.querySelectorAll('[data-testid="pane-output"]')) {
      const pane = out.closest('[data-testid="pane"]');
      if (out.textContent.length && !(pane.id in window.__first)) window.__first[pane.id] = now;
    }
  }).observe(panes, {childList: true, subtree: true, characterData: true});
}"""


def setup_django(var: Path, upstream: str) -> None:
    os.environ["SWITCHYARD_VAR_DIR"] = str(var)
    os.environ["DATABASE_URL"] = f"sqlite:///{var / 'db.sqlite3'}"
    os.environ["PLAYGROUND_REQUIRE_LOGIN"] = "false"
    os.environ["PLAYGROUND_DAILY_SPEND_CAP_USD"] = "1000000"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.pop("REDIS_URL", None)
    import django
    from django.core.management import call_command

    django.setup()
    logging.getLogger("switchyard.requests").setLevel(logging.WARNING)
    call_command("migrate", verbosity=0)
    from routing.models import Model, Provider

    provider = Provider.objects.create(
        slug="fakeai", name="FakeAI", protocol="openai", base_url=upstream, api_key="sk-bench"
    )
    for model in MODELS:
        Model.objects.create(
            provider=provider, model_id=model, prices_ref="openai:gpt-4o", price_known=True,
            input_price=2.5, output_price=10,
        )  # fmt: skip


def serve_app() -> str:
    import uvicorn

    from config.asgi import application

    config = uvicorn.Config(
        application, host="127.0.0.1", port=0, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, name="bench-uvicorn", daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"


def fake_process(conn: Connection) -> None:
    """The fake upstream in a process of its own, answering commands on a pipe."""
    from tests.fake_upstream import FakeUpstream

    with FakeUpstream() as fake:
        conn.send(fake.openai_base_url)
        while (command := conn.recv()) != "stop":
            if command == "reset":
                fake.reset()
                fake.set_reply("*", "First token then a few more words for the pane.")
                conn.send(None)
            else:
                conn.send({r.model: r.first_byte for r in fake.requests})


class Fake:
    """Commands to the fake upstream process."""

    def __init__(self) -> None:
        self.conn, child = Pipe()
        self.process = Process(target=fake_process, args=(child,), daemon=True)
        self.process.start()
        self.openai_base_url: str = self.conn.recv()

    def reset(self) -> None:
        self.conn.send("reset")
        self.conn.recv()

    def first_bytes(self) -> dict[str, float]:
        self.conn.send("first_bytes")
        return self.conn.recv()

    def stop(self) -> None:
        self.conn.send("stop")
        self.process.join(10)


DONE = """() => {{ const s = [...document.querySelectorAll('[data-testid="pane-status"]')];
    return s.length === {count} && s.every(e => e.dataset.status === 'done'); }}"""


def one_run(page: Any, fake: Fake, models: list[str]) -> list[float]:
    """Delays (ms) between each model's first upstream byte and its first text in the page."""
    fake.reset()
    page.evaluate(OBSERVE)
    page.get_by_test_id("run").click()
    page.wait_for_function(DONE.format(count=len(models)))
    seen = page.evaluate("() => window.__first")
    offset = time.time() - time.monotonic()
    sent = fake.first_bytes()
    delays = []
    for index, model in enumerate(models):
        first_byte = sent[model.removeprefix("fakeai/")]
        delays.append(seen[f"pane-{index}"] - (first_byte + offset) * 1000)
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--panes", type=int, default=3, choices=range(1, len(MODELS) + 1))
    args = parser.parse_args()

    fake = Fake()
    with tempfile.TemporaryDirectory() as tmp:
        setup_django(Path(tmp), fake.openai_base_url)
        url = serve_app()
        from playwright.sync_api import sync_playwright

        models = [f"fakeai/{m}" for m in MODELS[: args.panes]]
        query = urlencode({"models": ",".join(models), "prompt": "Say something short."})
        delays: list[float] = []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"{url}/playground/?{query}")
            page.wait_for_function("() => window.htmx")
            one_run(page, fake, models)  # warm-up: connections, catalog, templates
            for _ in range(args.runs):
                delays += one_run(page, fake, models)
            browser.close()
    fake.stop()
    report(delays, args.runs, args.panes)


def report(delays: list[float], runs: int, panes: int) -> None:
    data = sorted(delays)
    row = [
        f"{runs} x {panes}",
        f"{percentile(data, 50):.1f}",
        f"{percentile(data, 95):.1f}",
        f"{data[-1]:.1f}",
        "yes" if percentile(data, 95) < 50 else "NO",
    ]
    headers = ["runs x panes", "p50 ms", "p95 ms", "max ms", "p95 < 50 ms"]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"Upstream first token -> visible in the playground page (load average {load})")
    print(text_table(headers, [row]))


if __name__ == "__main__":
    main()
