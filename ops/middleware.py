"""Answer /healthz, /readyz and /metrics before anything else runs; count the rest.

Ahead of the security middleware on purpose: a probe from the container itself or the
load balancer names no allowed host, speaks plain HTTP behind a TLS proxy, and carries
no session; none of that should make a healthy process look sick. Prometheus, scraping
each process by its address (web1:8000), is in the same place: a view would answer it
with a 400 for the host or a redirect to https.
"""

from asgiref.sync import async_to_sync, iscoroutinefunction
from django.http import JsonResponse
from django.utils.decorators import sync_and_async_middleware

from . import metrics, scrape
from .health import OK, readiness

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"


def _health() -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _ready(checks: dict[str, str]) -> JsonResponse:
    failed = sorted(name for name, answer in checks.items() if answer != OK)
    status = "unavailable" if failed else "ok"
    response = JsonResponse(
        {"status": status, "checks": checks, "failed": failed}, status=503 if failed else 200
    )
    response["Cache-Control"] = "no-store"
    return response


@sync_and_async_middleware
def health_middleware(get_response):
    """Serve the two probe paths, and /metrics to those allowed, for GET and HEAD; pass
    everything else on."""
    if iscoroutinefunction(get_response):

        async def middleware(request):
            if request.method in ("GET", "HEAD"):
                if request.path == HEALTH_PATH:
                    return _health()
                if request.path == READY_PATH:
                    return _ready(await readiness())
                if request.path == METRICS_PATH and scrape.allowed(request):
                    return scrape.metrics_response(request)
            return await get_response(request)

    else:

        def middleware(request):
            if request.method in ("GET", "HEAD"):
                if request.path == HEALTH_PATH:
                    return _health()
                if request.path == READY_PATH:
                    return _ready(async_to_sync(readiness)())
                if request.path == METRICS_PATH and scrape.allowed(request):
                    return scrape.metrics_response(request)
            return get_response(request)

    return middleware


@sync_and_async_middleware
def request_metrics_middleware(get_response):
    """Count each response of the site by status (the probes and /metrics are not counted)."""
    if iscoroutinefunction(get_response):

        async def middleware(request):
            response = await get_response(request)
            metrics.http_response(response.status_code)
            return response

    else:

        def middleware(request):
            response = get_response(request)
            metrics.http_response(response.status_code)
            return response

    return middleware
