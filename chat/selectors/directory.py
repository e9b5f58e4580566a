"""The directory of public rooms: search by name and topic, newest activity first,
keyset-paged.

Pages follow (last activity, id), newest first, rooms never active last; a cursor is
the position of the last room of a page, and the next page starts after it. Paging
never repeats a room and never skips one whose activity stays put. A room that becomes
active while someone pages moves to the head of the order, before every cursor: if it
was shown already it is not shown again, and if it was not yet shown it is not on a
later page either, but at the top of the next search (the list is live, not a
snapshot; OFFSET would show others twice and skip some as well).

Archived rooms are left out: they take no posts and can't be joined, and the room list
still shows them to whoever may see them.
"""

import base64
import binascii
import json
from datetime import datetime

from django.db.models import Count, Exists, F, OuterRef, Q

from .. import policy
from ..errors import Invalid
from ..models import Membership, Room
from ..records import format_time

DIRECTORY_PAGE_SIZE = 20
DIRECTORY_PAGE_MAX = 50
# A search is a few words; each must be in the name or the topic.
QUERY_MAX_CHARS = 100
QUERY_MAX_TERMS = 8


def directory_query_terms(query: str) -> list[str]:
    """Split a search into its words (case and repeats ignored); refuse an overlong one."""
    if len(query) > QUERY_MAX_CHARS:
        raise Invalid(f"A search is limited to {QUERY_MAX_CHARS} characters.")
    terms: list[str] = []
    for term in query.split():
        if term.casefold() not in (known.casefold() for known in terms):
            terms.append(term)
    if len(terms) > QUERY_MAX_TERMS:
        raise Invalid(f"A search is limited to {QUERY_MAX_TERMS} words.")
    return terms


def encode_cursor(last_activity_at: datetime | None, room_id: int) -> str:
    """Return the opaque cursor of a room's place in the directory's order."""
    raw = json.dumps([format_time(last_activity_at), room_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime | None, int]:
    """Return (last activity, id) from a cursor this module made; refuse anything else."""
    refused = Invalid("'after' is not a cursor of the directory.")
    if not cursor or len(cursor) > 200:
        raise refused
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        when, room_id = json.loads(raw)
        if when is not None:
            when = datetime.fromisoformat(when)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise refused from None
    if not isinstance(room_id, int) or isinstance(room_id, bool) or room_id < 1:
        raise refused
    if when is not None and when.tzinfo is None:
        raise refused
    return when, room_id


def _after(when: datetime | None, room_id: int) -> Q:
    """Rooms after (when, id) in the order: activity newest first, never active last."""
    if when is None:
        return Q(last_activity_at__isnull=True, id__lt=room_id)
    return (
        Q(last_activity_at__lt=when)
        | Q(last_activity_at=when, id__lt=room_id)
        | Q(last_activity_at__isnull=True)
    )


def room_directory(
    *, user, query: str = "", after: str | None = None, limit: int = DIRECTORY_PAGE_SIZE
) -> dict:
    """Return a page of the public rooms `user` may join, matching `query`, in one query.

    `{"rooms": [{slug, name, topic, members, last_activity_at, member}], "next": cursor
    or None}`; `members` counts members not banned, `member` is whether the user is one.
    """
    rooms = Room.objects.filter(policy.visible_rooms(user), is_private=False, is_archived=False)
    # icontains is a LIKE with the user's % and _ escaped, case-insensitive on both
    # databases (on SQLite for ASCII letters only).
    for term in directory_query_terms(query):
        rooms = rooms.filter(Q(name__icontains=term) | Q(topic__icontains=term))
    if after is not None:
        rooms = rooms.filter(_after(*decode_cursor(after)))
    mine = Membership.objects.filter(room=OuterRef("pk"), user=user, banned=False)
    rows = list(
        rooms.annotate(
            members=Count("memberships", filter=Q(memberships__banned=False)),
            member=Exists(mine),
        )
        .order_by(F("last_activity_at").desc(nulls_last=True), "-id")
        .values("id", "slug", "name", "topic", "last_activity_at", "members", "member")[: limit + 1]
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    return {
        "rooms": [
            {
                "slug": row["slug"],
                "name": row["name"],
                "topic": row["topic"],
                "members": row["members"],
                "last_activity_at": format_time(row["last_activity_at"]),
                "member": bool(row["member"]),
            }
            for row in rows
        ],
        "next": encode_cursor(last["last_activity_at"], last["id"]) if has_more else None,
    }
