"""Unread and mention counts, derived from rows every time (never kept as increments).

A room's unread count is the number of its messages created after the member's read
marker that are not deleted and not their own; its mentions are those of them that
mention the member. Both for all of a user's rooms in two queries, whatever their number;
each room's notification preferences (notifications.selectors.room_notify) in one more.
"""

from django.contrib.auth import get_user_model
from django.db.models import Count, F

from ..models import Membership, Message
from ..records import room_data, user_data

_ORDER = ("room__is_archived", F("room__last_activity_at").desc(nulls_last=True), "room__name")


def _unread_messages(user, room_ids=None):
    # One filter() call: every condition on the membership join refers to the same row.
    messages = Message.objects.filter(
        room__memberships__user=user,
        room__memberships__banned=False,
        created_rev__gt=F("room__memberships__last_read_rev"),
        deleted_at__isnull=True,
    ).exclude(author=user)
    if room_ids is not None:
        messages = messages.filter(room_id__in=room_ids)
    return messages


def _counts(messages) -> dict[int, int]:
    rows = messages.order_by().values("room_id").annotate(count=Count("id"))
    return {row["room_id"]: row["count"] for row in rows}


def unread_counts(*, user, room_ids=None) -> dict[int, tuple[int, list[int]]]:
    """Return {room id: (unread, ids of the unread messages that mention the user)}."""
    unread = _counts(_unread_messages(user, room_ids))
    mentioned: dict[int, list[int]] = {}
    rows = _unread_messages(user, room_ids).filter(mentions__user=user).order_by("id")
    for room_id, message_id in rows.values_list("room_id", "id"):
        mentioned.setdefault(room_id, []).append(message_id)
    return {room_id: (count, mentioned.get(room_id, [])) for room_id, count in unread.items()}


def member_rooms(*, user) -> list[dict]:
    """Return the rooms the user is a member of, with their revision, marker, counts and
    notification preferences."""
    memberships = list(
        Membership.objects.filter(user=user, banned=False).select_related("room").order_by(*_ORDER)
    )
    counts = unread_counts(user=user)
    # Every member room by a join, rather than a query parameter per room.
    notify = _room_notify(user=user)
    room_ids = [membership.room_id for membership in memberships]
    missing = [room_id for room_id in room_ids if room_id not in notify]
    if missing:  # memberships that ended between the two reads
        notify |= _room_notify(user=user, room_ids=missing)
    names = direct_names([membership.room for membership in memberships])
    return [
        _room_state(
            membership,
            counts.get(membership.room_id, (0, [])),
            notify[membership.room_id],
            names,
        )
        for membership in memberships
    ]


def member_room(*, user, room) -> dict | None:
    """Return one room's state for a member (None when they are not one)."""
    membership = (
        Membership.objects.filter(user=user, room=room, banned=False).select_related("room").first()
    )
    if membership is None:
        return None
    counts = unread_counts(user=user, room_ids=[room.pk])
    notify = _room_notify(user=user, room_ids=[room.pk])[room.pk]
    names = direct_names([membership.room])
    return _room_state(membership, counts.get(room.pk, (0, [])), notify, names)


def direct_names(rooms) -> dict[int, dict]:
    """Return the user records of everyone in the direct conversations among `rooms`, by
    user id, in one query (none without a direct conversation)."""
    user_ids = {user_id for room in rooms for user_id in room.direct_user_ids()}
    if not user_ids:
        return {}
    users = get_user_model().objects.filter(pk__in=user_ids)
    rows = users.values_list("pk", "username", "profile__display_name")
    return {row[0]: user_data(*row) for row in rows}


def direct_members(room, *, user_id: int, names: dict[int, dict]) -> list[dict]:
    """Return the other people of a direct conversation, by username: what names it."""
    others = [
        names[member_id]
        for member_id in room.direct_user_ids()
        if member_id != user_id and member_id in names
    ]
    return sorted(others, key=lambda member: (member["username"].casefold(), member["id"]))


def _room_notify(*, user, room_ids=None) -> dict[int, dict]:
    # notifications builds on chat: imported here, so that chat loads without it first.
    from notifications.selectors import room_notify

    return room_notify(user=user, room_ids=room_ids)


def _room_state(
    membership: Membership, counts: tuple[int, list[int]], notify: dict, names: dict[int, str]
) -> dict:
    unread, mentioned = counts
    state = {
        **room_data(membership.room),
        "rev": membership.room.rev,
        "last_read_rev": membership.last_read_rev,
        "unread": unread,
        "mentions": len(mentioned),
        # Which unread messages mention the user: a client that holds them can take one
        # back when an edit drops the mention.
        "unread_mentions": mentioned,
        "role": membership.role,
        # How the user wants to hear of the room: {"level", "muted", "custom"}.
        "notify": notify,
    }
    if membership.room.is_direct:
        # Who else is in the conversation (fixed when it started): its name on the page.
        state["members"] = direct_members(membership.room, user_id=membership.user_id, names=names)
    return state


def first_unread_id(*, user, room_id: int) -> int | None:
    """Return the id of the oldest message of the room the user has not read, if any."""
    return (
        _unread_messages(user, [room_id])
        .order_by("created_rev", "id")
        .values_list("id", flat=True)
        .first()
    )
