"""The room WebSocket (protocol 1): thin glue between frames and the services and selectors.

A socket listens, through the process's hub, to its room, its user and everyone. Events
that change its access (a ban, a removal, a room made private or deleted) close it with
a `room.closed` frame that says why; every write is checked again by the services.
"""

import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from .. import errors, events, selectors, services
from ..models import Room
from . import protocol
from .base import ChatWebsocketConsumer, log_failure
from .hub import EVERYONE_TOPIC, get_hub, room_topic, user_topic
from .presence import broadcast_presence, get_presence
from .protocol import (
    BAD_FRAME,
    SERVER_ERROR,
    PingCommand,
    ProtocolError,
)
from .room_commands import RoomCommands
from .sessions import session_watch

logger = logging.getLogger(__name__)


def _room_open(*, slug: str, user):
    """Return (room, access) for a room the user may enter, or the close code that refuses.

    A private room the user may not see closes like a room that does not exist (4404);
    a ban, which the user knows of, closes with 4403.
    """
    try:
        return services.room_open(slug=slug, user=user)
    except errors.NotFound as error:
        banned = error.extra.get("reason") == "banned"
        return protocol.CLOSE_FORBIDDEN if banned else protocol.CLOSE_NOT_FOUND


def _parse_since(query_string: bytes) -> int | None:
    values = parse_qs(query_string.decode("latin-1")).get("since")
    if not values:
        return None
    return protocol.parse_int(values[-1], "since", minimum=0)


