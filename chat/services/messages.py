"""Messages: send, edit, delete. Each checks the access rule on the room's current state,
takes the room's next revision in the same transaction, and emits its event on commit."""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ops import metrics

from .. import events, policy, ratelimit, rendering
from ..errors import Forbidden, NotFound, RoomArchived
from ..models import Membership, Message, ModerationAction, Room
from ..records import attachment_data, attachments_json, message_data, message_excerpt
from ..selectors import message_id_by_client_id, room_membership_now
from ..selectors.people import author_profile
from ..signals import direct_message_sent, message_deleted, reply_sent
from ..validation import clean_attachment_ids, clean_body
from .attachments import attachments_attach, attachments_claim
from .log import log_action
from .members import member_joined
from .mentions import (
    Mentions,
    mentions_replace,
    mentions_store,
    mentions_withdraw,
    resolve_mentions,
)
from .revisions import take_next_rev
from .rooms import room_gone


def _take_send_token(*, user, room: Room) -> None:
    """Sends and edits share one bucket per user and room (CHAT_RATE_MESSAGES per period)."""
    ratelimit.require_token(
        key=f"send:{user.pk}:{room.pk}",
        capacity=settings.CHAT_RATE_MESSAGES,
        period=settings.CHAT_RATE_PERIOD,
        refusal="You are sending messages too fast.",
    )


def _write_access(room: Room, user) -> tuple[policy.Access, Membership | None]:
    """Take the room's next revision (locking it) and decide access on what is current.

    The revision is only kept if the caller's transaction commits; a refusal rolls it
    back. Reading the flags under the lock means a ban, a privacy change or an archive
    committed before this write is never missed, whatever the socket still believes.
    """
    try:
        take_next_rev(room)
    except Room.DoesNotExist:
        raise room_gone() from None
    membership = room_membership_now(room_id=room.pk, user=user)
    return policy.room_access(room=room, membership=membership, user=user), membership


def _existing(*, room: Room, author, client_id: str | None) -> dict | None:
    if client_id is None:
        return None
    message_id = message_id_by_client_id(room_id=room.pk, author_id=author.pk, client_id=client_id)
    if message_id is None:
        return None
    message = Message.objects.select_related(*_WITH_PEOPLE).get(pk=message_id)
    return message_data(message, room_slug=room.slug)


# What message_data reads beside a message: its author's and its original's (a LEFT JOIN).
_WITH_PEOPLE = ("author__profile", "reply_to__author__profile")


def _original(*, room: Room, message_id: int) -> Message:
    """Return the message a reply answers: one of this room, not deleted."""
    original = (
        Message.objects.select_related("author__profile")
        .filter(room=room, pk=message_id, deleted_at__isnull=True)
        .first()
    )
    if original is None:
        raise NotFound("No such message in this room to reply to.")
    return original


def message_send(
    *,
    room: Room,
    author,
    body: str,
    client_id: str | None = None,
    reply_to: int | None = None,
    attachments: list[int] | None = None,
    origin_channel: str = "",
) -> tuple[dict, bool]:
    """Store a message and emit `message.new`; return (message, created).

    A repeated `client_id` stores nothing and returns the message already stored. A
    reader of a public room who posts becomes a member. The body's HTML is rendered and
    stored with it (chat.rendering). `reply_to` is the id of the message it answers: one
    of this room, not deleted (else NotFound). `attachments` are the ids of the author's
    uploads for this room it carries (services.attachments); with them, the body may be
    empty.
    """
    attachment_ids = clean_attachment_ids(attachments)
    body = clean_body(body, allow_empty=bool(attachment_ids))
    existing = _existing(room=room, author=author, client_id=client_id)
    if existing is not None:
        return existing, False
    _take_send_token(user=author, room=room)
    parsed = rendering.parse_body(body)  # before the room's lock: it needs no row
    try:
        with transaction.atomic():
            access, membership = _write_access(room, author)
            policy.check_post(access)
            # After the access check: who may not post learns nothing of the room's messages.
            original = None if reply_to is None else _original(room=room, message_id=reply_to)
            files = attachments_claim(room=room, user=author, attachment_ids=attachment_ids)
            attached = attachments_json([attachment_data(file) for file in files])
            mentions = _resolve(room=room, author=author, parsed=parsed, access=access)
            if membership is None:
                # Posting joins; what was there before is not news to a new member.
                Membership.objects.create(room=room, user=author, last_read_rev=room.rev)
                member_joined(room, author.pk)
            message = Message.objects.create(
                room=room,
                author=author,
                body=body,
                client_id=client_id,
                rev=room.rev,
                created_rev=room.rev,
                mention_ids=mentions.ids_text(),
                mention_all=mentions.everyone,
                body_html=_html(parsed, mentions),
                reply_to=original,
                attachments_data=attached,
                excerpt=message_excerpt(body, attached),
            )
            attachments_attach(message, files)
            mentions_store(message, mentions)
            if room.kind == Room.Kind.DIRECT:
                # Every message of a conversation is news to its other people.
                direct_message_sent.send(Message, message=message)
            if original is not None:
                reply_sent.send(Message, message=message, original=original)
            # Read now, not from the socket's user: the name may have changed since.
            name, is_bot = author_profile(user_id=author.pk)
            # A new message has no reactions: no query for them on every send.
            data = message_data(
                message, room_slug=room.slug, display_name=name, is_bot=is_bot, reactions=[]
            )
            events.emit(
                events.Event(
                    events.MESSAGE_NEW,
                    {"message": data},
                    events.to_room(room.pk),
                    origin_channel=origin_channel,
                )
            )
    except IntegrityError:
        # A concurrent send with the same client_id won the race: answer with its row.
        existing = _existing(room=room, author=author, client_id=client_id)
        if existing is None:
            raise
        return existing, False
    metrics.message_stored()  # committed: no caller runs this in a transaction of its own
    return data, True


