"""Every write to chat data. Each service validates, writes in one transaction,
then notifies open sockets after commit, so a rolled-back write reaches no one."""

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from . import ratelimit
from .fanout import publish
from .models import Membership, Message, Room
from .protocol import (
    FORBIDDEN,
    NOT_FOUND,
    RATE_LIMITED,
    ROOM_ARCHIVED,
    ProtocolError,
    clean_body,
    frame_event,
    message_data,
    room_data,
    room_group_name,
    user_group_name,
)
from .selectors import room_entry, room_is_open_to, room_membership

# --- broadcasting ---------------------------------------------------------------


def room_broadcast(*, room_id: int, frame: dict, **routing) -> None:
    """Send a frame to every socket in a room once the current transaction commits."""
    event = frame_event(frame, room_id=room_id, **routing)
    group = room_group_name(room_id)
    transaction.on_commit(lambda: publish(group, event))


def user_login_changed(*, user_id: int, ended_session_key: str | None = None) -> None:
    """Make the user's open sockets check, after commit, that they are still signed in.

    A socket opened with `ended_session_key` (a logout) closes without checking.
    """
    event = {"type": "chat.session_check", "ended_session": ended_session_key}
    group = user_group_name(user_id)
    transaction.on_commit(lambda: publish(group, event))


# --- rooms ------------------------------------------------------------------------


def _unique_slug(name: str) -> str:
    # slugify() keeps "_", which SLUG_PATTERN (and so the room URLs) refuses.
    base = slugify(name).replace("_", "-")[:40].strip("-") or "room"
    slug, counter = base, 2
    while Room.objects.filter(slug=slug).exists():
        slug = f"{base}-{counter}"
        counter += 1
    return slug


@transaction.atomic
def room_create(*, name: str, created_by, topic: str = "", is_private: bool = False) -> Room:
    """Create a room with a unique slug; its creator becomes its owner."""
    room = Room.objects.create(
        name=name.strip(),
        slug=_unique_slug(name),
        topic=topic.strip(),
        is_private=is_private,
        created_by=created_by,
    )
    Membership.objects.create(room=room, user=created_by, role=Membership.Role.OWNER)
    return room


ROOM_PUBLIC_FIELDS = ("name", "topic", "is_private", "is_archived")


@transaction.atomic
def room_save(*, room: Room, changed_fields: list[str]) -> Room:
    """Save a room edited by staff; tell its open sockets when what they show changed."""
    room.save()
    if set(changed_fields) & set(ROOM_PUBLIC_FIELDS):
        room_broadcast(room_id=room.pk, frame={"type": "room.updated", "room": room_data(room)})
    return room


def room_enter(*, room: Room, user) -> bool:
    """Let a user into a room if allowed, making them a member of a public room.

    Return False for a private room they don't belong to or a room they are banned from.
    """
    return _let_in(room=room, user=user, membership=room_membership(room=room, user=user))


def room_enter_slug(*, slug: str, user) -> tuple[Room | None, bool]:
    """Find a room by slug and let the user in as room_enter does: (room, allowed).

    The room is None when no room has this slug. One query for a member (room_entry).
    """
    room, membership = room_entry(slug=slug, user=user)
    if room is None:
        return None, False
    return room, _let_in(room=room, user=user, membership=membership)


def _let_in(*, room: Room, user, membership: Membership | None) -> bool:
    if not room_is_open_to(room=room, membership=membership):
        return False
    if membership is None:
        Membership.objects.get_or_create(room=room, user=user)
    return True


def _quoted(model, *columns: str) -> tuple[str, ...]:
    return tuple(connection.ops.quote_name(name) for name in (model._meta.db_table, *columns))


# Identifiers from the models' metadata, quoted; every value is a query parameter.
_TAKE_REV_SQL = "UPDATE {0} SET {1} = {1} + 1, {2} = %s WHERE {3} = %s RETURNING {1}, {4}".format(  # noqa: S608
    *_quoted(Room, "rev", "last_activity_at", "id", "is_archived")
)
_CLIENT_ID_SQL = "SELECT {1} FROM {0} WHERE {2} = %s AND {3} = %s AND {4} = %s".format(  # noqa: S608
    *_quoted(Message, "id", "room_id", "author_id", "client_id")
)


def _can_update_returning() -> bool:
    # The feature Django reports for INSERT ... RETURNING; UPDATE ... RETURNING came in
    # the same SQLite release (3.35), and PostgreSQL has both.
    return connection.features.can_return_columns_from_insert


