"""Protocol 2 (docs/protocol.md): one socket per tab, for every room the user follows.

Its frames are protocol 1's, with two differences: a frame about a room names it
(`"room": slug`), and it has frames of its own: `view` (which room the tab shows),
`read` (move a read marker), and the user's events (the inbox, read markers, the rooms
joined and lost). Validation and encoding live here; protocol.py keeps protocol 1's.
"""

import re
from dataclasses import dataclass

import orjson
from django.conf import settings

from ops import metrics

from .. import events
from ..models import SLUG_PATTERN
from . import protocol
from .protocol import BAD_FRAME, ProtocolError

TAB_PROTOCOL_VERSION = 2

# A room command naming a room other than the one in view.
NOT_VIEWING = "not_viewing"

SLUG_RE = re.compile(rf"\A{SLUG_PATTERN}\Z")

# Kinds of the user's and everyone's topics forwarded to a tab as they are; other apps
# (the inbox) add theirs with forward_user_kind.
_USER_KINDS = {
    events.ROOM_READ,
    events.ROOMS_UPDATED,
    events.ROOMS_REMOVED,
    events.INVITATION_UPDATED,  # a private room's, to its moderators
}
# Kinds of the room topics that go to a tab, with the room's slug added.
_ROOM_KINDS = {
    events.MESSAGE_NEW,
    events.MESSAGE_UPDATED,
    events.MESSAGE_DELETED,
    events.MESSAGE_REACTIONS,
    events.PRESENCE,
    events.TYPING,
    events.ROOM_UPDATED,
    events.MEMBER_UPDATED,
    events.MEMBER_REMOVED,
    events.INVITATION_UPDATED,  # a public room's, to its members
}


def forward_user_kind(kind: str) -> None:
    """Forward events of `kind` to the user's tabs as they are (done by apps when ready)."""
    _USER_KINDS.add(kind)


@dataclass(frozen=True)
class ViewCommand:
    room: str | None
    since: int | None


@dataclass(frozen=True)
class ReadCommand:
    room: str
    rev: int


def _slug(data: dict, *, required: bool = True) -> str | None:
    value = data.get("room")
    if value is None and not required:
        return None
    if not isinstance(value, str) or not SLUG_RE.match(value):
        raise ProtocolError(BAD_FRAME, "'room' must be a room's slug.")
    return value


def _clean_view(data: dict) -> ViewCommand:
    room = _slug(data, required=False)
    since = data.get("since")
    if since is not None:
        if isinstance(since, str):
            raise ProtocolError(BAD_FRAME, "'since' must be an integer.")
        since = protocol.parse_int(since, "since", minimum=0)
    return ViewCommand(room=room, since=since)


def _clean_read(data: dict) -> ReadCommand:
    rev = data.get("rev")
    if isinstance(rev, str):
        raise ProtocolError(BAD_FRAME, "'rev' must be an integer.")
    return ReadCommand(room=_slug(data), rev=protocol.parse_int(rev, "rev", minimum=0))


_TAB_CLEANERS = {"view": _clean_view, "read": _clean_read}
metrics.count_frame_types(_TAB_CLEANERS)
# Protocol 1's room commands, which name their room here.
ROOM_COMMAND_TYPES = frozenset(protocol.FRAME_CLEANERS) - {"ping"}


def parse_tab_frame(text: str) -> tuple[str | None, object]:
    """Decode one inbound frame into (the room it names, the command), or raise."""
    data = protocol.decode_frame(text)
    kind = data.get("type") if isinstance(data.get("type"), str) else None
    client_id = protocol._client_id_of(data)
    try:
        if kind in _TAB_CLEANERS:
            return None, _TAB_CLEANERS[kind](data)
        if kind in ROOM_COMMAND_TYPES:
            room = _slug(data)
            return room, protocol.FRAME_CLEANERS[kind](data)
        if kind == "ping":
            return None, protocol.FRAME_CLEANERS[kind](data)
    except ProtocolError as error:
        raise ProtocolError.of(error, client_id=client_id) from None
    raise ProtocolError(BAD_FRAME, "Unknown frame type.", client_id=client_id)


def tab_text(event: dict, slug: str | None) -> str | None:
    """Return the protocol-2 text of an event as a hub hands it over, encoded once.

    `slug` is the room of a room topic's event (every tab listening to that topic has
    the same one); None for the user's and everyone's topics.
    """
    if "tab_text" not in event:
        event["tab_text"] = _encode_tab_event(event["kind"], event["data"], slug)
    return event["tab_text"]


def _encode_tab_event(kind: str, data: dict, slug: str | None) -> str | None:
    if kind not in (_ROOM_KINDS if slug is not None else _USER_KINDS):
        return None
    frame = {"type": kind}
    frame.update((name, value) for name, value in data.items() if not name.startswith("_"))
    if slug is not None:
        # Frames that already name it keep theirs: room.updated's `room` is the room.
        frame.setdefault("room", slug)
    return protocol.encode(frame)


def room_lost(slug: str, reason: str, room_name: str) -> dict:
    """Return the `room.closed` frame of a room the user can no longer see."""
    frame, _code = protocol.room_closed(reason, room_name)
    return {**frame, "room": slug}


def hello_frames(hello: dict) -> list[str]:
    """Encode `hello`, its rooms carried on by `rooms` frames where one frame is too small.

    A frame may not exceed CHAT_SEND_FRAME_MAX bytes (clients size their limit to the
    server's --max-message-size; daphne refuses to send more than its own): a user in a
    few hundred rooms has a larger list.
    Then `hello` says `rooms_complete: false` and `rooms` frames follow, each as full as
    the limit allows, the last with `complete: true`, before anything else.
    """
    text = orjson.dumps(hello)
    limit = settings.CHAT_SEND_FRAME_MAX
    if len(text) <= limit:
        return [text.decode()]
    rooms = hello["rooms"]
    frames = [protocol.encode({**hello, "rooms": [], "rooms_complete": False})]
    envelope = len(orjson.dumps({"type": "rooms", "rooms": [], "complete": False}))
    chunk, size = [], envelope
    for room in rooms:
        room_size = len(orjson.dumps(room)) + 1  # +1: the comma
        if chunk and size + room_size > limit:
            frames.append(protocol.encode({"type": "rooms", "rooms": chunk, "complete": False}))
            chunk, size = [], envelope
        chunk.append(room)
        size += room_size
    frames.append(protocol.encode({"type": "rooms", "rooms": chunk, "complete": True}))
    return frames
