"""Every write of the notifications app, as services: the inbox (inbox.py) and
notification preferences (preferences.py)."""

from .inbox import (
    ANNOUNCEMENT_MAX,
    MENTION_KINDS,
    MENTION_REASONS,
    announcement_publish,
    direct_reason,
    invitation_reason,
    mention_reason,
    notifications_follow_direct_deletion,
    notifications_mark_read,
    notifications_mark_room_read,
    notifications_notify_direct,
    notifications_notify_reply,
    notifications_update_invitation,
    notifications_update_mentions,
    notifications_withdraw_reply,
    notifications_withdraw_room,
    reply_reason,
)
from .preferences import (
    defaults_set,
    room_notify_set,
)

__all__ = [
    "ANNOUNCEMENT_MAX",
    "MENTION_KINDS",
    "MENTION_REASONS",
    "announcement_publish",
    "defaults_set",
    "direct_reason",
    "invitation_reason",
    "mention_reason",
    "notifications_follow_direct_deletion",
    "notifications_mark_read",
    "notifications_mark_room_read",
    "notifications_notify_direct",
    "notifications_notify_reply",
    "notifications_update_invitation",
    "notifications_update_mentions",
    "notifications_withdraw_reply",
    "notifications_withdraw_room",
    "reply_reason",
    "room_notify_set",
]
