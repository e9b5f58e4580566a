"""Search across history: only what the searcher may read right now (the one access rule),
newest first, keyset-paged, with the matched words highlighted."""

import html
from datetime import UTC, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Q

from .. import policy
from ..models import Message, Room, direct_key
from ..records import MESSAGE_FIELDS, message_row_data, room_data
from ..search.query import BadQuery, SearchQuery, parse_query
from ..search.sql import MARK_END, MARK_START, Filters, matching_sql
from .reactions import attach_reactions

SEARCH_PAGE = 20
SEARCH_PAGE_MAX = 50
EXCERPT_WORDS = 24


def search_messages(*, user, q, before: int | None = None, limit: int = SEARCH_PAGE) -> dict:
    """Return {"results": [{"message", "room", "highlight"}], "next"} for the search `q`.

    `before` is the `next` of the page before (a message id); `highlight` is the matched
    part of the body as HTML: the text escaped, each match in <mark>. BadQuery for a
    search that can't be understood, or names a person or a room that isn't there.
    """
    query = parse_query(q)
    if query.is_empty:
        raise BadQuery("Type some words to search for, or an operator such as from:alice.")
    limit = max(1, min(limit, SEARCH_PAGE_MAX))
    room_ids = _room_ids_to_search(user, query)
    if not room_ids:
        return {"results": [], "next": None}
    filters = Filters(
        room_ids=sorted(room_ids),
        author_ids=_user_ids(query.authors),
        without_author_ids=_user_ids(query.without_authors),
        mentioned_user_id=user.pk if query.mentioned else None,
        created_before=_start_of(query.before),
        created_from=_start_of(query.after + timedelta(days=1)) if query.after else None,
        before_id=before,
    )
    sql, params = matching_sql(query, filters, limit + 1)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        matches = cursor.fetchall()
    more = len(matches) > limit
    matches = matches[:limit]
    messages = _messages([message_id for message_id, _snippet in matches])
    # Built only for the rooms of this page: a searcher may read hundreds.
    rooms = Room.objects.in_bulk({message["room_id"] for message in messages.values()})
    results = [
        {
            "message": messages[message_id],
            "room": room_data(rooms[messages[message_id]["room_id"]]),
            "highlight": excerpt(messages[message_id]["body"])
            if snippet is None
            else highlight(snippet),
        }
        for message_id, snippet in matches
        if message_id in messages
    ]
    for result in results:
        del result["message"]["room_id"]
    return {"results": results, "next": matches[-1][0] if more else None}


def highlight(snippet: str) -> str:
    """Return a snippet from the database as HTML: the text escaped, matches in <mark>."""
    text = html.escape(snippet, quote=False)
    return text.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")


def excerpt(body: str) -> str:
    """Return the start of a body as HTML (escaped), for a search with no words to mark."""
    words = body.split()
    text = " ".join(words[:EXCERPT_WORDS]) + (" …" if len(words) > EXCERPT_WORDS else "")
    return html.escape(text.replace(MARK_START, "").replace(MARK_END, ""), quote=False)


def _start_of(day):
    """The start of a day (UTC), as this database compares it with created_at in raw SQL."""
    if day is None:
        return None
    return connection.ops.adapt_datetimefield_value(datetime.combine(day, time.min, tzinfo=UTC))


def _room_ids_to_search(user, query: SearchQuery) -> list[int]:
    """The rooms to search: those the user may read now, narrowed by in: and -in:."""
    visible = Room.objects.filter(policy.visible_rooms(user))
    if query.rooms:
        visible = visible.filter(pk__in=_room_ids(user, visible, query.rooms))
    if query.without_rooms:
        visible = visible.exclude(pk__in=_room_ids(user, visible, query.without_rooms))
    return list(visible.values_list("pk", flat=True))


def _room_ids(user, visible, references: list[str]) -> set[int]:
    """Resolve in: values among the visible rooms: a slug or a name, or @username for the
    direct conversation with that person."""
    found = set()
    for reference in references:
        if reference.startswith("@"):
            other = _user_ids([reference[1:]])[0]
            condition = Q(kind=Room.Kind.DIRECT, direct_key=direct_key([user.pk, other]))
        else:
            condition = Q(slug=reference.lower()) | Q(name__iexact=reference)
        ids = set(visible.filter(condition).values_list("pk", flat=True))
        if not ids:
            raise BadQuery(f"You have no room or conversation called {reference!r} to search.")
        found |= ids
    return found


def _user_ids(usernames: list[str]) -> list[int]:
    users = get_user_model().objects
    ids = []
    for username in usernames:
        user_id = users.filter(username__iexact=username).values_list("pk", flat=True).first()
        if user_id is None:
            raise BadQuery(f"No one is called {username!r}.")
        ids.append(user_id)
    return ids


def _messages(message_ids: list[int]) -> dict[int, dict]:
    """Read the matched messages as records (with `room_id`, for the caller), in one query."""
    if not message_ids:
        return {}
    rows = Message.objects.filter(pk__in=message_ids).values_list(
        "room_id", "room__slug", *MESSAGE_FIELDS
    )
    records = []
    for room_id, slug, *row in rows:
        record = message_row_data(tuple(row), slug)
        record["room_id"] = room_id
        records.append(record)
    return {record["id"]: record for record in attach_reactions(records)}
