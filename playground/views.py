"""Playground views: the page, the run stream (first turns and follow-ups), the model picker,
and past runs (reopen, search, delete, rate, export)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import OperationalError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.access import is_staff
from playground import conversation, forms, picker
from playground import render as html
from playground.models import PromptText, Run, recent, spent_today, usage_counts
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
    # The page's templates read request.user (the nav): resolve it here, off the event loop's
    # sync path; left lazy, a logged-in user's page raised SynchronousOnlyOperation (a 500).
    request.user = user
    if user.is_authenticated:
        return Viewer(True, user.pk, is_staff(user))
    return Viewer(not settings.PLAYGROUND_REQUIRE_LOGIN)


def _recent(viewer: Viewer, query: str = "") -> list[Run]:
    return recent(viewer.user_id, query, everyone=viewer.staff)


async def _required_viewer(request: HttpRequest) -> Viewer:
    """Who calls a run endpoint; 403 when a login is required and there is none."""
    viewer = await _viewer(request)
    if not viewer.allowed:
        raise PermissionDenied("Sign in to use the playground.")
    return viewer


@require_GET
async def index(request: HttpRequest) -> HttpResponse:
    viewer = await _viewer(request)
    if not viewer.allowed:
        return redirect_to_login(request.get_full_path())
    snapshot = await catalog.current()
    form = forms.from_query(request.GET)
    prompt_id = request.GET.get("prompt_id", "")
    if prompt_id and not form.prompt:
        form.prompt = await sync_to_async(PromptText.lookup)(prompt_id[:16]) or ""
    if not request.GET.get("models"):
        form.panes = picker.default_panes(snapshot)
    return await _page(request, snapshot, form, viewer, run=None)


async def _own_run(pk: int, user_id: int | None) -> Run:
    """A run of this user's (what may be changed or followed up)."""
    run = await Run.objects.filter(pk=pk, user_id=user_id).afirst()  # type: ignore[misc]  # django-stubs#3472: None on a nullable FK's _id means IS NULL
    if run is None:
        raise Http404("No such run.")
    return run


async def _visible_run(pk: int, viewer: Viewer) -> Run:
    """A run this viewer may look at: their own, anyone's for staff."""
    runs = Run.objects.select_related("user").filter(pk=pk)
    if not viewer.staff:
        runs = runs.filter(user_id=viewer.user_id)  # type: ignore[misc]  # django-stubs#3472: None on a nullable FK's _id means IS NULL
    run = await runs.afirst()
    if run is None:
        raise Http404("No such run.")
    return run


@require_GET
async def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A past run (with its earlier turns), shown from what was stored: no model is called."""
    viewer = await _viewer(request)
    if not viewer.allowed:
        return redirect_to_login(request.get_full_path())
    run = await _visible_run(pk, viewer)
    snapshot = await catalog.current()
    form = conversation.followup_form(run, run.prompt)
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
        "stored_panes": await sync_to_async(_stored_panes)(run) if run else [],
        "simulated_only": not picker.has_real_provider(snapshot),
    }
    return render(request, "playground/index.html", context)


def _stored_panes(run: Run) -> list[dict[str, Any]]:
    chain = run.chain()
    turns = conversation.turn_views(chain[:-1], len(run.panes))
    views = []
    for index, saved in enumerate(run.panes):
        view = html.pane_view(index, saved)
        view.update(turns=turns[index], prompt=run.prompt, best=run.winner == index)
        view["rating"] = (run.ratings or {}).get(str(index), "")
        views.append(view)
    return views


@require_GET
async def model_search(request: HttpRequest) -> HttpResponse:
    """htmx: the picker's result list for the typed query (favourites and most used first;
    open to anyone, like the catalog, so other pages can reuse the picker)."""
    viewer = await _viewer(request)
    user_id = viewer.user_id if viewer.allowed else None
    snapshot = await catalog.current()
    favourites = {f for f in request.GET.get("fav", "").split(",") if f}
    uses = await sync_to_async(usage_counts)(user_id)
    options = picker.search(snapshot, request.GET.get("q", ""), favourites=favourites, uses=uses)
    context = {"options": options, "favourites": favourites}
    return render(request, "playground/_model_results.html", context)


@require_GET
async def recent_runs(request: HttpRequest) -> HttpResponse:
    """htmx: the recent-runs list, filtered by the search box."""
    viewer = await _required_viewer(request)
    query = request.GET.get("q", "").strip()
    runs = await sync_to_async(_recent)(viewer, query)
    context = {"recent_runs": runs, "query": query, "everyone": viewer.staff}
    return render(request, "playground/_recent.html", context)


@require_POST
async def delete_run(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: delete a run (and its follow-ups); answers the refreshed list."""
    viewer = await _required_viewer(request)
    run = await _own_run(pk, viewer.user_id)
    await run.adelete()
    query = request.POST.get("q", "").strip()
    runs = await sync_to_async(_recent)(viewer, query)
    context = {"recent_runs": runs, "query": query, "everyone": viewer.staff}
    return render(request, "playground/_recent.html", context)


