"""Chat data as plain records: what services return, selectors read and events carry.

Plain values only (numbers, strings, lists, dicts), so that a record crosses processes
through the channel layer unchanged; protocol 1 sends them to clients as they are.
"""

import re
from datetime import UTC, datetime

import orjson
from django.core.exceptions import ObjectDoesNotExist
from django.urls import reverse

from .models import MESSAGE_EXCERPT_MAX, Attachment, Membership, Message, Reaction, Room


def format_time(value: datetime | None) -> str | None:
    """Format a time as UTC ISO 8601 ending in Z."""
    if value is None:
        return None
    if value.utcoffset():
        value = value.astimezone(UTC)
    # isoformat() is several times faster than strftime(); [:26] drops the "+00:00".
    return value.isoformat(timespec="microseconds")[:26] + "Z"


# The fields of a Message object, in the order of message_row_data's row: a query's
# values_list(*MESSAGE_FIELDS) gives them without building model instances.
MESSAGE_FIELDS = (
    "id",
    "rev",
    "author_id",
    "author__username",
    # A LEFT JOIN: most people never set a display name, and have no profile row.
    "author__profile__display_name",
    "author__profile__is_bot",
    "body",
    "created_at",
    "edited_at",
    "deleted_at",
    "client_id",
    "created_rev",
    "mention_ids",
    "mention_all",
    "body_html",
    "attachments_data",
    # The original of a reply, through LEFT JOINs: most messages answer none.
    "reply_to_id",
    "reply_to__author_id",
    "reply_to__author__username",
    "reply_to__author__profile__display_name",
    "reply_to__excerpt",
    "reply_to__deleted_at",
)

# The longest excerpt of an original a reply quotes, in characters.
REPLY_EXCERPT_MAX = MESSAGE_EXCERPT_MAX
# Markdown's markers at the start of a line (a quote, a list item, a fence) and around
# words (emphasis, code): an excerpt is plain text, not half-formatted.
_LINE_MARKERS_RE = re.compile(r"^(?:\s*(?:>|[-*+]|\d{1,9}[.)]|```+|~~~+)\s*)+")
_INLINE_MARKERS_RE = re.compile(r"\*\*|__|~~|`|(?<!\w)[*_]|[*_](?!\w)")


def reply_excerpt(body: str) -> str:
    """Return the first line of a body with text in it, as plain text, shortened."""
    for line in body.splitlines():
        text = _INLINE_MARKERS_RE.sub("", _LINE_MARKERS_RE.sub("", line)).strip()
        if text:
            return text if len(text) <= REPLY_EXCERPT_MAX else f"{text[: REPLY_EXCERPT_MAX - 1]}…"
    return ""


def reply_data(
    message_id: int | None,
    author_id: int | None,
    username: str | None,
    display_name: str | None,
    excerpt: str | None,
    deleted_at: datetime | None,
) -> dict | None:
    """Return the protocol's quote of the message a reply answers (None: no original)."""
    if message_id is None:
        return None
    deleted = deleted_at is not None
    return {
        "id": message_id,
        "author": user_data(author_id, username, display_name),
        "excerpt": "" if deleted else excerpt,
        "deleted": deleted,
    }


def message_excerpt(body: str, attachments: str) -> str:
    """Return what a reply to this message quotes (Message.excerpt): the first line of
    its body with text, or, for files alone, what they are."""
    return reply_excerpt(body) or files_excerpt(attachments)


def files_excerpt(attachments: str) -> str:
    """Say what a message of files alone holds, in a quote: its first file's name."""
    if not attachments:
        return ""
    names = [attachment["name"] for attachment in orjson.loads(attachments)]
    more = f" and {len(names) - 1} more" if len(names) > 1 else ""
    return reply_excerpt(f"📎 {names[0]}{more}") if names else ""


