"""Every write to the inbox, as services: check, write in one transaction, tell the
user's sockets on commit (notifications.events). Called by the receivers of chat's
signals, the HTTP API and the pages."""

from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from chat.errors import Empty, Invalid, TooLong
from chat.models import Membership, Message, MessageMention

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
    RoomNotificationSetting,
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


# --- direct conversations ------------------------------------------------------------


def direct_reason(*, author_name: str, others: list[str]) -> str:
    """Return why a message of a conversation notified someone, in words; `others` are
    the names of its people besides the author and the one notified."""
    if not others:
        return f"@{author_name} wrote to you"
    return f"@{author_name} wrote in your group with {', '.join(others)}"


@transaction.atomic
def notifications_notify_direct(*, message) -> None:
    """Notify the other people of a direct conversation of its new message, live.

    Each keeps one unread notification per conversation: the one from before is
    withdrawn (notification.removed) and a new one made (notification.new). Someone who
    muted the conversation, or wants nothing from it, is not notified; someone the
    message mentions already has its mention notification, and gets no second one.
    `message` needs `room` and `author` loaded.
    """
    room = message.room
    members = Membership.objects.filter(room_id=room.pk, banned=False, user__is_active=True)
    recipients = set(members.exclude(user_id=message.author_id).values_list("user_id", flat=True))
    if not recipients:
        return
    recipients -= selectors.silenced_user_ids(room_id=room.pk, user_ids=recipients)
    recipients -= set(
        RoomNotificationSetting.objects.filter(
            room_id=room.pk, user_id__in=recipients, muted=True
        ).values_list("user_id", flat=True)
    )
    if not recipients:
        return
    # Locked, so that one read meanwhile in another tab is not deleted behind its back.
    previous = (
        Notification.objects.select_for_update()
        .filter(room_id=room.pk, kind=Kind.DIRECT, user_id__in=recipients, read_at__isnull=True)
        .values_list("pk", "user_id")
    )
    withdrawn = defaultdict(list)
    for notification_id, user_id in previous:
        withdrawn[user_id].append(notification_id)
    if withdrawn:
        Notification.objects.filter(
            pk__in=[pk for ids in withdrawn.values() for pk in ids]
        ).delete()
        unread = selectors.unread_counts(user_ids=set(withdrawn))
        for user_id in sorted(withdrawn):
            data = {"ids": sorted(withdrawn[user_id]), "unread": unread[user_id]}
            emit_to_user(user_id, NOTIFICATION_REMOVED, data)
    mentioned = set(
        Notification.objects.filter(message=message, user_id__in=recipients).values_list(
            "user_id", flat=True
        )
    )
    recipients -= mentioned
    if not recipients:
        return
    names = _direct_names(room)
    notifications = []
    for user_id in sorted(recipients):
        notifications.append(
            Notification(
                user_id=user_id,
                kind=Kind.DIRECT,
                actor_id=message.author_id,
                room_id=room.pk,
                message=message,
                reason=_direct_reason_for(names, author_id=message.author_id, user_id=user_id),
            )
        )
    Notification.objects.bulk_create(notifications, ignore_conflicts=True)
    created = selectors.message_notifications(message_id=message.pk, user_ids=recipients)
    unread = selectors.unread_counts(user_ids=set(created))
    for user_id in sorted(created):
        data = {"notification": created[user_id], "unread": unread[user_id]}
        emit_to_user(user_id, NOTIFICATION_NEW, data)


def _direct_names(room) -> dict[int, str]:
    """Return the usernames of a conversation's people, by id."""
    people = get_user_model().objects.filter(pk__in=room.direct_user_ids())
    return dict(people.values_list("pk", "username"))


def _direct_reason_for(names: dict[int, str], *, author_id: int, user_id: int) -> str:
    """Return the reason of the notification of `user_id` of a message by `author_id`."""
    others = sorted(
        (name for person_id, name in names.items() if person_id not in (user_id, author_id)),
        key=str.casefold,
    )
    return direct_reason(author_name=names.get(author_id, ""), others=others)


