"""Every read of notifications. Functions return plain records or numbers, never
querysets that could be evaluated later on an event loop."""

from django.db.models import Count

from .models import Notification
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


def announcement_notifications(*, announcement_id: int) -> dict[int, dict]:
    """Return the notifications an announcement made, by user id, in one query."""
    return _by_user(Notification.objects.filter(announcement_id=announcement_id))


def _by_user(notifications) -> dict[int, dict]:
    rows = notifications.values_list("user_id", *NOTIFICATION_FIELDS)
    return {user_id: notification_row_data(row) for user_id, *row in rows}
