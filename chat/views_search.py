"""Search over HTTP (docs/protocol.md, "Search"): GET /api/search/?q=...&before=<next>."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from .selectors.search import SEARCH_PAGE, search_messages
from .views import _query_int, api_view


@require_GET
@api_view
def api_search(request):
    """Return a page of the messages the caller may read that match `q`, newest first."""
    before = _query_int(request, "before", minimum=1)
    limit = _query_int(request, "limit", minimum=1) or SEARCH_PAGE
    page = search_messages(
        user=request.user, q=request.GET.get("q", ""), before=before, limit=limit
    )
    return JsonResponse(page)
