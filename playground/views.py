"""Playground views: the page, the run stream, the model picker, and reopening past runs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db import OperationalError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.access import is_staff
from playground import forms, picker
from playground import render as html
from playground.models import Run, recent, spent_today
from playground.stream import Pane, run_stream, total_cost
from routing import catalog

SAVE_ATTEMPTS = 5


@dataclass(frozen=True)
class Viewer:
    """Who is looking: anonymous use is allowed only when login is not required; a user sees
    their own runs, staff see everyone's."""

    allowed: bool
    user_id: int | None = None
    staff: bool = False


async def _viewer(request: HttpRequest) -> Viewer:
    user = await request.auser()
    if user.is_authenticated:
        return Viewer(True, user.pk, is_staff(user))
    return Viewer(not settings.PLAYGROUND_REQUIRE_LOGIN)


def _recent(viewer: Viewer) -> list[Run]:
    return recent(viewer.user_id, everyone=viewer.staff)


@require_GET
async def index(request: HttpRequest) -> HttpResponse:
    viewer = await _viewer(request)
    if not viewer.allowed:
        return redirect_to_login(request.get_full_path())
    snapshot = await catalog.current()
    form = forms.from_query(request.GET)
    if not request.GET.get("models"):
        form.panes = picker.default_panes(snapshot)
    return await _page(request, snapshot, form, viewer, run=None)


@require_GET
async def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A past run, shown from what was stored: no model is called."""
    viewer = await _viewer(request)
    if not viewer.allowed:
        return redirect_to_login(request.get_full_path())
    runs = Run.objects.select_related("user").filter(pk=pk)
    if not viewer.staff:
        runs = runs.filter(user_id=viewer.user_id)  # type: ignore[misc]  # django-stubs#3472: None on a nullable FK's _id means IS NULL
    run = await runs.afirst()
    if run is None:
        raise Http404("No such run.")
    snapshot = await catalog.current()
    panes = [
        forms.PaneInput(p["model"], **{k: str(v) for k, v in p.get("params", {}).items()})
        for p in run.panes
    ]
    form = forms.FormInput(run.prompt, run.system, panes)
    return await _page(request, snapshot, form, viewer, run=run)


async def _page(
    request: HttpRequest, snapshot: Any, form: forms.FormInput, viewer: Viewer, run: Run | None
) -> HttpResponse:
    rows = [(pane, picker.option_for(pane.model, snapshot)) for pane in form.panes]
    context = {
        "form": form,
        "rows": rows,
        "max_panes": forms.MAX_PANES,
        "recent_runs": await sync_to_async(_recent)(viewer),
        "everyone": viewer.staff,
        "run": run,
        "stored_panes": [html.pane_view(i, p) for i, p in enumerate(run.panes)] if run else [],
        "simulated_only": not picker.has_real_provider(snapshot),
    }
    return render(request, "playground/index.html", context)


@require_GET
async def model_search(request: HttpRequest) -> HttpResponse:
    """htmx: the picker's result list for the typed query."""
    if not (await _viewer(request)).allowed:
        return redirect_to_login(request.get_full_path())
    snapshot = await catalog.current()
    options = picker.search(snapshot, request.GET.get("q", ""))
    return render(request, "playground/_model_results.html", {"options": options})


@require_GET
async def pane_row(request: HttpRequest) -> HttpResponse:
    """htmx: one picked-model row (its parameters and input-cost estimate)."""
    if not (await _viewer(request)).allowed:
        return redirect_to_login(request.get_full_path())
    snapshot = await catalog.current()
    pane = forms.PaneInput(request.GET.get("model", "").strip())
    row = (pane, picker.option_for(pane.model, snapshot))
    return render(request, "playground/_pane_row.html", {"row": row})


@require_POST
async def run(request: HttpRequest) -> HttpResponseBase:
    """htmx: validate, then answer with one SSE stream that fills every pane."""
    viewer = await _viewer(request)
    if not viewer.allowed:
        return HttpResponseClientRedirect(f"{settings.LOGIN_URL}?next=/playground/")
    snapshot = await catalog.current()
    form = forms.from_post(request.POST)
    checked = forms.check(form, snapshot)
    if not checked.errors:
        checked.errors = await _spend_cap_error(viewer.user_id)
    if checked.errors:
        return _errors(request, checked.errors)
    on_finish = _saver(request, form, viewer)
    response = StreamingHttpResponse(
        run_stream(checked.panes, snapshot, on_finish),
        content_type="text/event-stream; charset=utf-8",
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


async def _spend_cap_error(user_id: int | None) -> dict[str, str]:
    cap = Decimal(str(settings.PLAYGROUND_DAILY_SPEND_CAP_USD))
    spent = await sync_to_async(spent_today)(user_id)
    if spent < cap:
        return {}
    message = (
        f"Daily playground spend cap reached: {html.usd(spent)} spent today of "
        f"{html.usd(cap)}. Runs start again tomorrow (UTC); simulated models cost nothing."
    )
    return {"form": message}


def _errors(request: HttpRequest, errors: dict[str, str]) -> HttpResponse:
    """A plain HTML answer (not SSE): htmx swaps its partials next to the fields."""
    targets = []
    for key, message in errors.items():
        if key.startswith("pane-"):
            row = int(key.removeprefix("pane-")) + 1
            targets.append((f"#picked > .pane-row:nth-child({row}) .row-error", message))
        elif key != "form":
            targets.append((f"#error-{key}", message))
    summary = errors.get("form") or "Nothing was sent: fix the fields marked below."
    context = {"targets": targets, "summary": summary}
    return render(request, "playground/_errors.html", context, status=422)


def _saver(request: HttpRequest, form: forms.FormInput, viewer: Viewer) -> Any:
    async def on_finish(panes: list[Pane], stopped: bool) -> str:
        run = await _save(
            user_id=viewer.user_id,
            prompt=form.prompt,
            system=form.system,
            model_ids=[pane.spec.model for pane in panes],
            panes=[pane.saved() for pane in panes],
            status=Run.Status.STOPPED if stopped else Run.Status.DONE,
            total_cost_usd=total_cost(panes),
            spend_usd=_spend(panes),
        )
        runs = await sync_to_async(_recent)(viewer)
        context = {
            "recent_runs": runs,
            "everyone": viewer.staff,
            "run": run,
            "permalink": form.permalink_query(),
        }
        return render_to_string("playground/_stream_saved.html", context, request=request)

    return on_finish


async def _save(**fields: Any) -> Run:
    """Store a run; SQLite may report a briefly locked table under concurrent writers."""
    for attempt in range(SAVE_ATTEMPTS):
        try:
            return await Run.objects.acreate(**fields)
        except OperationalError:
            if attempt == SAVE_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _spend(panes: list[Pane]) -> Decimal:
    costs = [pane.metrics()["cost_usd"] for pane in panes if not pane.simulated]
    return sum((cost for cost in costs if cost is not None), Decimal(0))
