"""Search over HTTP (docs/protocol.md, "Search"): GET /api/search/?q=...&before=<next>,
and the results page the top bar's box opens (/search/?q=...), which works without
JavaScript; static/js/chat/search_page.js enhances it."""

import html
import json
import re

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET
from ninja import Query, Router

from api.schemas import answers

from . import errors
from .realtime.frames_in import parse_int
from .schemas.search import SearchParameters, SearchResults
from .selectors.direct import direct_conversations
from .selectors.search import SEARCH_PAGE, search_messages

# Its operations in the HTTP API (api/http.py mounts it).
router = Router(tags=["search"])

_MARK_TAG = re.compile(r"(</?mark>)")


@router.get("/search/", url_name="api_search", response=answers({200: SearchResults}))
def api_search(request, query: Query[SearchParameters]):
    """Return a page of the messages the caller may read that match `q`, newest first."""
    page = search_messages(
        user=request.user, q=query.q, before=query.before, limit=query.limit or SEARCH_PAGE
    )
    return JsonResponse(page)


@login_required
@require_GET
def search_page(request):
    """Render the results of the search `q`, consecutive ones of a room under its name,
    newest first; "More results" links to the next page (`before`). A search that
    cannot be understood shows the sentence that says why."""
    query = request.GET.get("q", "")
    context = {"search_query": query, "groups": [], "next": None, "error": None, "searched": False}
    if query.strip():
        try:
            before = request.GET.get("before")
            before = None if before is None else parse_int(before, "before", minimum=1)
            page = search_messages(user=request.user, q=query, before=before)
        except errors.ChatError as error:  # BadQuery, or a `before` that is no id
            context["error"] = error.detail
        else:
            titles = {c["room"].slug: c["title"] for c in direct_conversations(user=request.user)}
            context |= {
                "groups": result_groups(page["results"], direct_titles=titles),
                "next": page["next"],
                # For the pages search_page.js adds: the API names no conversation's people.
                "direct_titles": json.dumps(titles),
                "searched": True,
            }
    return render(request, "chat/search.html", context)


def result_groups(results: list[dict], *, direct_titles: dict[str, str]) -> list[dict]:
    """Group consecutive results of one room: [{"room", "title", "url", "results"}], each
    result with its link into the room (opened at the message) and its highlight's parts."""
    groups = []
    for result in results:
        room = result["room"]
        if not groups or groups[-1]["room"]["slug"] != room["slug"]:
            direct = room["kind"] == "direct"
            title = direct_titles.get(room["slug"], "Direct message") if direct else room["name"]
            url = reverse("chat:room_detail", kwargs={"slug": room["slug"]})
            groups.append({"room": room, "title": title, "url": url, "results": []})
        message_id = result["message"]["id"]
        groups[-1]["results"].append(
            {
                "message": result["message"],
                "url": f"{groups[-1]['url']}?around={message_id}#message-{message_id}",
                "parts": highlight_parts(result["highlight"]),
            }
        )
    return groups


def highlight_parts(highlight: str) -> list[tuple[str, bool]]:
    """Split a highlight (escaped text, each match in <mark>) into (text, marked) pieces,
    which the template escapes again: no markup from it reaches the page as markup."""
    parts = []
    marked = False
    for piece in _MARK_TAG.split(highlight):
        if piece in ("<mark>", "</mark>"):
            marked = piece == "<mark>"
        elif piece:
            parts.append((html.unescape(piece), marked))
    return parts
