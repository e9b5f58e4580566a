"""Every read of chat data. Functions return models, plain rows or records, never
querysets that could be evaluated later on an event loop, and never wire frames."""

from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Case, Count, F, IntegerField, Q, Value, When

from .. import policy
from ..errors import NotFound
from ..models import Membership, Message, Room
from ..records import MESSAGE_FIELDS, member_data, message_row_data
from .directory import room_directory  # noqa: F401 (the package's reads)
from .reactions import attach_reactions
from .unread import first_unread_id, member_room, member_rooms, unread_counts  # noqa: F401 (the package's reads)


def room_list_for_user(*, user, others_max: int | None = None) -> list[Room]:
    """Return the rooms the user is a member of, and the most recently active public
    rooms they are not in (at most `others_max`, CHAT_ROOM_LIST_OTHERS_MAX by default),
    together most recently active first. Direct conversations are listed apart
    (selectors.direct.direct_conversations); every public room is in the directory."""
    if others_max is None:
        others_max = settings.CHAT_ROOM_LIST_OTHERS_MAX
    visible = (
        Room.objects.filter(policy.visible_rooms(user))
        .exclude(kind=Room.Kind.DIRECT)
        .annotate(member_count=Count("memberships", filter=Q(memberships__banned=False)))
        # Rooms never active go last on every database (PostgreSQL sorts NULL first).
        .order_by("is_archived", F("last_activity_at").desc(nulls_last=True), "name")
    )
    mine = Membership.objects.filter(user=user, banned=False).values("room")
    rooms = list(visible.filter(pk__in=mine)) + list(visible.exclude(pk__in=mine)[:others_max])
    return sorted(rooms, key=_listing_order)


def _listing_order(room: Room) -> tuple:
    # The order of room_list_for_user's query, for the two lists it merges.
    activity = room.last_activity_at.timestamp() if room.last_activity_at else float("-inf")
    return (room.is_archived, -activity, room.name)


def visible_room_count(*, user) -> int:
    """Return how many rooms the user may see, direct conversations left out."""
    return Room.objects.filter(policy.visible_rooms(user)).exclude(kind=Room.Kind.DIRECT).count()


def room_viewer_ids(*, room_id: int, user_ids: list[int]) -> list[int]:
    """Return which of `user_ids` may see the room now, in one query."""
    room = Room.objects.filter(pk=room_id).only("id", "is_private").first()
    if room is None:
        return []
    users = get_user_model().objects.filter(policy.room_viewers(room), pk__in=user_ids)
    return sorted(users.values_list("pk", flat=True))


def room_member_ids(*, room_id: int) -> list[int]:
    """Return the ids of the room's members (not those banned)."""
    return list(
        Membership.objects.filter(room_id=room_id, banned=False).values_list("user_id", flat=True)
    )


