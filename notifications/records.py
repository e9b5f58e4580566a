"""Notifications as plain records: what the API answers and what events carry."""

from chat.records import format_time, user_data

# The fields of a Notification object, in the order of notification_row_data's row: a
# query's values_list(*NOTIFICATION_FIELDS) reads them, and the room, the message and the
# actor, in one query without building model instances.
NOTIFICATION_FIELDS = (
    "id",
    "kind",
    "reason",
    "created_at",
    "read_at",
    "room__slug",
    "room__name",
    "room__kind",
    "message_id",
    "message__created_rev",
    "actor_id",
    "actor__username",
    "actor__profile__display_name",
    "announcement__body",
    "invitation_id",
    "invitation__status",
)


def notification_row_data(row: tuple) -> dict:
    """Return the API's Notification object from a row of NOTIFICATION_FIELDS."""
    (notification_id, kind, reason, created_at, read_at, room_slug, room_name, room_kind,
     message_id, message_created_rev, actor_id, actor_username, actor_name, text, invitation_id,
     invitation_status) = row  # fmt: skip
    return {
        "id": notification_id,
        "kind": kind,
        "reason": reason,
        # `kind` "direct": a conversation, which pages name by its people, not its name.
        "room": None
        if room_slug is None
        else {"slug": room_slug, "name": room_name, "kind": room_kind},
        # Enough to open the room at the message, and to tell whether a read marker has
        # passed it: its id and the revision it was created at (never changed after).
        "message": None
        if message_id is None
        else {"id": message_id, "created_rev": message_created_rev},
        "actor": None if actor_id is None else user_data(actor_id, actor_username, actor_name),
        "created_at": format_time(created_at),
        "read": read_at is not None,
        # What an announcement says (null for the other kinds).
        "text": text,
        # An invitation's id and status ("pending", "accepted", ...): null for other kinds.
        "invitation": None
        if invitation_id is None
        else {"id": invitation_id, "status": invitation_status},
    }
