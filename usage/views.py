"""``GET /usage/``: the usage dashboard for staff; ``?format=csv`` exports the same range.

Parse the range, call :func:`usage.reports.build` (or the CSV export), render. Bad dates
re-render the page with the error next to the field (400), never a 500.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from . import charts, export, reports
from .forms import PROTOCOLS, RangeForm

PRESETS = (7, 30, 90)


def _links(form: RangeForm) -> dict[str, object]:
    today = timezone.localdate()
    presets = [(days, reports.DateRange.last(days, today)) for days in PRESETS]
    links: dict[str, object] = {
        "presets": [(days, urlencode({"start": r.start, "end": r.end})) for days, r in presets]
    }
    if form.is_valid():
        rng = form.range
        links["csv_query"] = urlencode({"start": rng.start, "end": rng.end, "format": "csv"})
    return links


@staff_member_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
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
    if not form.is_valid():
        return render(request, "usage/index.html", context, status=400)
    if request.GET.get("format") == "csv":
        return export.csv_response(form.range)
    report = reports.build(form.range, form.cleaned_data.get("protocol") or "")
    context.update(report=report, chart=None if report.empty else charts.chart_data(report))
    return render(request, "usage/index.html", context)
