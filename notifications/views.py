"""The inbox's HTTP API: a page of notifications, and marking them read."""

from django.http import JsonResponse
from django.views.decorators.http import require_http_methods

from chat.errors import Invalid
from chat.realtime import protocol
from chat.views import _json_body, _query_int, api_view

from . import selectors, services

# Ids one request may mark read; a client marks what it shows, a page or two.
READ_IDS_MAX = 1000


@require_http_methods(["GET"])
@api_view
def api_notifications(request):
    """Return a page of the caller's notifications, newest first, and the unread count."""
    before = _query_int(request, "before", minimum=1)
    limit = _query_int(request, "limit", minimum=0)
    limit = selectors.PAGE_SIZE if limit is None else protocol.clean_limit(limit)
    page = selectors.notification_page(user=request.user, before=before, limit=limit)
    return JsonResponse(page)


@require_http_methods(["POST"])
@api_view
def api_notifications_read(request):
    """Mark some of the caller's notifications read, or all; return the unread count."""
    ids, mark_all = _read_request(_json_body(request))
    unread = services.notifications_mark_read(user=request.user, ids=ids, all=mark_all)
    return JsonResponse({"unread": unread})


def _read_request(data: dict) -> tuple[list[int] | None, bool]:
    """Return the ids to mark, or (None, True) for all of them, from a request body."""
    if "all" in data:
        if data["all"] is not True or "ids" in data:
            raise Invalid('The body must be {"ids": [...]} or {"all": true}.')
        return None, True
    ids = data.get("ids")
    if not isinstance(ids, list):
        raise Invalid('The body must be {"ids": [...]} or {"all": true}.')
    if len(ids) > READ_IDS_MAX:
        raise Invalid(f"At most {READ_IDS_MAX} ids at once.")
    for value in ids:
        if isinstance(value, str):  # JSON numbers only, as in frames
            raise Invalid("'ids' must be a list of integers.")
        protocol.parse_int(value, "ids", minimum=1)
    return ids, False
