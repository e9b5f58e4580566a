"""Reads of attachments: a file for the person fetching it, by the one access rule."""

from .. import policy
from ..errors import Forbidden, NotFound
from ..models import Attachment
from . import room_membership_now


def attachment_for_reader(*, attachment_id: int, user) -> Attachment:
    """Return an attachment the user may fetch now: one of a message of a room they may
    read, or moderate (an upload not sent yet: its uploader's alone).

    NotFound for none (or one whose message was deleted: its files went with it);
    Forbidden for a file of a room the user may not read, now.
    """
    attachment = (
        Attachment.objects.select_related("room", "message").filter(pk=attachment_id).first()
    )
    if attachment is None or (attachment.message is not None and attachment.message.is_deleted):
        raise NotFound("No such file.")
    if attachment.message is None:
        if attachment.uploader_id != user.pk:
            raise Forbidden("This file has not been shared.")
        return attachment
    membership = room_membership_now(room_id=attachment.room_id, user=user)
    access = policy.room_access(room=attachment.room, membership=membership, user=user)
    # Staff moderate every room: the admin shows them any message, and so its files.
    if not (access.see or access.moderate):
        raise Forbidden("Only people who can read this room can open its files.")
    return attachment
