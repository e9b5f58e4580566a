"""The inbox's notifications of conversations: every message of a direct conversation,
and replies; each follows its message when it is deleted."""

from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db import transaction

from chat.models import Membership, Message

from .. import selectors
from ..events import (
    NOTIFICATION_NEW,
    NOTIFICATION_REMOVED,
    NOTIFICATION_UPDATED,
    emit_to_user,
)
from ..models import (
    Notification,
    RoomNotificationSetting,
)

Kind = Notification.Kind


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