def message_row_data(row: tuple, room_slug: str) -> dict:
    """Return the protocol's Message object from a row of MESSAGE_FIELDS."""
    (message_id, rev, author_id, username, display_name, is_bot, body, created_at, edited_at,
     deleted_at, client_id, created_rev, mention_ids, mention_all, body_html,
     attachments, *original) = row  # fmt: skip
    deleted = deleted_at is not None
    return {
        "id": message_id,
        "rev": rev,
        "room": room_slug,
        "author": user_data(author_id, username, display_name, bot=is_bot),
        "body": "" if deleted else body,
        # The body rendered when it was written (chat.rendering): sanitized HTML.
        "html": "" if deleted else body_html,
        "created_at": format_time(created_at),
        "edited_at": format_time(edited_at),
        "deleted": deleted,
        "client_id": client_id,
        # Kept on a deleted message: a client that counted the mention can take it back.
        "created_rev": created_rev,
        "mentions": [int(user_id) for user_id in mention_ids.split(",")] if mention_ids else [],
        "mention_all": mention_all or None,
        # Filled by whoever read the row (selectors.reactions): a deleted message has none.
        "reactions": [],
        # A deleted reply quotes nothing, as it shows nothing of its own.
        "reply_to": None if deleted else reply_data(*original),
        # Written once when it was sent (attachments_json); its files go with a deletion.
        "attachments": orjson.loads(attachments) if attachments and not deleted else [],
    }


def message_data(
    message: Message,
    *,
    room_slug: str | None = None,
    display_name: str | None = None,
    is_bot: bool | None = None,
    reactions: list[dict] | None = None,
) -> dict:
    """Return the protocol's Message object (needs `author` loaded; its profile too,
    unless `display_name` and `is_bot` give the author's; its reactions too, unless
    `reactions` gives them; `reply_to` with its author's profile too, or they cost
    queries)."""
    row = (
        message.pk,
        message.rev,
        message.author_id,
        message.author.username,
        display_name_of(message.author) if display_name is None else display_name,
        is_bot_of(message.author) if is_bot is None else is_bot,
        message.body,
        message.created_at,
        message.edited_at,
        message.deleted_at,
        message.client_id,
        message.created_rev,
        message.mention_ids,
        message.mention_all,
        message.body_html,
        message.attachments_data,
        *_original_fields(message),
    )
    data = message_row_data(row, room_slug if room_slug is not None else message.room.slug)
    # Only a message changed since it was created can have any (selectors.reactions).
    if reactions is None and not data["deleted"] and message.rev != message.created_rev:
        rows = Reaction.objects.filter(message=message.pk).values_list(*REACTION_FIELDS)
        reactions = reactions_of_rows(rows).get(message.pk)
    data["reactions"] = reactions or []
    return data


def _original_fields(message: Message) -> tuple:
    """Return the reply_to__ fields of MESSAGE_FIELDS from a message's `reply_to` (loaded
    with its author and profile, or a query for them)."""
    # A deleted reply quotes nothing: its original is not even read.
    if message.reply_to_id is None or message.deleted_at is not None:
        return (None,) * 6
    original = message.reply_to
    author = original.author
    return (
        original.pk,
        author.pk,
        author.get_username(),
        display_name_of(author),
        original.excerpt,
        original.deleted_at,
    )


# The fields of a reaction, in the order reactions_of_rows reads them; rows come by
# Reaction id (the order people reacted in).
REACTION_FIELDS = (
    "message_id",
    "emoji",
    "user_id",
    "user__username",
    "user__profile__display_name",  # a LEFT JOIN, as the author's
)
# How many of the people who reacted with one emoji a record names (the first ones), as
# many as a chip's title shows (static/js/chat/reactions.js); `count` and `user_ids` still
# hold everyone.
REACTION_NAMES_MAX = 10
# A message's reactions, as JSON, stay within this many bytes, so that the message, its
# body and HTML at their largest, still fits a frame (CHAT_SEND_FRAME_MAX). Past it fewer
# people are named, then (thousands of reactions on one message) fewer ids are listed;
# the counts stay exact.
REACTIONS_MAX_BYTES = 8_000