# Quoted: chat.rendering imports services.mentions, so this module may load before it.
def _resolve(*, room: Room, author, parsed: "rendering.ParsedBody", access) -> Mentions:
    """Resolve the mentions of a body's text outside code and links (where they show)."""
    return resolve_mentions(room=room, author=author, body=parsed.mention_text, access=access)


def _html(parsed: "rendering.ParsedBody", mentions: Mentions) -> str:
    return rendering.render_html(parsed, names=mentions.names, everyone=mentions.everyone)


def _message_for_change(*, room: Room, message_id: int) -> Message:
    message = (
        Message.objects.select_related(*_WITH_PEOPLE)
        # Only the message's row: PostgreSQL locks no nullable side of a join (the profile).
        .select_for_update(of=("self",))
        .filter(room=room, pk=message_id, deleted_at__isnull=True)
        .first()
    )
    if message is None:
        raise NotFound("No such message in this room.")
    message.room = room  # the caller's, already loaded: hooks that read it cost no query
    return message


def _save_change(
    message: Message, *, room: Room, fields: list[str], kind: str, origin: str
) -> dict:
    """Save a changed message under the revision just taken and emit `kind`."""
    message.rev = room.rev
    message.save(update_fields=[*fields, "rev"])
    data = message_data(message, room_slug=room.slug)
    events.emit(
        events.Event(kind, {"message": data}, events.to_room(room.pk), origin_channel=origin)
    )
    return data


def message_edit(*, room: Room, user, message_id: int, body: str, origin_channel: str = "") -> dict:
    """Change a message's body (its author only), render it again, emit `message.updated`."""
    body = clean_body(body)
    _take_send_token(user=user, room=room)
    parsed = rendering.parse_body(body)
    with transaction.atomic():
        access, _membership = _write_access(room, user)
        policy.check_post(access)
        message = _message_for_change(room=room, message_id=message_id)
        if message.author_id != user.pk:
            raise Forbidden("Only the author can edit a message.")
        if message.body == body:
            data = message_data(message, room_slug=room.slug)  # its reactions: a query
            transaction.set_rollback(True)  # gives the revision back: nothing changed
            return data
        message.body = body
        message.excerpt = message_excerpt(body, message.attachments_data)
        message.edited_at = timezone.now()
        mentions = _resolve(room=room, author=user, parsed=parsed, access=access)
        mentions_replace(message, mentions)
        message.body_html = _html(parsed, mentions)
        return _save_change(
            message,
            room=room,
            fields=["body", "excerpt", "edited_at", "mention_ids", "mention_all", "body_html"],
            kind=events.MESSAGE_UPDATED,
            origin=origin_channel,
        )


def message_delete(*, room: Room, user, message_id: int, origin_channel: str = "") -> dict:
    """Soft-delete a message (its author, the room's moderators, staff); emit `message.deleted`."""
    with transaction.atomic():
        access, _membership = _write_access(room, user)
        if not access.moderate:
            policy.check_see(access)
        if access.archived:
            raise RoomArchived("This room is archived.")
        message = _message_for_change(room=room, message_id=message_id)
        if not policy.can_delete_message(access=access, user=user, author_id=message.author_id):
            raise Forbidden("Only the author or the room's moderators can delete a message.")
        message.deleted_at = timezone.now()
        message.attachments_data = ""
        # Its files go too, once this commits (chat.receivers).
        message.attachments.all().delete()
        mentions_withdraw(message)
        # A deleted message shows no reactions: none are kept of who reacted to it either.
        message.reactions.all().delete()
        if message.author_id != user.pk:
            kind = ModerationAction.Kind.DELETE_MESSAGE
            detail = f"message {message.pk}"
            log_action(room=room, actor=user, target=message.author, kind=kind, detail=detail)
        data = _save_change(
            message,
            room=room,
            fields=["deleted_at", "attachments_data"],
            kind=events.MESSAGE_DELETED,
            origin=origin_channel,
        )
        message_deleted.send(Message, message=message)
        return data
