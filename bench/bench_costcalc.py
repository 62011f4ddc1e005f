"""Server time of the cost calculator (issue #5): a 1,000,000-request/month projection across
all policies (baseline, rules, complexity, budget).

    python -m bench.bench_costcalc [--runs 50] [--write]

Rows:

- ``projection``: ``costcalc.projection.project`` alone on the live snapshot;
- ``view json``: the whole ``GET /costcalc/?format=json`` (form, catalog snapshot,
  projection, serialisation) through Django's handler, in process (no network);
- ``view html (htmx)``: the results partial an input change swaps in;
- each also with ``new tokens``: every run changes the token counts, so no price is cached
  (what typing into the form costs).

The first (cold) run scores the bundled sample prompts and fills the price cache; it is
reported separately. A throwaway SQLite database is migrated and synced from genai-prices
first (a few seconds). Target: p99 < 200 ms. ``--write`` updates docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import io
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from urllib.parse import urlencode

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
_DB = os.path.join(tempfile.mkdtemp(prefix="bench-costcalc-"), "db.sqlite3")
os.environ["DATABASE_URL"] = f"sqlite:///{_DB}"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from bench import markdown_table, summarize, text_table, write_section  # noqa: E402
from costcalc.forms import defaults  # noqa: E402
from costcalc.projection import Env, project  # noqa: E402
from costcalc.prompts import bundled  # noqa: E402
from costcalc.workload import DEFAULT_WORKLOAD, QueryType  # noqa: E402
from routing import catalog  # noqa: E402

TARGET_MS = 200.0


def setup_db() -> None:
    call_command("migrate", verbosity=0)
    call_command("sync_catalog", stdout=io.StringIO())
    call_command("install_default_routes", stdout=io.StringIO())
    settings.ALLOWED_HOSTS = ["*"]


def timed(fn: Callable[[int], object], runs: int) -> tuple[float, list[float]]:
    """(cold ms, warm ms per run); gc is paused while timing."""
    times = []
    gc.disable()
    try:
        for i in range(runs + 1):
            start = time.perf_counter()
            fn(i)
            times.append((time.perf_counter() - start) * 1000)
    finally:
        gc.enable()
    return times[0], times[1:]


def workload_for(i: int, new_tokens: bool):  # type: ignore[no-untyped-def]
    if not new_tokens:
        return DEFAULT_WORKLOAD
    types = tuple(
        QueryType(t.name, t.share, t.input_tokens + i + 1, t.output_tokens + i + 1)
        for t in DEFAULT_WORKLOAD.types
    )
    return DEFAULT_WORKLOAD.__class__(requests=1_000_000, types=types)


def query_for(i: int, new_tokens: bool, fmt: str | None) -> str:
    data = defaults()
    if new_tokens:
        for k in range(len(DEFAULT_WORKLOAD.types)):
            data[f"t-{k}-input_tokens"] = str(int(data[f"t-{k}-input_tokens"]) + 10_000 + i)
    if fmt:
        data["format"] = fmt
    return "/costcalc/?" + urlencode(data)


def scenarios(client: Client) -> dict[str, Callable[[int], object]]:
    snapshot = catalog.current_sync()
    today = dt.datetime.now(dt.UTC).date()

    def projection(new: bool) -> Callable[[int], object]:
        return lambda i: project(workload_for(i, new), Env(snapshot, bundled(), today))

    def view(new: bool, fmt: str | None, **headers: str) -> Callable[[int], object]:
        def run(i: int) -> object:
            response = client.get(query_for(i, new, fmt), headers=headers)
            assert response.status_code == 200, response.content[:300]
            return response

        return run

    return {
        "projection": projection(False),
        "projection, new tokens": projection(True),
        "view json": view(False, "json"),
        "view json, new tokens": view(True, "json"),
        "view html (htmx)": view(False, None, **{"HX-Request": "true"}),
        "view html (htmx), new tokens": view(True, None, **{"HX-Request": "true"}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    setup_db()
    client = Client()
    rows = []
    for name, fn in scenarios(client).items():
        cold, warm = timed(fn, args.runs)
        s = summarize(warm)
        ok = "yes" if s["p99"] < TARGET_MS else "NO"
        rows.append([name, f"{cold:.1f}", f"{s['p50']:.1f}", f"{s['p99']:.1f}", ok])
    headers = [
        "scenario (1,000,000 req/month, 4 policies)",
        "cold ms",
        "p50 ms",
        "p99 ms",
        "< 200 ms",
    ]
    print(text_table(headers, rows))
    if args.write:
        body = "## Cost calculator projection (issue #5)\n\n" + markdown_table(headers, rows)
        write_section("costcalc", body)
    shutil.rmtree(os.path.dirname(_DB), ignore_errors=True)


if __name__ == "__main__":
    main()
