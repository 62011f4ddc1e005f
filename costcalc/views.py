"""Thin views: parse the form, call :func:`costcalc.calculator.calculate`, pick a format.

``GET /costcalc/`` renders the page (the ``_results.html`` partial for htmx requests);
``format=json`` and ``format=csv`` on the same URL return the projection as data.
``POST /costcalc/upload/`` stores an uploaded prompt set and redirects to a permalink.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from accounts.access import is_staff
from routing import catalog
from routing.tools.prompt_files import MAX_UPLOAD_BYTES, UploadError

from . import export
from .calculator import Outcome, calculate, store_upload
from .forms import CalculatorForm
from .workload import PROCESSING, TYPE_LABELS

UPLOAD_OVERHEAD = 64 * 1024  # the form's other fields and the multipart framing


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


TRAFFIC_FIELDS = ("traffic_from", "traffic_to")
TRAFFIC_DENIED = "Using your traffic needs a staff sign-in (the same as the usage dashboard)."


def _calculate(query: QueryDict, request: HttpRequest) -> Outcome:
    """The projection; a period of real traffic only for those who may read the dashboard."""
    snapshot = catalog.current_sync()
    form = CalculatorForm(query, snapshot)
    if any(query.get(name) for name in TRAFFIC_FIELDS) and not is_staff(request.user):
        form.full_valid()
        form.add_error("traffic_from", TRAFFIC_DENIED)
        return Outcome(form)
    return calculate(form, snapshot, dt.datetime.now(dt.UTC).date())


def _denied(outcome: Outcome) -> bool:
    return TRAFFIC_DENIED in outcome.form.errors.get("traffic_from", [])


def _permalink(query: QueryDict, **extra: str) -> str:
    params = {k: v for k, v in query.items() if k not in ("format", "state")}
    params.update(extra)
    return f"{reverse('costcalc:index')}?{urlencode(params)}"


def _context(request: HttpRequest, outcome: Outcome, query: QueryDict) -> dict:
    return {
        "outcome": outcome,
        "form": outcome.form,
        "data": export.to_dict(outcome) if outcome.ok else None,
        "chart": export.chart_data(outcome) if outcome.ok else None,
        "errors": outcome.form.error_messages(),
        "type_rows": _type_rows(outcome.form),
        "permalink": _permalink(query),
        "json_url": _permalink(query, format="json"),
        "csv_url": _permalink(query, format="csv"),
        "query": query.urlencode(),
        "type_labels": TYPE_LABELS,
        "processing": PROCESSING,
        "max_upload_mb": MAX_UPLOAD_BYTES // 1024 // 1024,
    }


def _type_rows(form: CalculatorForm) -> list[tuple[int, object, list[str]]]:
    return [(i, f, errs) for i, (f, errs) in enumerate(zip(form.types.forms, form.row_errors()))]


def _data_response(outcome: Outcome, fmt: str) -> HttpResponse:
    if not outcome.ok:
        status = 403 if _denied(outcome) else 400
        return JsonResponse({"errors": outcome.form.error_messages()}, status=status)
    if fmt == "csv":
        response = HttpResponse(export.to_csv(outcome), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="costcalc.csv"'
        return response
    return JsonResponse(export.to_dict(outcome))


@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    outcome = _calculate(request.GET, request)
    fmt = request.GET.get("format", "html")
    if fmt in ("json", "csv"):
        return _data_response(outcome, fmt)
    template = "costcalc/_results.html" if request.htmx else "costcalc/index.html"
    status = 403 if _denied(outcome) else 200
    return render(request, template, _context(request, outcome, request.GET), status=status)


def _upload_refused(request: HttpRequest) -> HttpResponse | None:
    """Uploads are stored, so only for signed-in people, and refused by their declared size
    before Django spools the file."""
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("costcalc:index"))
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_UPLOAD_BYTES + UPLOAD_OVERHEAD:
        message = f"The file is over the {MAX_UPLOAD_BYTES // 1024 // 1024} MB limit."
        return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
    return None


@require_POST
def upload(request: HttpRequest) -> HttpResponse:
    """Store an uploaded CSV/JSONL prompt set and show the projection with it."""
    refused = _upload_refused(request)
    if refused is not None:
        return refused
    state = QueryDict(request.POST.get("state", ""), mutable=True)
    file = request.FILES.get("prompts_file")
    try:
        if file is None:
            raise UploadError("Choose a CSV or JSONL file to upload.")
        if file.size is not None and file.size > MAX_UPLOAD_BYTES:
            raise UploadError(f"The file is over the {MAX_UPLOAD_BYTES // 1024 // 1024} MB limit.")
        stored = store_upload(file.name or "upload", file.read())
    except UploadError as exc:
        outcome = _calculate(state, request)
        context = _context(request, outcome, state) | {"upload_error": str(exc)}
        return render(request, "costcalc/index.html", context, status=400)
    state["prompts"] = stored.key
    return redirect(_permalink(state))
