"""What a socket does with the commands of a room it shows, whatever its protocol.

Both the room socket (protocol 1) and the tab socket (protocol 2) answer `message.send`,
`message.edit`, `message.delete`, `reaction.add`, `reaction.remove`, `typing`, `sync` and
`history` for one room, the one in `self.room`, through the same services and selectors.
`room_frame` says how a frame names its room on the socket's protocol. A socket opened
with a read-only API token may read (`sync`, `history`) but change nothing: its other
commands are refused with `forbidden`, and it stays open.
"""

import time

from channels.db import database_sync_to_async
from django.conf import settings
from django.core.cache import cache

from .. import errors, events, selectors, services
from ..models import Room
from . import protocol
from .auth import READ_ONLY_DETAIL
from .base import log_failure
from .protocol import (
    RATE_LIMITED,
    SERVER_ERROR,
    DeleteCommand,
    EditCommand,
    HistoryCommand,
    ProtocolError,
    ReactionCommand,
    SendCommand,
    SyncCommand,
    TypingCommand,
)


class RoomCommands:
    """The room commands of a socket; `self.room` is the room they act on."""

    room: Room | None
    user_id: int
    may_write: bool
    typing_passed_at: float = 0.0

    def check_may_write(self) -> None:
        """Refuse a command that changes something from a read-only token's socket."""
        if not self.may_write:
            raise errors.Forbidden(READ_ONLY_DETAIL)

    def room_frame(self, frame: dict) -> dict:
        """Return `frame` as this socket's protocol sends it (protocol 2 names the room)."""
        return frame

    async def send_room_frame(self, frame: dict) -> None:
        await self.send_frame(self.room_frame(frame))

    async def send_page(self, frame: dict, *, keep_oldest: bool = False) -> None:
        await self.send(
            text_data=protocol.encode_page(self.room_frame(frame), keep_oldest=keep_oldest)
        )

    async def on_send(self, command: SendCommand):
        self.check_may_write()
        try:
            message, _created = await database_sync_to_async(services.message_send)(
                room=self.room,
                author=self.user,
                body=command.body,
                client_id=command.client_id,
                reply_to=command.reply_to,
                attachments=list(command.attachments),
                origin_channel=self.channel_name,
            )
        except errors.ChatError:
            raise
        except Exception as error:
            # Never acknowledged: the client keeps it in its outbox and resends it.
            log_failure(error, "message.send failed in room %s", self.room.slug)
            raise ProtocolError(
                SERVER_ERROR, "The message was not stored; try again.", client_id=command.client_id
            ) from None
        await self.send_room_frame({"type": "message.new", "message": message})

    async def on_edit(self, command: EditCommand):
        self.check_may_write()
        message = await database_sync_to_async(services.message_edit)(
            room=self.room,
            user=self.user,
            message_id=command.message_id,
            body=command.body,
            origin_channel=self.channel_name,
        )
        await self.send_room_frame({"type": "message.updated", "message": message})

    async def on_delete(self, command: DeleteCommand):
        self.check_may_write()
        message = await database_sync_to_async(services.message_delete)(
            room=self.room,
            user=self.user,
            message_id=command.message_id,
            origin_channel=self.channel_name,
        )
        await self.send_room_frame({"type": "message.deleted", "message": message})

    async def on_reaction(self, command: ReactionCommand):
        self.check_may_write()
        message = await database_sync_to_async(services.reaction_set)(
            room=self.room,
            user=self.user,
            message_id=command.message_id,
            emoji=command.emoji,
            on=command.on,
            origin_channel=self.channel_name,
        )
        await self.send_room_frame({"type": "message.reactions", "message": message})

    async def on_typing(self, command: TypingCommand):
        self.check_may_write()
        now = time.monotonic()
        if command.active:
            # Drop extras silently: first this socket's own clock, then the user's gate
            # shared by all their sockets (and processes, through the cache).
            if now - self.typing_passed_at < settings.CHAT_TYPING_INTERVAL:
                return
            self.typing_passed_at = now
            gate = f"typing:{self.room.pk}:{self.user_id}"
            try:
                if not await cache.aadd(gate, 1, timeout=settings.CHAT_TYPING_INTERVAL):
                    return
            except Exception:
                return  # the cache is away; typing is not worth an error
        else:
            # "Stopped typing" always passes, so an indicator is never left stuck.
            self.typing_passed_at = 0.0
        data = {"user": self.user.username, "active": command.active}
        await events.emit_now(
            events.Event(
                events.TYPING, data, events.to_room(self.room.pk), skip_user_id=self.user_id
            )
        )

    def take_request_token(self):
        retry_after = self.requests.take()
        if retry_after:
            raise ProtocolError(
                RATE_LIMITED, "Too many sync and history requests.", retry_after=retry_after
            )

    async def on_sync(self, command: SyncCommand):
        # One batch per request: while `complete` is false the client asks again.
        self.take_request_token()
        page = await database_sync_to_async(selectors.messages_since)(
            room=self.room, since=command.since
        )
        await self.send_page({"type": "sync", **page})

    async def on_history(self, command: HistoryCommand):
        self.take_request_token()
        page = await database_sync_to_async(selectors.history_page)(
            room=self.room,
            before=command.before,
            after=command.after,
            around=command.around,
            limit=command.limit,
        )
        await self.send_page({"type": "history", **page}, keep_oldest=command.after is not None)

    room_command_handlers = {
        SendCommand: on_send,
        EditCommand: on_edit,
        DeleteCommand: on_delete,
        ReactionCommand: on_reaction,
        TypingCommand: on_typing,
        SyncCommand: on_sync,
        HistoryCommand: on_history,
    }
