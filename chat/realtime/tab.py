"""The tab socket (protocol 2, `/ws/`): one per browser tab, for everything its user follows.

It listens to the topics of every room the user is a member of, to the user's own and to
everyone's, so that a tab knows of a message in any of those rooms (its counts move) and
of the user's events (the inbox, read markers, rooms joined and lost). One room at a
time is *in view*: the tab sends `view` and gets that room's state, presence and
catch-up by revision, and its room commands act on it, as protocol 1's do.

`hello` carries a snapshot (the rooms with revision, read marker and counts; the
parts other apps add, such as the inbox); the events that follow keep it current, and
after any outage the next `hello` replaces it whole.
"""

import asyncio
import logging
import sys
from collections.abc import Callable

from channels.db import database_sync_to_async
from django.conf import settings

from .. import errors, events, selectors, services
from ..models import Room
from . import protocol
from .base import ChatWebsocketConsumer, log_failure
from .hub import EVERYONE_TOPIC, get_hub, room_topic, user_topic
from .presence import SIGNED_IN, broadcast_presence, get_presence
from .protocol import SERVER_ERROR, PingCommand, ProtocolError
from .room_commands import RoomCommands
from .sessions import session_watch
from .tab_protocol import (
    NOT_VIEWING,
    TAB_PROTOCOL_VERSION,
    ReadCommand,
    ViewCommand,
    hello_frames,
    parse_tab_frame,
    room_lost,
    tab_text,
)

logger = logging.getLogger(__name__)

_VIEW_ONLY = frozenset({events.PRESENCE, events.TYPING})

# name -> function(user) returning a part of `hello` (the inbox adds "inbox").
_HELLO_PARTS: dict[str, Callable] = {}


def add_hello_part(name: str, read: Callable) -> None:
    """Add `name: read(user=...)` to every tab's `hello` (done by apps when ready)."""
    _HELLO_PARTS[name] = read


def _hello_snapshot(*, user) -> dict:
    snapshot = {"rooms": selectors.member_rooms(user=user)}
    for name, read in _HELLO_PARTS.items():
        snapshot[name] = read(user=user)
    return snapshot


def _interned(names: tuple[str, str]) -> tuple[str, str]:
    """Return a room's (slug, name) as strings every tab of the room's members shares."""
    slug, name = names
    return sys.intern(slug), sys.intern(name)


def _room_id_of(topic: str) -> int | None:
    return int(topic[5:]) if topic.startswith("room:") else None


def _member_room(*, user, room_id: int) -> dict | None:
    room = Room.objects.filter(pk=room_id).first()
    return None if room is None else selectors.member_room(user=user, room=room)


def _view_opening(*, room: Room, user, since: int | None) -> tuple[int, dict | None, int | None]:
    rev, catch_up = selectors.room_opening(room=room, since=since)
    return rev, catch_up, selectors.first_unread_id(user=user, room_id=room.pk)


def _mark_read(*, user, room_id: int, rev: int) -> None:
    room = Room.objects.filter(pk=room_id).first()
    if room is None:
        raise errors.NotFound("No such room.")
    services.room_mark_read(room=room, user=user, rev=rev)