class RoomConsumer(RoomCommands, ChatWebsocketConsumer):
    """One socket in one room (docs/protocol.md)."""

    protocol_version = protocol.PROTOCOL_VERSION
    room: Room | None = None
    topics: list[str] = []
    in_hub = False
    # Set once the room's side has closed this socket: nothing more goes in or out.
    closed_because: str | None = None

    async def connect(self):
        """Called when the handshake arrives: accept, then admit or close with a 44xx code."""
        if not await self.accept_user():
            return
        user = self.user
        try:
            opened = await database_sync_to_async(_room_open)(
                slug=self.scope["url_route"]["kwargs"]["slug"], user=user
            )
            if isinstance(opened, int):
                await self.close(opened)
                return
            await self.admit(*opened)
        except Exception:
            # Database or channel layer unavailable: the client reconnects and catches up.
            logger.warning("Could not open a room socket.", exc_info=True)
            await self.close(protocol.CLOSE_UNAVAILABLE)

    async def admit(self, room: Room, access):
        """Listen first, then greet, then catch up (docs/protocol.md, "Connecting")."""
        first, online, user_sockets = await get_presence().join(
            room_id=room.pk,
            user_id=self.user.pk,
            username=self.user.username,
            channel_name=self.channel_name,
        )
        if user_sockets > settings.CHAT_MAX_SOCKETS_PER_USER:
            await get_presence().leave(
                room_id=room.pk, user_id=self.user.pk, channel_name=self.channel_name
            )
            await self.close(protocol.CLOSE_TOO_MANY_SOCKETS)
            return
        self.room = room
        self.hold()
        self.in_hub = True
        # The user's own topic carries the nudges that end a login (logout, password).
        self.topics = [room_topic(room.pk), user_topic(self.user_id), EVERYONE_TOPIC]
        await get_hub(self.channel_layer).join(self.topics, self)
        self.watch_login()
        try:
            since, bad_since = _parse_since(self.scope.get("query_string", b"")), None
        except ProtocolError as error:
            since, bad_since = None, error
        rev, catch_up = await database_sync_to_async(selectors.room_opening)(room=room, since=since)
        await self.send_frame(
            {
                "type": "hello",
                "protocol": protocol.PROTOCOL_VERSION,
                "room": protocol.room_data(room),
                "me": protocol.hello_me(self.user, access),
                "online": online,
                "rev": rev,
                "limits": protocol.limits_data(),
            }
        )
        if first:
            await broadcast_presence(
                room_id=room.pk, username=self.user.username, status="online", online=online
            )
        if bad_since is not None:
            await self.send_error(bad_since)
        elif catch_up is not None:
            await self.send(text_data=protocol.encode_page({"type": "sync", **catch_up}))
        await self.release_held()

    async def disconnect(self, code):
        """Called when the socket closes: leave the room, and say so if it was the last tab."""
        if not self.in_hub:
            return  # never admitted, or already left
        self.in_hub = False
        await get_hub(self.channel_layer).leave(self.topics, self)
        session_watch.discard(self.channel_name)
        last, online = await get_presence().leave(
            room_id=self.room.pk, user_id=self.user.pk, channel_name=self.channel_name
        )
        if last:
            await broadcast_presence(
                room_id=self.room.pk, username=self.user.username, status="offline", online=online
            )

    async def receive(self, text_data=None, bytes_data=None):
        """Called with each frame: validate it, act on it, answer errors with an error frame."""
        if self.room is None or self.closed_because is not None:
            return
        command = None
        try:
            if text_data is None:
                raise ProtocolError(BAD_FRAME, "Binary frames are not accepted.")
            command = protocol.parse_frame(text_data)
            await self.command_handlers[type(command)](self, command)
        except errors.ChatError as error:
            await self.refused(error, getattr(command, "client_id", None))
        except Exception as error:
            log_failure(error, "Frame failed in room %s", self.room.slug)
            await self.send_error(ProtocolError(SERVER_ERROR, "The server could not do that."))

    async def refused(self, error: errors.ChatError, client_id: str | None):
        """Answer a refused frame; when access itself is gone, close the socket too."""
        await self.send_error(ProtocolError.of(error, client_id=client_id))
        reason = error.extra.get("reason")
        if isinstance(error, errors.NotFound) and reason in protocol.CLOSED_DETAILS:
            await self.close_because(reason)

    # --- commands (the room's own are in room_commands) ----------------------------------

    async def on_ping(self, command: PingCommand):
        # The room's revision rides along: a client whose last live event was lost
        # has no later event to reveal the gap, but its next ping does.
        try:
            rev = await database_sync_to_async(selectors.room_rev)(room_id=self.room.pk)
        except Room.DoesNotExist:
            await self.close_because("deleted")
            return
        await self.send_frame({"type": "pong", "t": command.t, "rev": rev})

    command_handlers = {**RoomCommands.room_command_handlers, PingCommand: on_ping}

    # --- events from the hub and the session watch ---------------------------------------

    async def handle_event(self, event: dict):
        if self.closed_because is not None:
            return
        kind, data = event["kind"], event["data"]
        if kind == events.SESSION_CHECK:
            await self.check_session(data)
            return
        if kind == events.MEMBER_REMOVED and data["user"]["id"] == self.user_id:
            await self.close_because(data["reason"])
            return
        if kind == events.ROOM_DELETED:
            await self.close_because("deleted", room_name=data.get("name"))
            return
        if kind == events.ROOM_ACCESS:
            allowed = event.get("allowed")
            if allowed is None:
                await self.close(protocol.CLOSE_UNAVAILABLE)  # reconnecting checks again
            elif self.user_id not in allowed:
                await self.close_because(data.get("reason", "private"))
            return
        if kind == events.ROOM_UPDATED:
            self.room.name = data["room"]["name"]
        text = event.get("text")
        if text is not None:
            message = event.get("message") or {"type": "websocket.send", "text": text}
            await self.send_message(message)

    async def close_because(self, reason: str, *, room_name: str | None = None):
        """Say why the room's side closed this socket, stop listening, and close."""
        if self.closed_because is not None:
            return
        self.closed_because = reason
        frame, code = protocol.room_closed(reason, room_name or self.room.name)
        await self.send_frame(frame)
        await self.close(code)
        # Leave the topics now: the client may take a moment to finish the close.
        if self.in_hub:
            await self.disconnect(code)


class NoRouteConsumer(AsyncWebsocketConsumer):
    """Refuse a socket on a path that names no room (or nothing at all) with 4404."""

    channel_layer_alias = None  # it hears nothing: no receive on the channel layer

    async def connect(self):
        """Called when the handshake arrives: accept only to close with a reason."""
        await self.accept()
        await self.close(protocol.CLOSE_NOT_FOUND)
