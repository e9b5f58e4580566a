"""How a client keeps its inbox current: the reference the browser client follows.

A client fetches a snapshot (`GET /api/notifications/`: the newest page and the unread
count), then applies every inbox event that reaches the user's sockets, in the order
they arrive, with `apply_event`. The result is what a fresh fetch would answer. The tests
hold the server to that (notifications/tests/test_api.py).
"""

from chat import events as chat_events

from .events import (
    NOTIFICATION_NEW,
    NOTIFICATION_REMOVED,
    NOTIFICATION_UPDATED,
    NOTIFICATIONS_READ,
)

# A room's name changed: the room's own event, and the listing's.
ROOM_RENAMED = (chat_events.ROOM_UPDATED, chat_events.ROOMS_UPDATED)


def apply_event(snapshot: dict, kind: str, data: dict) -> dict:
    """Return the inbox `snapshot` ({"notifications": [...], "unread": N}) after an event.

    `unread` is always taken from the event: a client never counts for itself. Kinds it
    does not know leave the snapshot as it is.
    """
    notifications = snapshot["notifications"]
    if kind == NOTIFICATION_NEW:
        new = data["notification"]
        # The same notification may arrive twice (two writers raced): keep one, and
        # keep the list newest first even if events arrive out of order.
        others = [item for item in notifications if item["id"] != new["id"]]
        notifications = sorted([new, *others], key=lambda item: item["id"], reverse=True)
    elif kind == NOTIFICATION_UPDATED:
        changed = data["notification"]
        notifications = [changed if item["id"] == changed["id"] else item for item in notifications]
    elif kind == NOTIFICATION_REMOVED:
        gone = set(data["ids"])
        notifications = [item for item in notifications if item["id"] not in gone]
    elif kind in ROOM_RENAMED:
        # The inbox names rooms as they are now (a notification's reason keeps the old).
        room = data["room"]
        notifications = [
            {**item, "room": {**item["room"], "name": room["name"]}}
            if item["room"] is not None and item["room"]["slug"] == room["slug"]
            else item
            for item in notifications
        ]
        return {**snapshot, "notifications": notifications}
    elif kind == NOTIFICATIONS_READ:
        notifications = [
            {**item, "read": True} if _is_marked(item["id"], data) else item
            for item in notifications
        ]
    else:
        return snapshot
    return {**snapshot, "notifications": notifications, "unread": data["unread"]}


def _is_marked(notification_id: int, data: dict) -> bool:
    if data.get("all"):
        return data["up_to"] is not None and notification_id <= data["up_to"]
    return notification_id in data["ids"]