_ROLE_ORDER = Case(
    When(role=Membership.Role.OWNER, then=Value(0)),
    When(role=Membership.Role.MODERATOR, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def room_members(*, room: Room, banned: bool = False) -> list[dict]:
    """Return the room's members (or those banned) as records: owners, moderators, members."""
    rows = (
        Membership.objects.filter(room=room, banned=banned, user__is_active=True)
        .select_related("user__profile")
        .order_by(_ROLE_ORDER, "user__username")
    )
    return [member_data(membership) for membership in rows]


def room_member(*, room: Room, user) -> dict | None:
    """Return one member's record, or None when they are not a member (or are banned)."""
    membership = (
        Membership.objects.filter(room=room, user=user, banned=False)
        .select_related("user__profile")
        .first()
    )
    return None if membership is None else member_data(membership)


_CLIENT_ID_SQL = "SELECT {1} FROM {0} WHERE {2} = %s AND {3} = %s AND {4} = %s".format(  # noqa: S608
    *(
        connection.ops.quote_name(name)
        for name in (Message._meta.db_table, "id", "room_id", "author_id", "client_id")
    )
)


def message_id_by_client_id(*, room_id: int, author_id: int, client_id: str) -> int | None:
    """Return the id of the author's message sent with `client_id` in the room, if any."""
    # Asked before every send: a bare indexed lookup.
    rows = _rows(_CLIENT_ID_SQL, [room_id, author_id, client_id])
    return rows[0][0] if rows else None


def column(model, field_name: str) -> str:
    """Return a field's column, qualified by its table and quoted for the default database."""
    quote = connection.ops.quote_name
    return f"{quote(model._meta.db_table)}.{quote(model._meta.get_field(field_name).column)}"


def _columns(model, field_names) -> str:
    return ", ".join(column(model, name) for name in field_names)


def _rows(sql: str, params: list) -> list[tuple]:
    """Run one of this module's prepared statements; return its rows as the driver gives them."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# The fields of a Room a socket uses (room_data, access); the others load on access.
_ENTRY_ROOM_FIELDS = ("id", "slug", "name", "topic", "is_private", "is_archived", "kind")
_ENTRY_MEMBERSHIP_FIELDS = ("id", "banned", "role", "muted", "muted_until")
# Identifiers from the models' metadata; every value is a query parameter.
_ROOM_ENTRY_SQL = (
    f"SELECT {_columns(Room, _ENTRY_ROOM_FIELDS)}, {_columns(Membership, _ENTRY_MEMBERSHIP_FIELDS)}"  # noqa: S608
    f" FROM {connection.ops.quote_name(Room._meta.db_table)}"
    f" LEFT OUTER JOIN {connection.ops.quote_name(Membership._meta.db_table)}"
    f" ON ({column(Membership, 'room')} = {column(Room, 'id')}"
    f" AND {column(Membership, 'user')} = %s)"
    f" WHERE {column(Room, 'slug')} = %s"
)


def room_entry(*, slug: str, user) -> tuple[Room | None, Membership | None]:
    """Return the room with this slug and the user's membership of it, in one query.

    Every socket's opening runs this; the two ORM queries it replaces cost 1.1 ms
    together, mostly compiling them. Only the fields a socket uses are loaded.
    """
    rows = _rows(_ROOM_ENTRY_SQL, [user.pk, slug])
    if not rows:
        return None, None
    row = rows[0]
    room_values = dict(zip(_ENTRY_ROOM_FIELDS, row[: len(_ENTRY_ROOM_FIELDS)], strict=True))
    # SQLite returns booleans as 0 and 1: the ORM's converters are skipped here.
    for name in ("is_private", "is_archived"):
        room_values[name] = bool(room_values[name])
    room = _partly_loaded(Room, room_values)
    membership = _membership_of_row(row[len(_ENTRY_ROOM_FIELDS) :], room_id=room.pk, user=user)
    return room, membership


_MEMBERSHIP_SQL = (
    f"SELECT {_columns(Membership, _ENTRY_MEMBERSHIP_FIELDS)}"  # noqa: S608
    f" FROM {connection.ops.quote_name(Membership._meta.db_table)}"
    f" WHERE {column(Membership, 'room')} = %s AND {column(Membership, 'user')} = %s"
)


def room_membership_now(*, room_id: int, user) -> Membership | None:
    """Return the user's membership of the room as it is now (every write checks it)."""
    rows = _rows(_MEMBERSHIP_SQL, [room_id, user.pk])
    return _membership_of_row(rows[0], room_id=room_id, user=user) if rows else None


def _membership_of_row(row, *, room_id: int, user) -> Membership | None:
    """Build a Membership from a row of _ENTRY_MEMBERSHIP_FIELDS (None: no membership)."""
    membership_id, banned, role, muted, muted_until = row
    if membership_id is None:
        return None
    # SQLite returns booleans as 0 and 1: the ORM's converters are skipped here.
    values = {"id": membership_id, "room_id": room_id, "user_id": user.pk, "banned": bool(banned)}
    values |= {"role": role, "muted": bool(muted), "muted_until": _aware(muted_until)}
    return _partly_loaded(Membership, values)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite's rows hold naive UTC times (USE_TZ); PostgreSQL's are aware.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _partly_loaded(model, values: dict):
    """Build an instance from some of its fields by name; the others load on access."""
    names = [field.attname for field in model._meta.concrete_fields if field.attname in values]
    return model.from_db(connection.alias, names, [values[name] for name in names])


_REV = MESSAGE_FIELDS.index("rev")

# Pages and catch-up are the hot reads, and compiling their ORM query cost 0.54 ms a page,
# four times running it (bench/project_pages.py). So the ORM compiles the column list and
# the join of MESSAGE_FIELDS once, here, and only the keyset conditions are written out.
# Rows come straight from the driver: format_time takes SQLite's naive UTC datetimes and
# PostgreSQL's aware ones alike, so MESSAGE_FIELDS need no Django converter.
_MESSAGE_SELECT = Message.objects.order_by().values_list(*MESSAGE_FIELDS).query.sql_with_params()[0]
_IN_ROOM = f"{_MESSAGE_SELECT} WHERE {column(Message, 'room')} = %s"
_NEWEST_FIRST = f"ORDER BY {column(Message, 'id')} DESC LIMIT %s"
_PAGE_SQL = f"{_IN_ROOM} {_NEWEST_FIRST}"
_PAGE_BEFORE_SQL = f"{_IN_ROOM} AND {column(Message, 'id')} < %s {_NEWEST_FIRST}"
_OLDEST_FIRST = f"ORDER BY {column(Message, 'id')} LIMIT %s"
_PAGE_UP_TO_SQL = f"{_IN_ROOM} AND {column(Message, 'id')} <= %s {_NEWEST_FIRST}"
_PAGE_AFTER_SQL = f"{_IN_ROOM} AND {column(Message, 'id')} > %s {_OLDEST_FIRST}"
_SINCE_SQL = (
    f"{_IN_ROOM} AND {column(Message, 'rev')} > %s ORDER BY {column(Message, 'rev')} LIMIT %s"
)


def message_page(*, room: Room, before: int | None = None, limit: int | None = None) -> dict:
    """Return a page of messages older than `before` (newest page without it), oldest first.

    Keyset pagination on (room, id): the cost does not grow with the depth of the page.
    """
    limit = limit or settings.CHAT_PAGE_SIZE
    if before is None:
        rows = _rows(_PAGE_SQL, [room.pk, limit + 1])
    else:
        rows = _rows(_PAGE_BEFORE_SQL, [room.pk, before, limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    rows.reverse()
    return {
        "messages": attach_reactions([message_row_data(row, room.slug) for row in rows]),
        "has_more": has_more,
    }


def history_page(
    *,
    room: Room,
    before: int | None = None,
    after: int | None = None,
    around: int | None = None,
    limit: int | None = None,
) -> dict:
    """Return the page a `history` request asks for: older than `before` (or the newest),
    newer than `after`, or around the message `around`."""
    if around is not None:
        return message_page_around(room=room, message_id=around, limit=limit)
    if after is not None:
        return message_page_after(room=room, after=after, limit=limit)
    return message_page(room=room, before=before, limit=limit)


def message_page_after(*, room: Room, after: int, limit: int | None = None) -> dict:
    """Return the page of messages newer than `after`, oldest first; `has_newer` tells
    whether more follow (a reader away from the live end scrolls down through them)."""
    limit = limit or settings.CHAT_PAGE_SIZE
    rows = _rows(_PAGE_AFTER_SQL, [room.pk, after, limit + 1])
    return {
        "messages": attach_reactions([message_row_data(row, room.slug) for row in rows[:limit]]),
        "has_newer": len(rows) > limit,
    }


def message_page_around(*, room: Room, message_id: int, limit: int | None = None) -> dict:
    """Return a page of messages around one of the room's (it included), oldest first:
    half of it older, half newer; `has_more` and `has_newer` tell whether more lie each way.

    NotFound when the message is not one of this room's (a deleted one still is).
    """
    limit = limit or settings.CHAT_PAGE_SIZE
    older_count = max(1, (limit + 1) // 2)  # the message itself is the newest of these
    newer_count = limit - older_count
    older = _rows(_PAGE_UP_TO_SQL, [room.pk, message_id, older_count + 1])
    if not older or older[0][0] != message_id:
        raise NotFound("No such message in this room.")
    newer = _rows(_PAGE_AFTER_SQL, [room.pk, message_id, newer_count + 1]) if newer_count else []
    has_more = len(older) > older_count
    rows = older[:older_count][::-1] + newer[:newer_count]
    return {
        "messages": attach_reactions([message_row_data(row, room.slug) for row in rows]),
        "has_more": has_more,
        # With a page of one, nothing newer was read: say there may be (ask with `after`).
        "has_newer": len(newer) > newer_count if newer_count else True,
    }


_ROOM_REV_SQL = (
    f"SELECT {column(Room, 'rev')} FROM {connection.ops.quote_name(Room._meta.db_table)}"  # noqa: S608
    f" WHERE {column(Room, 'id')} = %s"
)


def room_rev(*, room_id: int) -> int:
    """Return the room's current revision (every opening and every ping reads it)."""
    rows = _rows(_ROOM_REV_SQL, [room_id])
    if not rows:
        raise Room.DoesNotExist(f"No room {room_id}.")
    return rows[0][0]


def messages_since(*, room: Room, since: int, limit: int | None = None) -> dict:
    """Return the current state of messages changed after revision `since`, by revision.

    `rev` is the highest revision the answer covers; `complete` tells whether it
    reaches the room's current revision.
    """
    # Read the room's revision before the rows: revisions commit in order, so every
    # revision up to this one is then among the rows.
    return _messages_since(room, since, room_rev(room_id=room.pk), limit)


def room_opening(*, room: Room, since: int | None) -> tuple[int, dict | None]:
    """Return what a socket needs once it has joined the room's group, in one call.

    The room's revision (for `hello`) and, when the client gave `since`, the first batch
    of its catch-up (as `messages_since`).
    """
    current = room_rev(room_id=room.pk)
    if since is None:
        return current, None
    return current, _messages_since(room, since, current)


def _messages_since(room: Room, since: int, current_rev: int, limit: int | None = None) -> dict:
    limit = limit or settings.CHAT_SYNC_BATCH
    rows = _rows(_SINCE_SQL, [room.pk, since, limit + 1])
    complete = len(rows) <= limit
    rows = rows[:limit]
    if complete:
        rev = max(current_rev, since, rows[-1][_REV] if rows else 0)
    else:
        rev = rows[-1][_REV]
    return {
        "messages": attach_reactions([message_row_data(row, room.slug) for row in rows]),
        "rev": rev,
        "complete": complete,
    }


def member_room_names(*, user) -> dict[int, tuple[str, str]]:
    """Return {room id: (slug, name)} of the rooms the user is a member of (not banned)."""
    rows = Membership.objects.filter(user=user, banned=False).values_list(
        "room_id", "room__slug", "room__name"
    )
    return {room_id: (slug, name) for room_id, slug, name in rows}
