"""Every read of notifications and notification preferences. Functions return plain
records or numbers, never querysets that could be evaluated later on an event loop."""

from django.contrib.auth import get_user_model
from django.db.models import Count, FilteredRelation, Q, Subquery

from chat.models import Room

from .models import Level, Notification, NotificationDefaults, RoomNotificationSetting
from .records import NOTIFICATION_FIELDS, notification_row_data

PAGE_SIZE = 50


def notification_page(*, user, before: int | None = None, limit: int = PAGE_SIZE) -> dict:
    """Return a page of the user's notifications, newest first, and their unread count.

    The page holds those older than notification `before` (the newest without it);
    `has_more` tells whether older ones remain. Two queries, whatever the page's size.
    """
    rows = Notification.objects.filter(user=user).order_by("-id")
    if before is not None:
        rows = rows.filter(pk__lt=before)
    # One row more than asked says whether there is more, without a count.
    page = list(rows.values_list(*NOTIFICATION_FIELDS)[: limit + 1])
    return {
        "notifications": [notification_row_data(row) for row in page[:limit]],
        "has_more": len(page) > limit,
        "unread": unread_count(user=user),
    }


# The newest notifications a tab's hello carries (the bell shows ten; older ones load
# by page): bounded so that the hello fits one frame however long they are.
HELLO_INBOX_SIZE = 20


def hello_inbox(*, user) -> dict:
    """Return the inbox part of a tab's hello: the newest page and the unread count."""
    return notification_page(user=user, limit=HELLO_INBOX_SIZE)


def unread_count(*, user) -> int:
    """Return how many of the user's notifications are unread."""
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def unread_counts(*, user_ids) -> dict[int, int]:
    """Return the unread count of each of `user_ids`, in one query."""
    counted = (
        Notification.objects.filter(user_id__in=user_ids, read_at__isnull=True)
        .order_by()
        .values_list("user_id")
        .annotate(count=Count("pk"))
    )
    counts = dict.fromkeys(user_ids, 0)
    counts.update(counted)
    return counts


def message_notifications(*, message_id: int, user_ids) -> dict[int, dict]:
    """Return the notifications of a message for each of `user_ids` that has one."""
    return _by_user(Notification.objects.filter(message_id=message_id, user_id__in=user_ids))


def invitation_notifications(*, invitation_id: int) -> dict[int, dict]:
    """Return the notifications of an invitation (its invitee's), by user id."""
    return _by_user(Notification.objects.filter(invitation_id=invitation_id))


def announcement_notifications(*, announcement_id: int) -> dict[int, dict]:
    """Return the notifications an announcement made, by user id, in one query."""
    return _by_user(Notification.objects.filter(announcement_id=announcement_id))


def _by_user(notifications) -> dict[int, dict]:
    rows = notifications.values_list("user_id", *NOTIFICATION_FIELDS)
    return {user_id: notification_row_data(row) for user_id, *row in rows}


# --- preferences ---------------------------------------------------------------------

RoomLevel = RoomNotificationSetting.RoomLevel
# What a user who never chose gets (NotificationDefaults' field defaults).
DEFAULT_LEVEL = NotificationDefaults._meta.get_field("level").default
DEFAULT_DESKTOP = NotificationDefaults._meta.get_field("desktop").default


def defaults_for(*, user) -> dict:
    """Return the user's notification defaults: {"level", "desktop"}."""
    row = NotificationDefaults.objects.filter(user=user).values_list("level", "desktop").first()
    level, desktop = row or (DEFAULT_LEVEL, DEFAULT_DESKTOP)
    return {"level": level, "desktop": desktop}


def notify_data(*, own_level: str | None, muted: bool, default_level: str) -> dict:
    """Return a room's notify record from the user's setting of it (None: no setting).

    `custom` tells whether the level is the room's own rather than the user's default.
    """
    custom = own_level not in (None, RoomLevel.DEFAULT)
    return {"level": own_level if custom else default_level, "muted": bool(muted), "custom": custom}


def room_notify(*, user, room_ids=None) -> dict[int, dict]:
    """Return {room id: notify record} for the rooms `room_ids`, or for every room the
    user is a member of, in one query whatever their number."""
    notify = {room_id: record for room_id, _slug, _name, record in _notify_rows(user, room_ids)}
    missing = [] if room_ids is None else [pk for pk in room_ids if pk not in notify]
    if missing:  # rooms deleted meanwhile: whoever asked still gets a record for each
        level = defaults_for(user=user)["level"]
        for room_id in missing:
            notify[room_id] = notify_data(own_level=None, muted=False, default_level=level)
    return notify


def preference_rooms(*, user) -> list[dict]:
    """Return the user's member rooms by name, each {"slug", "name", "notify"}."""
    rows = sorted(_notify_rows(user), key=lambda row: (row[2].casefold(), row[1]))
    return [{"slug": slug, "name": name, "notify": notify} for _id, slug, name, notify in rows]


def _notify_rows(user, room_ids=None) -> list[tuple[int, str, str, dict]]:
    """Return (room id, slug, name, notify record) of the rooms, in one query.

    The user's setting of each room is a left join; their default level comes along in
    a subquery that does not depend on the room.
    """
    if room_ids is None:
        rooms = Room.objects.filter(memberships__user=user, memberships__banned=False)
    else:
        rooms = Room.objects.filter(pk__in=room_ids)
    default = NotificationDefaults.objects.filter(user=user).values("level")[:1]
    rows = (
        rooms.annotate(
            own=FilteredRelation(
                "notification_settings", condition=Q(notification_settings__user=user)
            ),
            default_level=Subquery(default),
        )
        .order_by()
        .values_list("pk", "slug", "name", "own__level", "own__muted", "default_level")
    )
    return [
        (
            room_id,
            slug,
            name,
            notify_data(own_level=level, muted=muted, default_level=default or DEFAULT_LEVEL),
        )
        for room_id, slug, name, level, muted, default in rows
    ]


def silenced_user_ids(*, room_id: int, user_ids) -> set[int]:
    """Return which of `user_ids` want nothing from the room (their level there is
    "nothing", their own or by default), in one query."""
    users = (
        get_user_model()
        .objects.filter(pk__in=user_ids)
        .annotate(
            own=FilteredRelation(
                "room_notification_settings",
                condition=Q(room_notification_settings__room_id=room_id),
            )
        )
    )
    inherits = Q(own__level__isnull=True) | Q(own__level=RoomLevel.DEFAULT)
    silenced = Q(own__level=Level.NOTHING) | (
        inherits & Q(notification_defaults__level=Level.NOTHING)
    )
    return set(users.filter(silenced).values_list("pk", flat=True))