def reactions_of_rows(rows) -> dict[int, list[dict]]:
    """Return {message id: its reactions} from rows of REACTION_FIELDS, in reaction order.

    A message's reactions are a list of {"emoji", "count", "user_ids", "users"}, in the
    order each emoji was first used; `users` names the first REACTION_NAMES_MAX people;
    the list stays within REACTIONS_MAX_BYTES.
    """
    by_message: dict[int, dict[str, dict]] = {}
    for message_id, emoji, user_id, username, display_name in rows:
        emojis = by_message.setdefault(message_id, {})
        reaction = emojis.get(emoji)
        if reaction is None:
            reaction = emojis[emoji] = {"emoji": emoji, "count": 0, "user_ids": [], "users": []}
        reaction["count"] += 1
        reaction["user_ids"].append(user_id)
        if len(reaction["users"]) < REACTION_NAMES_MAX:
            reaction["users"].append(user_data(user_id, username, display_name))
    return {
        message_id: _within_budget(list(emojis.values()))
        for message_id, emojis in by_message.items()
    }


def _fits(reactions: list[dict]) -> bool:
    return len(orjson.dumps(reactions)) <= REACTIONS_MAX_BYTES


def _within_budget(reactions: list[dict]) -> list[dict]:
    if _fits(reactions):
        return reactions
    for names in (5, 2, 0):
        reactions = [{**reaction, "users": reaction["users"][:names]} for reaction in reactions]
        if _fits(reactions):
            return reactions
    # Twenty emoji with no names and no ids fit: halve the ids listed until all fit.
    ids = max(len(reaction["user_ids"]) for reaction in reactions)
    while not _fits(reactions):
        ids //= 2
        reactions = [{**reaction, "user_ids": reaction["user_ids"][:ids]} for reaction in reactions]
    return reactions


def attachment_data(attachment: Attachment) -> dict:
    """Return the protocol's attachment object: what a message shows of a file, and where
    its readers fetch it (views_attachments.py)."""
    image = attachment.is_image
    return {
        "id": attachment.pk,
        "name": attachment.name,
        "size": attachment.size,
        "content_type": attachment.content_type,
        "url": reverse("chat:attachment_file", args=[attachment.pk, attachment.name]),
        "image": image,
        "width": attachment.width,
        "height": attachment.height,
        "thumbnail": {
            "url": reverse("chat:attachment_thumbnail", args=[attachment.pk]),
            "width": attachment.thumbnail_width,
            "height": attachment.thumbnail_height,
        }
        if image
        else None,
    }


def attachments_json(records: list[dict]) -> str:
    """Return a message's attachment records as stored with it ("" for none)."""
    return orjson.dumps(records).decode() if records else ""


def room_data(room: Room) -> dict:
    """Return the protocol's room object."""
    return {
        "slug": room.slug,
        "name": room.name,
        "topic": room.topic,
        "private": room.is_private,
        "archived": room.is_archived,
        # "room", or "direct": a direct conversation, shown by its people's names.
        "kind": room.kind,
    }


def display_name_of(user) -> str:
    """Return the user's display name, "" when they set none (loads their profile once)."""
    try:
        return user.profile.display_name
    except ObjectDoesNotExist:
        return ""


def is_bot_of(user) -> bool:
    """Tell whether the account is a bot's (loads its profile once)."""
    try:
        return user.profile.is_bot
    except ObjectDoesNotExist:
        return False


def user_data(user_id: int, username: str, display_name: str | None = "", *, bot=False) -> dict:
    """Return the protocol's user object; "" for no display name (show the username).
    A bot's account says so (`bot: true`); a person's has no `bot` at all."""
    data = {"id": user_id, "username": username, "display_name": display_name or ""}
    if bot:
        data["bot"] = True
    return data


def user_record(user) -> dict:
    """Return a user object's record (loads its profile unless select_related)."""
    return user_data(user.pk, user.get_username(), display_name_of(user), bot=is_bot_of(user))


def member_data(membership: Membership) -> dict:
    """Return a member's record (needs `user` loaded)."""
    muted = membership.is_muted()
    return {
        "user": user_record(membership.user),
        "role": membership.role,
        "muted": muted,
        "muted_until": format_time(membership.muted_until) if muted else None,
    }
