"""Every write of the notifications app, as services: the inbox (inbox.py), its
notifications of conversations (conversations.py: direct messages and replies) and
notification preferences (preferences.py)."""

from .conversations import (
    direct_reason,
    notifications_follow_direct_deletion,
    notifications_notify_direct,
    notifications_notify_reply,
    notifications_withdraw_reply,
    reply_reason,
)
from .inbox import (
    ANNOUNCEMENT_MAX,
    MENTION_KINDS,
    MENTION_REASONS,
    announcement_publish,
    invitation_reason,
    mention_reason,
    notifications_mark_read,
    notifications_mark_room_read,
    notifications_update_invitation,
    notifications_update_mentions,
    notifications_withdraw_room,
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
