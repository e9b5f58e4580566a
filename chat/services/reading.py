"""Read markers: how far each member has read a room, the same on every tab and device."""

from django.db import transaction

from .. import events, selectors, signals
from ..models import Membership, Room
from .rooms import room_gone


@transaction.atomic
def room_mark_read(*, room: Room, user, rev: int) -> dict | None:
    """Move the user's read marker forward to `rev` (never back, never past the room).

    Return the room's state for the user (revision, marker, counts), or None for someone
    who reads without being a member: there is no marker to keep for them. Every tab
    and device of the user hears of the move at once (`room.read`).
    """
    current = Room.objects.filter(pk=room.pk).values_list("rev", flat=True).first()
    if current is None:
        raise room_gone()
    rev = min(rev, current)
    moved = Membership.objects.filter(
        room=room, user=user, banned=False, last_read_rev__lt=rev
    ).update(last_read_rev=rev)
    state = selectors.member_room(user=user, room=room)
    if moved and state is not None:
        signals.room_read.send(Room, room=room, user=user, rev=rev)
        fields = ("slug", "rev", "last_read_rev", "unread", "mentions", "unread_mentions")
        read = {"room": {key: state[key] for key in fields}}
        events.emit(events.Event(events.ROOM_READ, read, events.to_users([user.pk])))
    return state
