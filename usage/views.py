"""``GET /usage/``: the usage dashboard for staff; ``?format=csv`` exports the same range.
``GET /usage/requests/``: the request log (filters, search by request id); ``/usage/requests/<id>/``
one request with its attempts and routing decision.

Parse the range, call :func:`usage.reports.build` (or the log's query), render. Bad dates
re-render the page with the error next to the field (400), never a 500.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.access import staff_required
from usage.models import UsageRecord

from . import bodies, charts, export, reports, requestlog
from .forms import PROTOCOLS, RangeForm

PRESETS = (7, 30, 90)


def _links(form: RangeForm) -> dict[str, object]:
    today = timezone.localdate()
    presets = [(days, reports.DateRange.last(days, today)) for days in PRESETS]
    links: dict[str, object] = {
        "presets": [(days, urlencode({"start": r.start, "end": r.end})) for days, r in presets],
        "today_query": urlencode({"start": today, "end": today}),
    }
    if form.is_valid():
        rng = form.range
        links["csv_query"] = urlencode({"start": rng.start, "end": rng.end, "format": "csv"})
        door = {"protocol": form.cleaned_data["protocol"]} if form.cleaned_data["protocol"] else {}
        links["range_query"] = urlencode({"start": rng.start, "end": rng.end, **door})
    return links


def _range_context(request: HttpRequest) -> tuple[RangeForm, dict[str, object]]:
    form = RangeForm(request.GET, today=timezone.localdate())
    context: dict[str, object] = {
        "form": form,
        "start_value": form.value("start"),
        "end_value": form.value("end"),
        "protocol_value": form.value("protocol"),
        "protocols": PROTOCOLS,
        "time_zone": timezone.get_current_timezone_name(),
        **_links(form),
    }
    return form, context


@staff_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    form, context = _range_context(request)
    if not form.is_valid():
        return render(request, "usage/index.html", context, status=400)
    if request.GET.get("format") == "csv":
        return export.csv_response(form.range)
    report = reports.build(form.range, form.cleaned_data.get("protocol") or "")
    context.update(report=report, chart=None if report.empty else charts.chart_data(report))
    return render(request, "usage/index.html", context)


@staff_required
@require_GET
def request_log(request: HttpRequest) -> HttpResponse:
    form, context = _range_context(request)
    filters = requestlog.Filters.from_query(request.GET)
    context.update(filters=filters, active=filters.active())
    if not form.is_valid():
        return render(request, "usage/requests.html", context, status=400)
    door = form.cleaned_data.get("protocol") or ""
    found = requestlog.filtered(form.range, filters, door)
    rows = requestlog.page(found, request.GET.get("page"))
    span = {
        "start": form.range.start,
        "end": form.range.end,
        **({"protocol": door} if door else {}),
    }
    query = urlencode({**filters.active(), **span})
    context.update(rows=rows, choices=requestlog.choices(form.range, filters, door), query=query)
    return render(request, "usage/requests.html", context)


@staff_required
@require_GET
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(UsageRecord.objects.select_related("api_key", "user"), pk=pk)
    day = timezone.localtime(record.created_at).date()
    context = {
        "r": record,
        "others": requestlog.neighbours(record),
        "body": bodies.for_request(record.request_id),
        "day_query": requestlog.link(reports.DateRange(day, day)),
    }
    return render(request, "usage/request.html", context)
