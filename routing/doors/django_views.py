"""Django adapters: /v1 through Django (its test client and tools; uvicorn serves /v1 via
routing/doors/entry.py), and /metrics."""

from __future__ import annotations

import os

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from routing.doors import table
from routing.doors.metrics_access import scrape_refused
from routing.engine.context import new_request_id


def _body(request: HttpRequest) -> bytes | None:
    try:
        return request.body
    except RequestDataTooBig:
        return None


@csrf_exempt
async def v1(request: HttpRequest) -> HttpResponseBase:
    request_id = getattr(request, "request_id", "") or new_request_id()
    headers = {name.lower(): value for name, value in request.headers.items()}
    reply = await table.handle(
        request.method or "GET",
        request.path,
        headers,
        _body(request),
        request_id,
        request.META.get("QUERY_STRING", ""),
    )
    response: HttpResponseBase
    if reply.stream is not None:
        response = StreamingHttpResponse(
            reply.stream, status=reply.status, content_type=reply.content_type
        )
    else:
        response = HttpResponse(reply.body, status=reply.status, content_type=reply.content_type)
    for name, value in reply.headers.items():
        response[name] = value
    return response


async def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics (per process; multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set).
    Open by default; METRICS_TOKEN and METRICS_ALLOWED_NETWORKS restrict who may scrape."""
    refused = scrape_refused(request.headers.get("authorization", ""), request.META)
    if refused is not None:
        return refused
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
