"""Every write to chat data, as services: validate, write in one transaction, emit events
on commit (chat.events). They raise chat.errors and return models or plain records;
transports (socket, HTTP API, admin) map both."""

from ..validation import clean_body
from .accounts import bot_create, user_deactivate, user_login_changed
from .direct import direct_open
from .invitations import (
    invitation_accept,
    invitation_create,
    invitation_decline,
    invitation_revoke,
    invite_link_create,
    invite_link_follow,
    invite_link_revoke,
)
from .members import (
    member_add,
    member_ban,
    member_change,
    member_join,
    member_leave,
    member_mute,
    member_remove,
    member_set_role,
    member_unban,
    member_unmute,
    user_by_name,
)
from .messages import message_delete, message_edit, message_send
from .profiles import profile_update
from .reactions import reaction_set
from .reading import room_mark_read
from .rooms import (
    ROOM_PUBLIC_FIELDS,
    room_create,
    room_delete,
    room_name_taken,
    room_open,
    room_settings_change,
    room_update,
)

__all__ = [
    "ROOM_PUBLIC_FIELDS",
    "bot_create",
    "clean_body",
    "direct_open",
    "invitation_accept",
    "invitation_create",
    "invitation_decline",
    "invitation_revoke",
    "invite_link_create",
    "invite_link_follow",
    "invite_link_revoke",
    "member_add",
    "member_ban",
    "member_change",
    "member_join",
    "member_leave",
    "member_mute",
    "member_remove",
    "member_set_role",
    "member_unban",
    "member_unmute",
    "message_delete",
    "message_edit",
    "message_send",
    "profile_update",
    "reaction_set",
    "room_create",
    "room_delete",
    "room_mark_read",
    "room_name_taken",
    "room_open",
    "room_settings_change",
    "room_update",
    "user_by_name",
    "user_deactivate",
    "user_login_changed",
]
