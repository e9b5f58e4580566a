"""What other apps may hook into, sent inside the write's transaction.

Receivers write in the same transaction (so a notification is never lost nor left
behind by a rolled-back message) and emit their own events on commit.
"""

from django.dispatch import Signal

# A message's mentions changed: it was sent (`added` is everyone it mentions), edited
# (`added` and `removed` differ from before), or deleted (`removed` is everyone).
# Arguments: message (with room and author), added: dict[user id, MessageMention.Kind],
# removed: set[user id].
mentions_changed = Signal()

# A member's read marker moved forward. Arguments: room, user, rev (the new marker).
room_read = Signal()

# A room is about to be deleted, with everything in it, in this transaction. Arguments:
# room.
room_deleting = Signal()

# An invitation was created, accepted, declined or revoked (in this transaction).
# Arguments: invitation (with room, inviter and invitee), change: one of "created",
# "accepted", "declined", "revoked".
invitation_changed = Signal()

# A message was sent in a direct conversation (in this transaction, after its mentions).
# Arguments: message (with room and author).
direct_message_sent = Signal()

# A message was deleted (in this transaction, after its mentions were withdrawn and its
# `deleted_at` saved). Arguments: message (with room and author).
message_deleted = Signal()

# A reply was sent (in this transaction, after its mentions and, in a conversation,
# direct_message_sent). Arguments: message (with room and author), original (the message
# it answers, with its author).
reply_sent = Signal()
