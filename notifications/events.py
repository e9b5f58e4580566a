"""The events the inbox sends, each to one user's sockets, on commit (chat.events).

Every inbox event carries `unread`, the user's count of unread notifications once the
write is done, so a client never counts for itself. notifications.state.apply_event is
how a client applies them; chat.snapshot applies preference changes to the room list.
"""

from chat import events

# A notification arrived: {"notification": <Notification object>, "unread": N}.
NOTIFICATION_NEW = "notification.new"
# Notifications were withdrawn (a mention edited away before it was read):
# {"ids": [...], "unread": N}.
NOTIFICATION_REMOVED = "notification.removed"
# A notification changed other than by being read (an invitation was answered: it is
# read and its status changed): {"notification": <Notification object>, "unread": N}.
# A client replaces the one it holds, if it holds it.
NOTIFICATION_UPDATED = "notification.updated"
# Notifications were read: {"ids": [...], "unread": N}, or, for "mark all read",
# {"all": true, "up_to": <the highest id marked>, "unread": N}.
NOTIFICATIONS_READ = "notifications.read"
# Notification preferences changed: {"defaults": {"level", "desktop"}, "rooms":
# [{"slug", "notify": {"level", "muted", "custom"}}]}, listing every room whose
# effective setting changed. It carries no `unread`: the inbox is unchanged.
PREFERENCES_UPDATED = "preferences.updated"


def emit_to_user(user_id: int, kind: str, data: dict) -> None:
    """Send an event to the user's sockets once the current transaction commits."""
    events.emit(events.Event(kind, data, events.to_users([user_id])))