@require_POST
async def rate_run(request: HttpRequest, pk: int) -> JsonResponse:
    """Mark a pane best (`winner=<i>`, empty to clear) or rate one (`pane=<i>&rating=up|down|`)."""
    viewer = await _required_viewer(request)
    run = await _own_run(pk, viewer.user_id)
    error = _apply_rating(run, request.POST)
    if error:
        return JsonResponse({"error": error}, status=400)
    await run.asave(update_fields=["winner", "ratings"])
    return JsonResponse({"winner": run.winner, "ratings": run.ratings})


def _apply_rating(run: Run, data: Any) -> str:
    count = len(run.panes)
    if "winner" in data:
        winner = data["winner"]
        if winner and not (winner.isdigit() and int(winner) < count):
            return f"winner must be a pane number below {count}."
        run.winner = int(winner) if winner else None
    if "pane" in data:
        pane, rating = data["pane"], data.get("rating", "")
        if not (pane.isdigit() and int(pane) < count) or rating not in ("up", "down", ""):
            return "pane must be a pane number and rating one of up, down or empty."
        ratings = dict(run.ratings or {})
        ratings.pop(pane, None)
        run.ratings = {**ratings, **({pane: rating} if rating else {})}
    return ""


@require_GET
async def export_run(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The whole conversation as JSON or Markdown, as a download."""
    if fmt not in ("json", "md"):
        raise Http404("Export as .json or .md.")
    run = await _visible_run(pk, await _required_viewer(request))
    chain = await sync_to_async(run.chain)()
    if fmt == "json":
        body = json.dumps(conversation.export_data(chain), indent=2, ensure_ascii=False)
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
    else:
        body = conversation.export_markdown(chain)
        response = HttpResponse(body, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="playground-run-{run.pk}.{fmt}"'
    return response


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
    chain: list[Run] = []
    if form.parent is not None:
        parent = await _own_run(form.parent, viewer.user_id)
        form = conversation.followup_form(parent, form.prompt)
        chain = await sync_to_async(parent.chain)()
    checked = forms.check(form, snapshot, conversation.histories(chain, len(form.panes)))
    if not checked.errors:
        checked.errors = await _spend_cap_error(viewer.user_id)
    if checked.errors:
        return _errors(request, checked.errors, followup=bool(chain))
    prompt_id = await sync_to_async(PromptText.keep)(form.prompt) if form.long_prompt else ""
    permalink = form.permalink_query(prompt_id)
    on_finish = _saver(request, form, viewer, permalink)
    turns = conversation.turn_views(chain, len(form.panes))
    response = StreamingHttpResponse(
        run_stream(
            checked.panes,
            snapshot,
            on_finish,
            turns=turns,
            prompt=form.prompt,
            permalink=permalink if not chain else "",
            user_id=viewer.user_id,
        ),
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


def _errors(request: HttpRequest, errors: dict[str, str], followup: bool = False) -> HttpResponse:
    """A plain HTML answer (not SSE): htmx swaps its partials next to the fields."""
    if followup:  # the follow-up box has one field: the prompt
        message = errors.get("prompt") or errors.get("form") or " ".join(errors.values())
        context = {"targets": [("#error-followup", message)], "summary": ""}
        return render(request, "playground/_errors.html", context, status=422)
    targets = []
    for key, message in errors.items():
        if key.startswith("pane-"):
            row = int(key.removeprefix("pane-")) + 1
            targets.append((f"#picked > .pane-row:nth-child({row}) .row-error", message))
        elif key != "form":
            targets.append((f"#error-{key}", message))
    summary = errors.get("form") or "Nothing was sent: fix the fields marked in red above."
    context = {"targets": targets, "summary": summary}
    return render(request, "playground/_errors.html", context, status=422)


def _saver(request: HttpRequest, form: forms.FormInput, viewer: Viewer, permalink: str) -> Any:
    async def on_finish(panes: list[Pane], stopped: bool) -> str:
        run = await _save(
            user_id=viewer.user_id,
            parent_id=form.parent,
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
            "permalink": permalink,
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
