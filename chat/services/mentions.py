"""Mentions: resolved when a message is sent or edited, and stored with it.

`@name` mentions a current member of the room (never the author); `@room` everyone in
it, `@here` those online in it, both allowed to owners, moderators and staff, or in
rooms of at most CHAT_MENTION_ALL_MAX_MEMBERS members. Resolving once and keeping the
result means a rename or a later edit can't change who was notified; the other apps
hear of every change through chat.signals.mentions_changed, inside the transaction.
"""

import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models.functions import Lower

from .. import policy, signals
from ..errors import Forbidden
from ..models import Membership, Message, MessageMention, Room
from ..realtime.presence import get_presence

Kind = MessageMention.Kind
# A username as Django allows it, after an "@" that does not continue a word or an address.
MENTION_RE = re.compile(r"(?<![\w.@+-])@([\w.@+-]{1,150})")
EVERYONE_WORDS = {"room": Kind.ROOM, "here": Kind.HERE}
# Explicit names resolved per message; more are left as text.
NAMES_MAX = 50


@dataclass
class Mentions:
    """Who a message mentions: user id -> kind, and whether it said @room or @here."""

    users: dict[int, str] = field(default_factory=dict)
    everyone: str = ""  # "", "room" or "here"
    # Those named: lowercased username -> user id (chat.rendering draws them as mentions).
    names: dict[str, int] = field(default_factory=dict)

    def ids_text(self) -> str:
        """The ids a client checks: those named or online (@here); @room means everyone."""
        listed = (user_id for user_id, kind in self.users.items() if kind != Kind.ROOM)
        return ",".join(str(user_id) for user_id in sorted(listed))


def _names(body: str) -> tuple[set[str], str]:
    """Return the lowercased names after "@" (trailing punctuation dropped) and @room/@here."""
    names, everyone = set(), ""
    for found in MENTION_RE.findall(body):
        for name in {found, found.rstrip(".-+@")}:
            lowered = name.lower()
            if lowered in EVERYONE_WORDS:
                # @room wins over @here: everyone includes those online.
                if everyone != Kind.ROOM:
                    everyone = EVERYONE_WORDS[lowered]
            elif name and len(names) < NAMES_MAX:
                names.add(lowered)
    return names, everyone


def resolve_mentions(*, room: Room, author, body: str, access: policy.Access) -> Mentions:
    """Resolve a body's mentions against the room's members now; refuse a forbidden @room."""
    if "@" not in body:
        return Mentions()
    names, everyone = _names(body)
    members = Membership.objects.filter(room=room, banned=False, user__is_active=True).exclude(
        user_id=author.pk
    )
    mentions = Mentions(everyone=everyone)
    if everyone:
        member_ids = set(members.values_list("user_id", flat=True))
        if not access.moderate and len(member_ids) + 1 > settings.CHAT_MENTION_ALL_MAX_MEMBERS:
            raise Forbidden(
                f"Only the room's moderators can mention everyone in a room of more than "
                f"{settings.CHAT_MENTION_ALL_MAX_MEMBERS} members."
            )
        if everyone == Kind.HERE:
            member_ids &= get_presence().online_user_ids(room_id=room.pk)
        mentions.users = dict.fromkeys(member_ids, everyone)
    if names:
        named = members.annotate(lowered=Lower("user__username")).filter(lowered__in=names)
        for user_id, username in named.values_list("user_id", "user__username"):
            mentions.users[user_id] = Kind.USER  # by name beats @room/@here
            mentions.names[username.lower()] = user_id
    return mentions


def mentions_store(message: Message, mentions: Mentions) -> None:
    """Write the mentions of a new message (its fields were set before it was created)."""
    MessageMention.objects.bulk_create(
        MessageMention(message=message, user_id=user_id, kind=kind)
        for user_id, kind in mentions.users.items()
    )
    if mentions.users:
        signals.mentions_changed.send(
            Message, message=message, added=dict(mentions.users), removed=set()
        )


def mentions_replace(message: Message, mentions: Mentions) -> None:
    """Store an edited message's mentions: notify the new ones, withdraw the dropped ones."""
    before = dict(MessageMention.objects.filter(message=message).values_list("user_id", "kind"))
    added = {user_id: kind for user_id, kind in mentions.users.items() if user_id not in before}
    removed = set(before) - set(mentions.users)
    changed_kind = {
        user_id: kind
        for user_id, kind in mentions.users.items()
        if user_id in before and before[user_id] != kind
    }
    MessageMention.objects.filter(message=message, user_id__in=removed).delete()
    for user_id, kind in changed_kind.items():
        MessageMention.objects.filter(message=message, user_id=user_id).update(kind=kind)
    MessageMention.objects.bulk_create(
        MessageMention(message=message, user_id=user_id, kind=kind)
        for user_id, kind in added.items()
    )
    message.mention_ids, message.mention_all = mentions.ids_text(), mentions.everyone
    if added or removed:
        signals.mentions_changed.send(Message, message=message, added=added, removed=removed)


def mentions_withdraw(message: Message) -> None:
    """Tell the other apps a deleted message mentions no one any more (its rows stay)."""
    removed = set(MessageMention.objects.filter(message=message).values_list("user_id", flat=True))
    if removed:
        signals.mentions_changed.send(Message, message=message, added={}, removed=removed)
