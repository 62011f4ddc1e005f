"""``GET /models/``: browse and compare the catalog; ``GET /models/pick/``: the model picker's
results (a fragment the shared picker widget fetches as you type).

The picker's search and ranking are the playground's (:func:`playground.picker.search`); this
only renders them as a single-value pick for forms (admin, batch, cost calculator).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from playground import picker
from routing import catalog

from . import listing

PICK_LIMIT = 30


def _allowed(request: HttpRequest) -> bool:
    """Like the playground: anyone in development, a logged-in user otherwise."""
    return request.user.is_authenticated or not settings.PLAYGROUND_REQUIRE_LOGIN


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return redirect_to_login(request.get_full_path())
    query = listing.Query.from_query(request.GET)
    result = listing.build(catalog.current_sync(), query)
    costs = [listing.cost_per_1k_calls(e) for e in result.compared]
    context = {"query": query, "listing": result, "sorts": listing.SORTS, "costs": costs}
    return render(request, "modelpages/index.html", context)


@require_GET
def pick(request: HttpRequest) -> HttpResponse:
    """Matching models (and routes, with ``routes=1``) as picker results.

    The catalog's models and prices are public (the public cost calculator's baseline picks
    from them); the routing table is this deployment's own, so routes need a signed-in user
    where the playground does."""
    with_routes = request.GET.get("routes") == "1"
    if with_routes and not _allowed(request):
        return HttpResponse(status=403)
    snapshot = catalog.current_sync()
    options = picker.search(snapshot, str(request.GET.get("q", ""))[:100], limit=PICK_LIMIT * 2)
    if not with_routes:
        options = [o for o in options if not o.id.startswith(picker.ROUTE_PREFIX)]
    return render(request, "modelpages/_pick_results.html", {"options": options[:PICK_LIMIT]})
