"""Rooms: create, open, change, delete. Changes save only the fields they change (never
the revision) and tell open sockets what changed, on commit."""

from django.conf import settings
from django.db import transaction
from django.utils.text import slugify

from .. import events, policy, ratelimit, signals
from ..errors import Invalid, NotFound
from ..models import Membership, ModerationAction, Room
from ..records import room_data
from ..selectors import room_entry, room_member_ids, room_membership_now
from .log import log_action
from .members import member_joined

# Fields people see in the room page and the sidebar.
ROOM_PUBLIC_FIELDS = ("name", "topic", "is_private", "is_archived")
# Fields a room change may set: never `rev`, which only a timeline write takes.
ROOM_EDITABLE_FIELDS = ("name", "slug", "topic", "is_private", "is_archived")


# Paths under /rooms/ that are pages, not rooms (chat/urls.py routes them first).
RESERVED_SLUGS = frozenset({"directory"})


def room_gone() -> NotFound:
    return NotFound("This room no longer exists.", reason="deleted")


def _unique_slug(name: str) -> str:
    # slugify() keeps "_", which SLUG_PATTERN (and so the room URLs) refuses.
    base = slugify(name).replace("_", "-")[:40].strip("-") or "room"
    slug, counter = base, 2
    while slug in RESERVED_SLUGS or Room.objects.filter(slug=slug).exists():
        slug = f"{base}-{counter}"
        counter += 1
    return slug


def room_name_taken(name: str, *, excluding: int | None = None) -> bool:
    """Tell whether another room has this name, ignoring case."""
    rooms = Room.objects.filter(name__iexact=name.strip())
    if excluding is not None:
        rooms = rooms.exclude(pk=excluding)
    return rooms.exists()


def _take_room_token(user) -> None:
    if user.is_staff:
        return
    ratelimit.require_token(
        key=f"room-create:{user.pk}",
        capacity=settings.CHAT_RATE_ROOMS,
        period=settings.CHAT_RATE_ROOMS_PERIOD,
        refusal="You have created too many rooms lately. Try again in {wait}.",
    )


@transaction.atomic
def room_create(
    *,
    name: str,
    created_by,
    topic: str = "",
    is_private: bool = False,
    is_archived: bool = False,
    slug: str | None = None,
) -> Room:
    """Create a room (with a unique slug unless given one); its creator becomes its owner.

    People create at most CHAT_RATE_ROOMS rooms per CHAT_RATE_ROOMS_PERIOD (staff, who
    also create them from the admin, without limit); a refused name costs nothing.
    """
    name = name.strip()
    if room_name_taken(name):
        raise Invalid(f"A room called “{name}” already exists.")
    _take_room_token(created_by)
    room = Room.objects.create(
        name=name,
        slug=slug or _unique_slug(name),
        topic=topic.strip(),
        is_private=is_private,
        is_archived=is_archived,
        created_by=created_by,
    )
    Membership.objects.create(room=room, user=created_by, role=Membership.Role.OWNER)
    member_joined(room, created_by.pk)
    if not is_private:
        events.emit(events.Event(events.ROOMS_UPDATED, {"room": room_data(room)}, events.EVERYONE))
    return room


def room_open(*, slug: str, user) -> tuple[Room, policy.Access]:
    """Return a room the user may see and their access to it, in one query.

    Raise NotFound for a missing room and for a private room they may not see (the two
    look the same), with `reason` "banned" when they are banned from it.
    """
    room, membership = room_entry(slug=slug, user=user)
    if room is None:
        raise NotFound("No such room.")
    access = policy.room_access(room=room, membership=membership, user=user)
    if not access.see:
        raise NotFound("No such room.", reason="banned" if access.banned else None)
    return room, access


def _listing_audience(room: Room) -> events.Audience:
    """Who lists the room: everyone for a public room, its members for a private one."""
    if room.is_private:
        return events.to_users(room_member_ids(room_id=room.pk))
    return events.EVERYONE


_FLAG_KINDS = {
    ("is_private", True): ModerationAction.Kind.MAKE_PRIVATE,
    ("is_private", False): ModerationAction.Kind.MAKE_PUBLIC,
    ("is_archived", True): ModerationAction.Kind.ARCHIVE,
    ("is_archived", False): ModerationAction.Kind.UNARCHIVE,
}


@transaction.atomic
def room_update(*, room: Room, changes: dict, actor=None, reason: str = "") -> Room:
    """Change some of a room's settings; only those columns are written.

    Saving every field would write back a revision read before concurrent messages took
    theirs, and the room's timeline would break. Open sockets hear of the change; those
    of people who may no longer see a room made private are closed.
    """
    unknown = set(changes) - set(ROOM_EDITABLE_FIELDS)
    if unknown:
        raise Invalid(f"Not a room setting: {', '.join(sorted(unknown))}.")
    if "name" in changes and room_name_taken(changes["name"], excluding=room.pk):
        raise Invalid(f"A room called “{changes['name'].strip()}” already exists.")
    before = Room.objects.select_for_update().filter(pk=room.pk).values(*changes).first()
    if before is None:
        raise room_gone()
    changed = [name for name, value in changes.items() if before[name] != value]
    for name in changes:
        setattr(room, name, changes[name])
    if not changed:
        return room
    room.save(update_fields=changed)
    for name in changed:
        kind = _FLAG_KINDS.get((name, changes[name]))
        if kind is not None:
            log_action(room=room, actor=actor, kind=kind, reason=reason)
    if set(changed) & set(ROOM_PUBLIC_FIELDS):
        data = {"room": room_data(room)}
        events.emit(events.Event(events.ROOM_UPDATED, data, events.to_room(room.pk)))
        events.emit(events.Event(events.ROOMS_UPDATED, data, _listing_audience(room)))
    if "is_private" in changed and room.is_private:
        # Readers who are not members lose the room: their sockets re-check and close.
        data = {"room_id": room.pk, "reason": "private"}
        events.emit(events.Event(events.ROOM_ACCESS, data, events.to_room(room.pk)))
    return room


@transaction.atomic
def room_settings_change(*, room: Room, actor, changes: dict) -> Room:
    """Change a room's settings as its owner (or staff) does from its settings page."""
    membership = room_membership_now(room_id=room.pk, user=actor)
    policy.check_manage_room(policy.room_access(room=room, membership=membership, user=actor))
    return room_update(room=room, changes=changes, actor=actor)


@transaction.atomic
def room_delete(*, room: Room, actor=None, reason: str = "") -> None:
    """Delete a room with its messages; its open sockets close with "room deleted"."""
    audience = _listing_audience(room)
    # The row keeps the room's name once the deletion sets its room to NULL.
    log_action(
        room=room,
        actor=actor,
        kind=ModerationAction.Kind.DELETE_ROOM,
        reason=reason,
        detail=f"#{room.slug}",
    )
    room_id, slug, name = room.pk, room.slug, room.name
    signals.room_deleting.send(Room, room=room)
    room.delete()
    events.emit(
        events.Event(
            events.ROOM_DELETED, {"room_id": room_id, "name": name}, events.to_room(room_id)
        )
    )
    events.emit(events.Event(events.ROOMS_REMOVED, {"room": {"slug": slug}}, audience))
