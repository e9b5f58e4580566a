"""Domain events and the one road they leave by.

Every realtime effect (a message, a room change, a member's change, presence, typing,
a nudge to re-check a login) is an `Event` with an `Audience`: a room, some users, or
everyone. Writes call `emit`, which sends the event once the transaction commits, so a
rolled-back write reaches no one; code outside a transaction (presence, typing) awaits
`emit_now`. Both hand the event to the transport that the realtime side registers when
the app starts (chat.realtime.hub: the channel layer, to every process's hub), and
nothing else in the project sends to the channel layer's groups.

Events carry plain data (numbers, strings, lists, dicts): they cross processes through
the channel layer. The wire protocol (chat.realtime.protocol) decides what, if anything,
each event looks like on a socket.

Tests see what a write sent with `captured_events()`.
"""

import contextlib
import threading
from dataclasses import dataclass
from typing import Protocol

from django.db import transaction

# Kinds of events (the protocol names the frames they become, if any).
MESSAGE_NEW = "message.new"
MESSAGE_UPDATED = "message.updated"
MESSAGE_DELETED = "message.deleted"
MESSAGE_REACTIONS = "message.reactions"  # its reactions changed (a revision, never unread)
PRESENCE = "presence"
TYPING = "typing"
ROOM_UPDATED = "room.updated"  # to the room: its name, topic, privacy or archive changed
ROOM_ACCESS = "room.access"  # to the room: who may see it changed; sockets re-check
ROOM_DELETED = "room.deleted"
ROOMS_UPDATED = "rooms.updated"  # to whoever lists the room: it changed
ROOMS_REMOVED = "rooms.removed"  # to whoever listed the room: it is gone for them
ROOM_READ = "room.read"  # to a user: their read marker of a room moved (every tab clears)
ROOM_JOINED = "room.joined"  # to a user: they became a member of a room (its sockets listen)
MEMBER_UPDATED = "member.updated"
MEMBER_REMOVED = "member.removed"  # banned or removed: that user's sockets close
# To those who see a room's pending invitations: one was made, answered or revoked.
INVITATION_UPDATED = "invitation.updated"
SESSION_CHECK = "session.check"  # to a user: re-check the login of their sockets


@dataclass(frozen=True)
class Audience:
    """Who an event is for: one room's sockets, some users' sockets, or every socket."""

    room_id: int | None = None
    user_ids: tuple[int, ...] = ()
    everyone: bool = False

    def topics(self) -> list[str]:
        """Return the hub topics the event goes to."""
        if self.everyone:
            return ["all"]
        if self.room_id is not None:
            return [f"room:{int(self.room_id)}"]
        return [f"user:{int(user_id)}" for user_id in sorted(set(self.user_ids))]


def to_room(room_id: int) -> Audience:
    return Audience(room_id=room_id)


def to_users(user_ids) -> Audience:
    return Audience(user_ids=tuple(user_ids))


EVERYONE = Audience(everyone=True)


@dataclass(frozen=True)
class Event:
    kind: str
    data: dict
    audience: Audience
    # The socket that was answered directly, and a user whose sockets skip the event.
    origin_channel: str = ""
    skip_user_id: int | None = None


def emit(event: Event) -> None:
    """Send `event` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: _send(event))


async def emit_now(event: Event) -> None:
    """Send an event that belongs to no transaction (presence, typing), from async code."""
    _record(event)
    await _transport.asend(event)


def _send(event: Event) -> None:
    _record(event)
    _transport.send(event)


class Transport(Protocol):
    def send(self, event: Event) -> None: ...

    async def asend(self, event: Event) -> None: ...


class _NoTransport:
    """Before the app is ready nothing can be sent: say so rather than drop events."""

    def send(self, event: Event) -> None:
        raise RuntimeError("chat.events: no transport registered (is the chat app installed?)")

    async def asend(self, event: Event) -> None:
        self.send(event)


_transport: Transport = _NoTransport()


def set_transport(transport: Transport) -> None:
    """Register what carries events to open sockets (done once, when the app is ready)."""
    global _transport
    _transport = transport


# --- what tests see ----------------------------------------------------------------------

# Lists collecting the events sent, from any thread, while captured_events() runs.
_captures: list[list[Event]] = []
_captures_lock = threading.Lock()


def _record(event: Event) -> None:
    if _captures:
        with _captures_lock:
            for captured in _captures:
                captured.append(event)


@contextlib.contextmanager
def captured_events():
    """Collect the events sent (after commit, from any thread) while the block runs."""
    events: list[Event] = []
    with _captures_lock:
        _captures.append(events)
    try:
        yield events
    finally:
        with _captures_lock:
            _captures.remove(events)
