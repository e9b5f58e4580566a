"""Typed objects for what the server sends: messages and the events of a room."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Author:
    id: int
    username: str
    display_name: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Author":
        return cls(
            id=int(data["id"]),
            username=str(data["username"]),
            display_name=str(data.get("display_name") or ""),
        )


@dataclass(frozen=True)
class Message:
    """A message in the state one revision of its room left it (docs/protocol.md)."""

    id: int
    rev: int
    room: str
    author: Author
    body: str
    created_at: str
    deleted: bool = False
    edited_at: str | None = None
    client_id: str | None = None
    created_rev: int | None = None
    reactions: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Message":
        return cls(
            id=int(data["id"]),
            rev=int(data["rev"]),
            room=str(data.get("room") or ""),
            author=Author.from_json(data["author"]),
            body=str(data.get("body") or ""),
            created_at=str(data.get("created_at") or ""),
            deleted=bool(data.get("deleted")),
            edited_at=data.get("edited_at"),
            client_id=data.get("client_id"),
            created_rev=data.get("created_rev"),
            reactions=list(data.get("reactions") or []),
            raw=data,
        )


@dataclass(frozen=True)
class Event:
    """Something that happened in a room."""

    room: str


@dataclass(frozen=True)
class Connected(Event):
    """A socket was greeted (hello): first connection or a reconnect, caught up."""

    rev: int
    me: dict[str, Any]
    online: list[str]
    reconnect: bool


@dataclass(frozen=True)
class Disconnected(Event):
    """The socket went away; the client reconnects and catches up by itself.

    `dead` is true when the heartbeat found the connection silent (no pong in time)."""

    code: int | None
    dead: bool


@dataclass(frozen=True)
class MessageEvent(Event):
    message: Message


@dataclass(frozen=True)
class MessageNew(MessageEvent):
    """A message was posted (live, or found by catch-up after a gap)."""


@dataclass(frozen=True)
class MessageUpdated(MessageEvent):
    """A message was edited (or changed while the client was away)."""


@dataclass(frozen=True)
class MessageDeleted(MessageEvent):
    """A message was deleted."""


@dataclass(frozen=True)
class MessageReactions(MessageEvent):
    """A message's reactions changed."""


@dataclass(frozen=True)
class Typing(Event):
    user: str
    active: bool


@dataclass(frozen=True)
class Presence(Event):
    user: str
    status: str
    online: list[str]


@dataclass(frozen=True)
class RoomUpdated(Event):
    data: dict[str, Any]


@dataclass(frozen=True)
class MemberUpdated(Event):
    member: dict[str, Any]


@dataclass(frozen=True)
class MemberRemoved(Event):
    user: dict[str, Any]
    reason: str


@dataclass(frozen=True)
class RoomClosed(Event):
    """This client lost the room (banned, removed, left, deleted): no reconnect follows."""

    reason: str
    detail: str


@dataclass(frozen=True)
class ServerError(Event):
    """An `error` frame not tied to a message of the outbox."""

    code: str
    detail: str
    frame: dict[str, Any]


@dataclass(frozen=True)
class Other(Event):
    """A frame this library does not model (new frame types are allowed by the protocol)."""

    frame: dict[str, Any]


MESSAGE_EVENTS: dict[str, type[MessageEvent]] = {
    "message.new": MessageNew,
    "message.updated": MessageUpdated,
    "message.deleted": MessageDeleted,
    "message.reactions": MessageReactions,
}


def other_event(slug: str, frame: dict[str, Any]) -> Event:
    """Build the event of a frame that is not about the timeline (no revision)."""
    kind = frame.get("type")
    if kind == "typing":
        return Typing(room=slug, user=str(frame.get("user")), active=bool(frame.get("active")))
    if kind == "presence":
        return Presence(
            room=slug,
            user=str(frame.get("user")),
            status=str(frame.get("status")),
            online=list(frame.get("online") or []),
        )
    if kind == "room.updated":
        return RoomUpdated(room=slug, data=dict(frame.get("room") or {}))
    if kind == "member.updated":
        return MemberUpdated(room=slug, member=dict(frame.get("member") or {}))
    if kind == "member.removed":
        return MemberRemoved(
            room=slug, user=dict(frame.get("user") or {}), reason=str(frame.get("reason"))
        )
    if kind == "room.closed":
        return RoomClosed(
            room=slug, reason=str(frame.get("reason")), detail=str(frame.get("detail") or "")
        )
    if kind == "error":
        return ServerError(
            room=slug,
            code=str(frame.get("code")),
            detail=str(frame.get("detail") or ""),
            frame=frame,
        )
    return Other(room=slug, frame=frame)