def _next_rev(room: Room, *, client_id: str | None = None) -> int:
    """Take the room's next revision; the row stays locked until the transaction ends.

    Refuse (and so roll back) when the room is archived: the flag is read under the
    lock, not from a copy that may be stale.
    """
    now = timezone.now()
    if _can_update_returning():
        # One statement instead of two: this runs for every message stored.
        with connection.cursor() as cursor:
            cursor.execute(_TAKE_REV_SQL, [connection.ops.adapt_datetimefield_value(now), room.pk])
            row = cursor.fetchone()
        if row is None:
            raise Room.DoesNotExist
        rev, is_archived = row
    else:
        Room.objects.filter(pk=room.pk).update(rev=F("rev") + 1, last_activity_at=now)
        rev, is_archived = Room.objects.filter(pk=room.pk).values_list("rev", "is_archived").get()
    if is_archived:
        raise ProtocolError(ROOM_ARCHIVED, "This room is archived.", client_id=client_id)
    room.rev, room.last_activity_at = rev, now
    return rev


# --- messages ---------------------------------------------------------------------


def _existing_by_client_id(*, room: Room, author, client_id: str | None) -> Message | None:
    if client_id is None:
        return None
    # Asked before every send: a bare indexed lookup, the full row only for a repeat.
    with connection.cursor() as cursor:
        cursor.execute(_CLIENT_ID_SQL, [room.pk, author.pk, client_id])
        found = cursor.fetchone()
    if found is None:
        return None
    return Message.objects.select_related("author").get(pk=found[0])


def message_send(
    *, room: Room, author, body: str, client_id: str | None = None, origin_channel: str = ""
) -> tuple[dict, bool]:
    """Store a message and broadcast `message.new`; return (message, created).

    A repeated `client_id` stores nothing and returns the message already stored.
    """
    body = clean_body(body, client_id=client_id)
    existing = _existing_by_client_id(room=room, author=author, client_id=client_id)
    if existing is not None:
        return message_data(existing, room_slug=room.slug), False
    retry_after = ratelimit.take_token(
        key=f"send:{author.pk}:{room.pk}",
        capacity=settings.CHAT_RATE_MESSAGES,
        period=settings.CHAT_RATE_PERIOD,
    )
    if retry_after:
        raise ProtocolError(
            RATE_LIMITED,
            "You are sending messages too fast.",
            client_id=client_id,
            retry_after=retry_after,
        )
    try:
        with transaction.atomic():
            rev = _next_rev(room, client_id=client_id)
            message = Message.objects.create(
                room=room, author=author, body=body, client_id=client_id, rev=rev
            )
            data = message_data(message, room_slug=room.slug)
            room_broadcast(
                room_id=room.pk,
                frame={"type": "message.new", "message": data},
                origin_channel=origin_channel,
            )
    except IntegrityError:
        # A concurrent send with the same client_id won the race: answer with its row.
        existing = _existing_by_client_id(room=room, author=author, client_id=client_id)
        if existing is None:
            raise
        return message_data(existing, room_slug=room.slug), False
    return data, True


def _message_for_change(*, room: Room, message_id: int) -> Message:
    message = (
        Message.objects.select_related("author")
        .select_for_update()
        .filter(room=room, pk=message_id, deleted_at__isnull=True)
        .first()
    )
    if message is None:
        raise ProtocolError(NOT_FOUND, "No such message in this room.")
    return message


def _save_change(
    message: Message, *, room: Room, fields: list[str], event: str, origin_channel: str
) -> dict:
    """Save a changed message under the room's next revision and broadcast `event`."""
    message.rev = _next_rev(room)
    message.save(update_fields=[*fields, "rev"])
    data = message_data(message, room_slug=room.slug)
    room_broadcast(
        room_id=room.pk, frame={"type": event, "message": data}, origin_channel=origin_channel
    )
    return data


@transaction.atomic
def message_edit(*, room: Room, user, message_id: int, body: str, origin_channel: str = "") -> dict:
    """Change a message's body (author only) and broadcast `message.updated`."""
    body = clean_body(body)
    message = _message_for_change(room=room, message_id=message_id)
    if message.author_id != user.pk:
        raise ProtocolError(FORBIDDEN, "Only the author can edit a message.")
    if message.body == body:
        return message_data(message, room_slug=room.slug)
    message.body = body
    message.edited_at = timezone.now()
    return _save_change(
        message,
        room=room,
        fields=["body", "edited_at"],
        event="message.updated",
        origin_channel=origin_channel,
    )


@transaction.atomic
def message_delete(*, room: Room, user, message_id: int, origin_channel: str = "") -> dict:
    """Soft-delete a message (author or staff) and broadcast `message.deleted`."""
    message = _message_for_change(room=room, message_id=message_id)
    if message.author_id != user.pk and not user.is_staff:
        raise ProtocolError(FORBIDDEN, "Only the author or staff can delete a message.")
    message.deleted_at = timezone.now()
    return _save_change(
        message,
        room=room,
        fields=["deleted_at"],
        event="message.deleted",
        origin_channel=origin_channel,
    )
