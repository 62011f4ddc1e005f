"""Who may scrape /metrics: anyone by default (the embedded setup), or only a Prometheus that
sends `METRICS_TOKEN` as a bearer token (`authorization` in its scrape config) or scrapes from
one of `METRICS_ALLOWED_NETWORKS`. With both set, either is enough."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.http import HttpResponse

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def _from_allowed_network(address: str) -> bool:
    networks = _networks(tuple(settings.METRICS_ALLOWED_NETWORKS))
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _token_ok(authorization: str) -> bool:
    scheme, _, token = authorization.partition(" ")
    expected = settings.METRICS_TOKEN
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip(), expected)


def scrape_refused(authorization: str, meta: Mapping[str, Any]) -> HttpResponse | None:
    """None when this scrape may read the metrics; else the 401/403 to answer."""
    token, networks = settings.METRICS_TOKEN, settings.METRICS_ALLOWED_NETWORKS
    if not token and not networks:
        return None
    if token and _token_ok(authorization):
        return None
    if networks and _from_allowed_network(str(meta.get("REMOTE_ADDR", ""))):
        return None
    if token:
        response = HttpResponse("A bearer token is required.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse("Not from an allowed network.\n", status=403)
