"""Reactions: one person's emoji on a message, added or taken back.

A reaction is part of its message's state: a change takes the room's next revision and
becomes the message's `rev`, as an edit does, so catch-up (`messages_since`) brings it
to a client that was away; its event, `message.reactions`, carries the whole message.
It is never news: no unread count, no mention, no notification.
"""

from django.db import transaction

from .. import events, policy
from ..errors import TooManyReactions
from ..models import Message, Reaction, Room
from ..records import message_data
from ..validation import clean_emoji
from .messages import _message_for_change, _save_change, _take_send_token, _write_access

# The most different emoji one message may carry; anyone may still add one already there.
REACTIONS_MAX = 20


def reaction_set(
    *, room: Room, user, message_id: int, emoji: str, on: bool, origin_channel: str = ""
) -> dict:
    """Add (`on`) or take back the user's `emoji` on a message; return the message.

    Idempotent: adding a reaction already there, or taking back one that is not, changes
    nothing, takes no revision and emits nothing. Reacting is posting (a muted member, an
    archived room, a deleted message: refused as an edit is), and shares its rate limit;
    a reader of a public room may react without becoming a member.
    """
    emoji = clean_emoji(emoji)
    _take_send_token(user=user, room=room)
    with transaction.atomic():
        access, _membership = _write_access(room, user)
        policy.check_post(access)
        # Locks the message's row: two reactions to it are decided one after the other.
        message = _message_for_change(room=room, message_id=message_id)
        changed = _add(message, user, emoji) if on else _remove(message, user, emoji)
        if not changed:
            data = message_data(message, room_slug=room.slug)
            transaction.set_rollback(True)  # gives the revision back: nothing changed
            return data
        return _save_change(
            message, room=room, fields=[], kind=events.MESSAGE_REACTIONS, origin=origin_channel
        )


def _add(message: Message, user, emoji: str) -> bool:
    reactions = Reaction.objects.filter(message=message)
    if reactions.filter(user=user, emoji=emoji).exists():
        return False
    emojis = set(reactions.order_by().values_list("emoji", flat=True).distinct())
    if emoji not in emojis and len(emojis) >= REACTIONS_MAX:
        raise TooManyReactions(
            f"A message can have at most {REACTIONS_MAX} different reactions;"
            " add one of those already there."
        )
    Reaction.objects.create(message=message, user=user, emoji=emoji)
    return True


def _remove(message: Message, user, emoji: str) -> bool:
    deleted, _by_model = Reaction.objects.filter(message=message, user=user, emoji=emoji).delete()
    return deleted > 0