class TabConsumer(RoomCommands, ChatWebsocketConsumer):
    """One socket per tab: every room of its user, their own events, one room in view."""

    protocol_version = TAB_PROTOCOL_VERSION
    in_hub = False
    room: Room | None = None  # the room in view
    # Rooms joined, being followed: made at the first (most tabs never see one).
    joining: set[asyncio.Task] | None = None

    async def connect(self):
        """Called when the handshake arrives: accept, then admit or close with a 44xx code."""
        if not await self.accept_user():
            return
        # The topics listened to, as a dict's keys: a set of more than four strings
        # takes several times the memory, and every open tab keeps one.
        self.topics: dict[str, None] = {}
        # Rooms the user is a member of: id -> (slug, name).
        self.rooms: dict[int, tuple[str, str]] = {}
        try:
            await self.admit()
        except Exception:
            logger.warning("Could not open a tab socket.", exc_info=True)
            await self.close(protocol.CLOSE_UNAVAILABLE)

    async def admit(self):
        """Listen first, then read the snapshot, then greet (docs/protocol.md, protocol 2)."""
        joined = await get_presence().join(
            room_id=SIGNED_IN,
            user_id=self.user_id,
            username=self.user.username,
            channel_name=self.channel_name,
        )
        self.in_hub = True
        self.hold()
        if joined.user_sockets > settings.CHAT_MAX_SOCKETS_PER_USER:
            await self.close(protocol.CLOSE_TOO_MANY_SOCKETS)
            await self.disconnect(protocol.CLOSE_TOO_MANY_SOCKETS)
            return
        await self.listen([user_topic(self.user_id), EVERYONE_TOPIC])
        self.watch_login()
        # The rooms' topics before their state: nothing sent after the read is missed.
        # A room joined in between comes as a `room.joined` event, already held.
        rooms = await database_sync_to_async(selectors.member_room_names)(user=self.user)
        self.rooms = {room_id: _interned(names) for room_id, names in rooms.items()}
        await self.listen([room_topic(room_id) for room_id in self.rooms])
        snapshot = await database_sync_to_async(_hello_snapshot)(user=self.user)
        hello = {
            "type": "hello",
            "protocol": TAB_PROTOCOL_VERSION,
            "me": {"id": self.user_id, "username": self.user.username, "staff": self.user.is_staff},
            **snapshot,
            "limits": protocol.limits_data(),
        }
        for text in hello_frames(hello):
            await self.send(text_data=text)
        await self.release_held()

    async def listen(self, topics: list[str]) -> None:
        new = [topic for topic in topics if topic not in self.topics]
        if new:
            self.topics.update(dict.fromkeys(new))
            await get_hub(self.channel_layer).join(new, self)

    async def unlisten(self, topics: list[str]) -> None:
        gone = [topic for topic in topics if topic in self.topics]
        if gone:
            for topic in gone:
                del self.topics[topic]
            await get_hub(self.channel_layer).leave(gone, self)

    async def follow_room(self, room_id: int) -> None:
        """Listen to a room's topic while it is one of the user's or the room in view."""
        topic = room_topic(room_id)
        if room_id in self.rooms or (self.room is not None and self.room.pk == room_id):
            await self.listen([topic])
        else:
            await self.unlisten([topic])

    async def disconnect(self, code):
        """Called when the socket closes: leave the room in view, the topics and presence."""
        if not self.in_hub:
            return
        self.in_hub = False
        for joining in list(self.joining or ()):
            joining.cancel()
        await self.end_view()
        await get_hub(self.channel_layer).leave(list(self.topics), self)
        self.topics.clear()
        session_watch.discard(self.channel_name)
        await get_presence().leave(
            room_id=SIGNED_IN, user_id=self.user_id, channel_name=self.channel_name
        )

    # --- frames from the client ------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        """Called with each frame: validate it, act on it, answer errors with an error frame."""
        if not self.in_hub:
            return
        slug, command = None, None
        try:
            if text_data is None:
                raise ProtocolError(protocol.BAD_FRAME, "Binary frames are not accepted.")
            slug, command = parse_tab_frame(text_data)
            if slug is not None:
                await self.room_command(slug, command)
            else:
                await self.command_handlers[type(command)](self, command)
        except errors.ChatError as error:
            await self.refused(error, getattr(command, "client_id", None), slug)
        except Exception as error:
            log_failure(error, "Frame failed on a tab socket of user %s", self.user_id)
            await self.send_error(ProtocolError(SERVER_ERROR, "The server could not do that."))

    async def room_command(self, slug: str, command) -> None:
        if self.room is None or self.room.slug != slug:
            raise ProtocolError(
                NOT_VIEWING,
                "Commands act on the room in view: send `view` with this room first.",
                client_id=getattr(command, "client_id", None),
            )
        await self.room_command_handlers[type(command)](self, command)

    async def refused(self, error: errors.ChatError, client_id: str | None, slug: str | None):
        """Answer a refused frame; when access to the room itself is gone, say so."""
        wire = ProtocolError.of(error, client_id=client_id)
        if slug is not None:
            wire.extra.setdefault("room", slug)
        await self.send_error(wire)
        reason = error.extra.get("reason")
        lost = isinstance(error, errors.NotFound) and reason in protocol.CLOSED_DETAILS
        if lost and self.room is not None and self.room.slug == slug:
            await self.lose_room(self.room.pk, reason)

    def room_frame(self, frame: dict) -> dict:
        return {**frame, "room": self.room.slug} if "room" not in frame else frame

    async def on_view(self, command: ViewCommand):
        self.take_request_token()
        if command.room is None:
            await self.end_view()
            await self.send_frame({"type": "view", "room": None})
            return
        try:
            room, access = await database_sync_to_async(services.room_open)(
                slug=command.room, user=self.user
            )
        except errors.NotFound as error:
            raise ProtocolError(protocol.NOT_FOUND, error.detail, room=command.room) from None
        await self.end_view()
        self.hold()
        try:
            await self.open_view(room, access, command.since)
        finally:
            await self.release_held()

    async def open_view(self, room: Room, access, since: int | None):
        """Listen, then greet, then catch up: protocol 1's opening, for the room in view."""
        joined = await get_presence().join(
            room_id=room.pk,
            user_id=self.user_id,
            username=self.user.username,
            channel_name=self.channel_name,
            counted=False,
        )
        self.room = room
        await self.follow_room(room.pk)
        rev, catch_up, first_unread = await database_sync_to_async(_view_opening)(
            room=room, user=self.user, since=since
        )
        await self.send_frame(
            {
                "type": "view",
                "room": protocol.room_data(room),
                "me": protocol.hello_me(self.user, access),
                "online": joined.online,
                "rev": rev,
                # Where the "new messages" line goes: the oldest message not yet read.
                "first_unread_id": first_unread,
            }
        )
        if joined.first:
            await broadcast_presence(
                room_id=room.pk, username=self.user.username, status="online", online=joined.online
            )
        if catch_up is not None:
            await self.send_page({"type": "sync", **catch_up})

    async def end_view(self):
        """Stop showing the room in view (another is opened, or the tab closes)."""
        room, self.room = self.room, None
        if room is None:
            return
        last, online = await get_presence().leave(
            room_id=room.pk, user_id=self.user_id, channel_name=self.channel_name, counted=False
        )
        if last:
            await broadcast_presence(
                room_id=room.pk, username=self.user.username, status="offline", online=online
            )
        if self.in_hub:
            await self.follow_room(room.pk)

    async def on_read(self, command: ReadCommand):
        room_id = next((pk for pk, (slug, _) in self.rooms.items() if slug == command.room), None)
        if room_id is None:
            raise ProtocolError(protocol.NOT_FOUND, "Not one of your rooms.", room=command.room)
        self.check_may_write()  # a read marker is the user's to move, as a POST over HTTP
        self.take_request_token()
        await database_sync_to_async(_mark_read)(user=self.user, room_id=room_id, rev=command.rev)

    async def on_ping(self, command: PingCommand):
        # The room in view's revision rides along, as in protocol 1: a lost last event
        # shows as a gap at the next ping.
        frame = {"type": "pong", "t": command.t}
        if self.room is not None:
            try:
                frame["rev"] = await database_sync_to_async(selectors.room_rev)(
                    room_id=self.room.pk
                )
            except Room.DoesNotExist:
                await self.lose_room(self.room.pk, "deleted")
                return
            frame["room"] = self.room.slug
        await self.send_frame(frame)

    command_handlers = {ViewCommand: on_view, ReadCommand: on_read, PingCommand: on_ping}

    # --- events from the hub and the session watch ---------------------------------

    async def handle_event(self, event: dict):
        if not self.in_hub:
            return
        kind, data = event["kind"], event["data"]
        room_id = _room_id_of(event["topic"])
        if kind == events.SESSION_CHECK:
            await self.check_session(data)
            return
        if kind == events.ROOM_JOINED:
            # Off the hub's delivery, which a database read would stall for every socket
            # of the process; this socket's events wait meanwhile, in order.
            self.hold()
            joining = asyncio.ensure_future(self.join_room(data["room_id"]))
            if self.joining is None:
                self.joining = set()
            self.joining.add(joining)
            joining.add_done_callback(self.joining.discard)
            return
        if room_id is None:
            await self.send_text(tab_text(event, None))
            return
        if kind == events.MEMBER_REMOVED and data["user"]["id"] == self.user_id:
            await self.lose_room(room_id, data["reason"])
            return
        if kind == events.ROOM_DELETED:
            await self.lose_room(room_id, "deleted", room_name=data.get("name"))
            return
        if kind == events.ROOM_ACCESS:
            allowed = event.get("allowed")
            if allowed is None:
                await self.close(protocol.CLOSE_UNAVAILABLE)  # reconnecting checks again
            elif self.user_id not in allowed:
                await self.lose_room(room_id, data.get("reason", "private"))
            return
        slug = self.slug_of(room_id)
        if slug is None:
            return
        if kind in _VIEW_ONLY and (self.room is None or self.room.pk != room_id):
            return  # who is online or typing matters only in the room in view
        if kind == events.ROOM_UPDATED:
            self.room_renamed(room_id, data["room"]["name"])
        await self.send_text(tab_text(event, slug))

    def slug_of(self, room_id: int) -> str | None:
        if self.room is not None and self.room.pk == room_id:
            return self.room.slug
        known = self.rooms.get(room_id)
        return known[0] if known else None

    def room_renamed(self, room_id: int, name: str) -> None:
        if room_id in self.rooms:
            self.rooms[room_id] = (self.rooms[room_id][0], name)
        if self.room is not None and self.room.pk == room_id:
            self.room.name = name

    async def send_text(self, text: str | None) -> None:
        if text is not None:
            await self.send(text_data=text)

    async def join_room(self, room_id: int) -> None:
        """The user became a member: listen to the room, then send its state (on hold)."""
        try:
            self.rooms.setdefault(room_id, ("", ""))
            await self.follow_room(room_id)
            state = await database_sync_to_async(_member_room)(user=self.user, room_id=room_id)
            if state is None:  # left again, or gone, since
                self.rooms.pop(room_id, None)
                await self.follow_room(room_id)
                return
            self.rooms[room_id] = (state["slug"], state["name"])
            await self.send_frame({"type": "room.joined", "room": state})
        except Exception:
            # The next hello brings the room: reconnecting reads everything again.
            logger.warning("A tab could not follow a room it joined.", exc_info=True)
            await self.close(protocol.CLOSE_UNAVAILABLE)
        finally:
            if self.in_hub:
                await self.release_held()

    async def lose_room(self, room_id: int, reason: str, *, room_name: str | None = None):
        """The user can no longer see a room (or was removed from it): stop, and say why."""
        slug_name = self.rooms.pop(room_id, None)
        if self.room is not None and self.room.pk == room_id:
            slug_name = (self.room.slug, self.room.name)
            await self.end_view()
        await self.follow_room(room_id)
        if slug_name is not None:
            slug, name = slug_name
            await self.send_frame(room_lost(slug, reason, room_name or name))
