"""Every write to the inbox, as services: check, write in one transaction, tell the
user's sockets on commit (notifications.events). Called by the receivers of chat's
signals, the HTTP API and the pages."""

from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from chat.errors import Empty, Invalid, TooLong
from chat.models import Membership, MessageMention

from .. import selectors
from ..events import (
    NOTIFICATION_NEW,
    NOTIFICATION_REMOVED,
    NOTIFICATION_UPDATED,
    NOTIFICATIONS_READ,
    emit_to_user,
)
from ..models import (
    Announcement,
    Notification,
)

Kind = Notification.Kind

MENTION_KINDS = {
    MessageMention.Kind.USER: Kind.MENTION,
    MessageMention.Kind.ROOM: Kind.ROOM_MENTION,
    MessageMention.Kind.HERE: Kind.HERE_MENTION,
}
MENTION_REASONS = {
    Kind.MENTION: "@{author} mentioned you in #{room}",
    Kind.ROOM_MENTION: "@{author} mentioned everyone (@room) in #{room}",
    Kind.HERE_MENTION: "@{author} mentioned @here in #{room}",
}


def mention_reason(kind: str, *, author_name: str, room_name: str) -> str:
    """Return why a mention notified someone, in words."""
    return MENTION_REASONS[kind].format(author=author_name, room=room_name)


@transaction.atomic
def notifications_update_mentions(*, message, added: dict[int, str], removed: set[int]) -> None:
    """Notify the people a message now mentions; withdraw what those it no longer
    mentions have not read yet.

    `message` needs `room` and `author` loaded. `added` maps user ids to a
    MessageMention.Kind, `removed` is a set of user ids. Someone who already has a
    notification of the message gets no second one; a notification already read stays.
    """
    # Removals first: a mention whose kind changed comes as a removal and an addition.
    withdrawn = _withdraw_unread(message=message, user_ids=removed)
    created = _notify_mentioned(message=message, added=added)
    affected = set(withdrawn) | set(created)
    if not affected:
        return
    unread = selectors.unread_counts(user_ids=affected)
    for user_id in sorted(withdrawn):
        data = {"ids": withdrawn[user_id], "unread": unread[user_id]}
        emit_to_user(user_id, NOTIFICATION_REMOVED, data)
    for user_id in sorted(created):
        data = {"notification": created[user_id], "unread": unread[user_id]}
        emit_to_user(user_id, NOTIFICATION_NEW, data)


def notifications_withdraw_room(*, room) -> None:
    """Delete every notification of a room being deleted; tell each user's sockets.

    The rows would go with the room anyway (a cascade): deleting them here, first, is
    what lets an inbox kept from events stay equal to a fresh fetch.
    """
    gone = defaultdict(list)
    for notification_id, user_id in Notification.objects.filter(room=room).values_list(
        "pk", "user_id"
    ):
        gone[user_id].append(notification_id)
    if not gone:
        return
    Notification.objects.filter(room=room).delete()
    unread = selectors.unread_counts(user_ids=set(gone))
    for user_id in sorted(gone):
        data = {"ids": sorted(gone[user_id]), "unread": unread[user_id]}
        emit_to_user(user_id, NOTIFICATION_REMOVED, data)


def _withdraw_unread(*, message, user_ids: set[int]) -> dict[int, list[int]]:
    """Delete the unread notifications of the message for `user_ids`; return their ids."""
    if not user_ids:
        return {}
    # Locked, so that one read meanwhile in another tab is not deleted behind its back.
    rows = (
        Notification.objects.select_for_update()
        .filter(message=message, user_id__in=user_ids, read_at__isnull=True)
        .values_list("pk", "user_id")
    )
    withdrawn = defaultdict(list)
    for notification_id, user_id in rows:
        withdrawn[user_id].append(notification_id)
    if withdrawn:
        ids = [notification_id for ids in withdrawn.values() for notification_id in ids]
        Notification.objects.filter(pk__in=ids).delete()
    return {user_id: sorted(ids) for user_id, ids in withdrawn.items()}


def _notify_mentioned(*, message, added: dict[int, str]) -> dict[int, dict]:
    """Create the mention notifications of the message; return the new ones by user id."""
    # Nobody is notified of their own message, whatever it says.
    added = {user_id: kind for user_id, kind in added.items() if user_id != message.author_id}
    if not added:
        return {}
    # Those who want nothing from the room are not notified; a mute only silences alerts.
    silenced = selectors.silenced_user_ids(room_id=message.room_id, user_ids=added)
    added = {user_id: kind for user_id, kind in added.items() if user_id not in silenced}
    if not added:
        return {}
    already = set(
        Notification.objects.filter(message=message, user_id__in=added).values_list(
            "user_id", flat=True
        )
    )
    fresh = {user_id: kind for user_id, kind in added.items() if user_id not in already}
    if not fresh:
        return {}
    author_name, room_name = message.author.get_username(), message.room.name
    notifications = []
    for user_id, mention_kind in fresh.items():
        kind = MENTION_KINDS[mention_kind]
        reason = mention_reason(kind, author_name=author_name, room_name=room_name)
        notifications.append(
            Notification(
                user_id=user_id,
                kind=kind,
                actor_id=message.author_id,
                room_id=message.room_id,
                message=message,
                reason=reason,
            )
        )
    # A concurrent write of the same mention keeps its row, and this one is skipped.
    Notification.objects.bulk_create(notifications, ignore_conflicts=True)
    return selectors.message_notifications(message_id=message.pk, user_ids=fresh)


