"""Who may read /metrics: an address in OPS_METRICS_ALLOW, or the bearer of
OPS_METRICS_TOKEN. Anyone else's request goes on to the site, which has no such page:
the same 404 as any unknown path, so it can't tell that metrics are there."""

import functools
import hmac
import ipaddress
import logging

from django.conf import settings
from django.http import HttpResponse

from . import metrics

logger = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            logger.warning("OPS_METRICS_ALLOW: %r is not an address or a network; ignored.", entry)
    return tuple(networks)


def _address_allowed(remote_addr: str | None) -> bool:
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    # An IPv4 client of a dual-stack socket shows as ::ffff:a.b.c.d.
    mapped = getattr(address, "ipv4_mapped", None)
    address = mapped or address
    return any(address in network for network in _networks(tuple(settings.OPS_METRICS_ALLOW)))


def _token_presented(authorization: str) -> bool:
    token = settings.OPS_METRICS_TOKEN
    scheme, _, presented = authorization.partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode(), token.encode())


def allowed(request) -> bool:
    """May this request read the metrics?"""
    return _address_allowed(request.META.get("REMOTE_ADDR")) or _token_presented(
        request.META.get("HTTP_AUTHORIZATION", "")
    )


def metrics_response(request) -> HttpResponse:
    """Return the metrics of this process, in the format the scraper asks for."""
    body, content_type = metrics.exposition(request.META.get("HTTP_ACCEPT", ""))
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response
