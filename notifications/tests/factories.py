"""Helpers that make notifications for the tests, and send chat's signals as chat will."""

from django.utils import timezone

from chat.models import Message, Room
from chat.signals import mentions_changed, room_read
from notifications.models import Notification


def make_notification(
    user,
    *,
    kind: str = Notification.Kind.ANNOUNCEMENT,
    reason: str = "Something happened",
    actor=None,
    room=None,
    message=None,
    read: bool = False,
) -> Notification:
    """Store a notification directly (no service, so no event)."""
    return Notification.objects.create(
        user=user,
        kind=kind,
        reason=reason,
        actor=actor,
        room=room,
        message=message,
        read_at=timezone.now() if read else None,
    )


def send_mentions_changed(message: Message, *, added=None, removed=None) -> None:
    """Send chat's mentions_changed signal as a message's send, edit or deletion does."""
    mentions_changed.send(
        sender=Message, message=message, added=added or {}, removed=removed or set()
    )


def send_room_read(room: Room, user, rev: int) -> None:
    """Send chat's room_read signal as a read marker moving forward does."""
    room_read.send(sender=Room, room=room, user=user, rev=rev)