@transaction.atomic
def notifications_mark_read(*, user, ids: list[int] | None = None, all: bool = False) -> int:
    """Mark some of the user's notifications read (`ids`), or all of them; return the
    unread count after.

    Ids of notifications that are not the user's, or are already read, are ignored.
    """
    if all == (ids is not None):
        raise Invalid('Say which notifications are read: "ids", or "all": true.')
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    now = timezone.now()
    if all:
        up_to = unread.aggregate(up_to=Max("pk"))["up_to"]
        # Up to the newest seen here: one that arrives meanwhile stays unread, and the
        # event tells clients exactly which were marked.
        changed = up_to is not None and unread.filter(pk__lte=up_to).update(read_at=now) > 0
        change = {"all": True, "up_to": up_to}
    else:
        marked = sorted(
            unread.select_for_update().filter(pk__in=set(ids)).values_list("pk", flat=True)
        )
        if marked:
            Notification.objects.filter(pk__in=marked).update(read_at=now)
        changed = bool(marked)
        change = {"ids": marked}
    count = selectors.unread_count(user=user)
    if changed:
        emit_to_user(user.pk, NOTIFICATIONS_READ, {**change, "unread": count})
    return count


@transaction.atomic
def notifications_mark_room_read(*, user, room, rev: int) -> list[int]:
    """Mark read the user's notifications of the room's messages created up to `rev`
    (their new read marker); return the ids marked."""
    rows = Notification.objects.filter(
        user=user, room=room, read_at__isnull=True, message__created_rev__lte=rev
    )
    # Only the notifications are locked, never the messages they join.
    marked = sorted(rows.select_for_update(of=("self",)).values_list("pk", flat=True))
    if marked:
        Notification.objects.filter(pk__in=marked).update(read_at=timezone.now())
        count = selectors.unread_count(user=user)
        emit_to_user(user.pk, NOTIFICATIONS_READ, {"ids": marked, "unread": count})
    return marked


# --- invitations ---------------------------------------------------------------------


def invitation_reason(*, inviter_name: str | None, room_name: str) -> str:
    """Return why an invitation notified someone, in words."""
    if inviter_name is None:
        return f"You were invited to #{room_name}"
    return f"@{inviter_name} invited you to #{room_name}"


@transaction.atomic
def notifications_update_invitation(*, invitation, change: str) -> None:
    """Keep the invitee's notification of an invitation in step with it, live.

    "created" notifies the invitee; "accepted" and "declined" mark the notification
    read and show the answer; "revoked" withdraws it. `invitation` needs `room`,
    `inviter` and `invitee` loaded.
    """
    user_id = invitation.invitee_id
    if change == "created":
        inviter = invitation.inviter
        Notification.objects.create(
            user_id=user_id,
            kind=Kind.INVITATION,
            actor=inviter,
            room=invitation.room,
            invitation=invitation,
            reason=invitation_reason(
                inviter_name=None if inviter is None else inviter.get_username(),
                room_name=invitation.room.name,
            ),
        )
        kind = NOTIFICATION_NEW
    elif change == "revoked":
        rows = Notification.objects.filter(invitation=invitation)
        ids = sorted(rows.values_list("pk", flat=True))
        if not ids:
            return
        rows.delete()
        data = {"ids": ids, "unread": selectors.unread_count(user=invitation.invitee)}
        emit_to_user(user_id, NOTIFICATION_REMOVED, data)
        return
    else:
        Notification.objects.filter(invitation=invitation, read_at__isnull=True).update(
            read_at=timezone.now()
        )
        kind = NOTIFICATION_UPDATED
    unread = selectors.unread_count(user=invitation.invitee)
    for notification in selectors.invitation_notifications(invitation_id=invitation.pk).values():
        emit_to_user(user_id, kind, {"notification": notification, "unread": unread})


ANNOUNCEMENT_MAX = 1000


@transaction.atomic
def announcement_publish(*, author, body: str, room=None) -> Announcement:
    """Announce to everyone, or to one room's members: each gets a notification, live.

    The author is not notified. Everyone means every active account, so each of them
    gets an event of their own (their unread count differs): announcing to everyone
    costs one notification row and one event per account.
    """
    body = body.strip() if isinstance(body, str) else body
    if not isinstance(body, str):
        raise Invalid("The announcement must be text.")
    if not body:
        raise Empty("The announcement is empty.")
    if len(body) > ANNOUNCEMENT_MAX:
        raise TooLong(f"Announcements are limited to {ANNOUNCEMENT_MAX} characters.")
    announcement = Announcement.objects.create(author=author, room=room, body=body)
    if room is None:
        recipients = get_user_model().objects.filter(is_active=True).values_list("pk", flat=True)
        reason = f"@{author.get_username()} announced to everyone"
    else:
        members = Membership.objects.filter(room=room, banned=False, user__is_active=True)
        recipients = members.values_list("user_id", flat=True)
        reason = f"@{author.get_username()} announced in #{room.name}"
    user_ids = [user_id for user_id in recipients if user_id != author.pk]
    Notification.objects.bulk_create(
        (
            Notification(
                user_id=user_id,
                kind=Kind.ANNOUNCEMENT,
                actor=author,
                room=room,
                announcement=announcement,
                reason=reason,
            )
            for user_id in user_ids
        ),
        batch_size=1000,
    )
    created = selectors.announcement_notifications(announcement_id=announcement.pk)
    unread = selectors.unread_counts(user_ids=list(created))
    for user_id in sorted(created):
        data = {"notification": created[user_id], "unread": unread[user_id]}
        emit_to_user(user_id, NOTIFICATION_NEW, data)
    return announcement


# --- preferences ---------------------------------------------------------------------