@transaction.atomic
def notifications_follow_direct_deletion(*, message) -> None:
    """Keep the unread notifications of a deleted conversation message off it, live.

    Each is moved (notification.updated) to the newest message by someone else that its
    person has not read yet (above their read marker), or withdrawn (notification.removed)
    when there is none, or when that message notified them already (a mention). A
    notification already read stays, as a read mention does. `message` needs `room`.
    """
    # Locked, so that one read meanwhile in another tab is not moved behind its back.
    rows = list(
        Notification.objects.select_for_update()
        .filter(message=message, kind=Kind.DIRECT, read_at__isnull=True)
        .values_list("pk", "user_id")
    )
    if not rows:
        return
    room = message.room
    markers = dict(
        Membership.objects.filter(
            room_id=room.pk, user_id__in=[user for _, user in rows]
        ).values_list("user_id", "last_read_rev")
    )
    names = _direct_names(room)
    withdrawn, moved = {}, defaultdict(set)
    # A query or two per person: a conversation has at most eight.
    for notification_id, user_id in rows:
        newest = _newest_unread_by_others(room=room, user_id=user_id, marker=markers.get(user_id))
        told = newest is not None and (
            Notification.objects.filter(user_id=user_id, message=newest).exists()
        )
        if newest is None or told:
            withdrawn[user_id] = [notification_id]
            continue
        Notification.objects.filter(pk=notification_id).update(
            message=newest,
            actor_id=newest.author_id,
            created_at=newest.created_at,
            reason=_direct_reason_for(names, author_id=newest.author_id, user_id=user_id),
        )
        moved[newest.pk].add(user_id)
    if withdrawn:
        Notification.objects.filter(pk__in=[ids[0] for ids in withdrawn.values()]).delete()
    unread = selectors.unread_counts(user_ids={user_id for _, user_id in rows})
    for user_id in sorted(withdrawn):
        data = {"ids": withdrawn[user_id], "unread": unread[user_id]}
        emit_to_user(user_id, NOTIFICATION_REMOVED, data)
    for message_id, user_ids in moved.items():
        notifications = selectors.message_notifications(message_id=message_id, user_ids=user_ids)
        for user_id in sorted(notifications):
            data = {"notification": notifications[user_id], "unread": unread[user_id]}
            emit_to_user(user_id, NOTIFICATION_UPDATED, data)


def _newest_unread_by_others(*, room, user_id: int, marker: int | None) -> Message | None:
    """Return the newest undeleted message of the room by someone other than `user_id`
    above their read marker (None for someone no longer in the room)."""
    if marker is None:
        return None
    return (
        Message.objects.filter(room_id=room.pk, deleted_at__isnull=True, created_rev__gt=marker)
        .exclude(author_id=user_id)
        .order_by("-created_rev")
        .only("pk", "author_id", "created_at")
        .first()
    )


# --- replies -------------------------------------------------------------------------


def reply_reason(*, author_name: str, room_name: str) -> str:
    """Return why a reply notified someone, in words."""
    return f"@{author_name} replied to you in #{room_name}"


@transaction.atomic
def notifications_notify_reply(*, message, original_author_id: int) -> None:
    """Notify the author of the message `message` answers, live.

    Not when they answer themselves, are no longer a member of the room (or are banned),
    want nothing from it (level "nothing"; a mute only silences alerts, as for a mention),
    or already have a notification of the message (a mention). In a direct conversation
    every message notifies its people already (notifications_notify_direct): a reply
    adds nothing. `message` needs `room` and `author` loaded.
    """
    room = message.room
    user_id = original_author_id
    if user_id == message.author_id or room.is_direct:
        return
    member = Membership.objects.filter(
        room_id=room.pk, user_id=user_id, banned=False, user__is_active=True
    )
    if not member.exists() or selectors.silenced_user_ids(room_id=room.pk, user_ids=[user_id]):
        return
    if Notification.objects.filter(message=message, user_id=user_id).exists():
        return
    reason = reply_reason(author_name=message.author.get_username(), room_name=room.name)
    notification = Notification(
        user_id=user_id,
        kind=Kind.REPLY,
        actor_id=message.author_id,
        room_id=room.pk,
        message=message,
        reason=reason,
    )
    # A concurrent write for the same message and person keeps its row.
    Notification.objects.bulk_create([notification], ignore_conflicts=True)
    created = selectors.message_notifications(message_id=message.pk, user_ids=[user_id])
    if created.get(user_id, {}).get("kind") != Kind.REPLY:
        return
    unread = selectors.unread_counts(user_ids=[user_id])[user_id]
    data = {"notification": created[user_id], "unread": unread}
    emit_to_user(user_id, NOTIFICATION_NEW, data)


@transaction.atomic
def notifications_withdraw_reply(*, message) -> None:
    """Withdraw the unread reply notification of a deleted reply (a read one stays, as a
    read mention does)."""
    # Locked, so that one read meanwhile in another tab is not deleted behind its back.
    rows = list(
        Notification.objects.select_for_update()
        .filter(message=message, kind=Kind.REPLY, read_at__isnull=True)
        .values_list("pk", "user_id")
    )
    if not rows:
        return
    Notification.objects.filter(pk__in=[pk for pk, _user_id in rows]).delete()
    unread = selectors.unread_counts(user_ids={user_id for _pk, user_id in rows})
    for notification_id, user_id in rows:
        data = {"ids": [notification_id], "unread": unread[user_id]}
        emit_to_user(user_id, NOTIFICATION_REMOVED, data)


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
