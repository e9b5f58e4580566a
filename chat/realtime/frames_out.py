"""Outbound frames: domain data and events as the frames a client receives, encoded
once (docs/protocol.md, "Frames the server sends")."""

import json

import orjson
from django.conf import settings

from .. import events
from ..records import format_time
from .wire import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND


def limits_data() -> dict:
    """Return the limits a client is told in `hello`."""
    return {
        "body_max": settings.CHAT_BODY_MAX,
        "frame_max": settings.CHAT_FRAME_MAX,
        "messages_per_10s": round(settings.CHAT_RATE_MESSAGES * 10 / settings.CHAT_RATE_PERIOD),
        # Attachments (docs/protocol.md): the largest file, the types, how many per message.
        "upload_max_bytes": settings.CHAT_UPLOAD_MAX_BYTES,
        "upload_types": list(settings.CHAT_UPLOAD_TYPES),
        "attachments_max": settings.CHAT_ATTACHMENTS_MAX,
    }


def encode(frame: dict) -> str:
    """Encode an outbound frame once, compactly (UTF-8, no escapes for non-ASCII)."""
    # orjson: a hello with 100 names online takes 1.5 us here, 16.5 us with json.dumps.
    try:
        return orjson.dumps(frame).decode()
    except orjson.JSONEncodeError:
        # What orjson refuses and json writes: integers past 64 bits, nesting past 254
        # levels, lone surrogates (a ping's `t` may hold any of them; see _clean_ping).
        return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def encode_page(frame: dict, *, keep_oldest: bool = False) -> str:
    """Encode a `sync` or `history` frame within CHAT_SEND_FRAME_MAX bytes.

    The server may not send a message larger than its WebSocket limit (clients size
    theirs to it; daphne's --websocket-max-message-size refuses to send one), and long
    messages make a full page larger than that. A page that does not fit is cut short, at least one
    message kept: a `sync` keeps its oldest revisions and says `complete: false` with the
    `rev` it reached; a `history` keeps its newest messages and says `has_more: true`,
    or, a page of newer messages (`keep_oldest`), its oldest and `has_newer: true`.
    Either way the client asks again, as it already does.
    """
    data = orjson.dumps(frame)
    limit = settings.CHAT_SEND_FRAME_MAX
    messages = frame["messages"]
    if len(data) <= limit or len(messages) <= 1:
        return data.decode()
    envelope = len(orjson.dumps({**frame, "messages": [], "complete": False, "has_more": True}))
    sizes = [len(orjson.dumps(message)) + 1 for message in messages]  # +1: the comma
    budget, kept = limit - envelope, 0
    oldest_first = frame["type"] == "sync" or keep_oldest
    ordered = sizes if oldest_first else reversed(sizes)
    for size in ordered:
        if kept and budget < size:
            break
        budget -= size
        kept += 1
    if frame["type"] == "sync":
        kept_messages = messages[:kept]
        cut = {"messages": kept_messages, "rev": kept_messages[-1]["rev"], "complete": False}
    elif keep_oldest:
        cut = {"messages": messages[:kept], "has_newer": True}
    else:
        cut = {"messages": messages[len(messages) - kept :], "has_more": True}
    return orjson.dumps({**frame, **cut}).decode()


def hello_me(user, access) -> dict:
    """Return `hello.me`: who the socket is, and what they may do in the room."""
    return {
        "id": user.pk,
        "username": user.get_username(),
        "staff": user.is_staff,
        "role": access.role,
        "muted": access.muted,
        "muted_until": format_time(access.muted_until),
        "can_moderate": access.moderate,
        "can_manage_roles": access.manage_roles,
    }


# Events whose data is the frame's body as it is, under `type` = the event's kind.
_FORWARDED = frozenset(
    {
        events.MESSAGE_NEW,
        events.MESSAGE_UPDATED,
        events.MESSAGE_DELETED,
        events.MESSAGE_REACTIONS,
        events.PRESENCE,
        events.TYPING,
        events.ROOM_UPDATED,
        events.ROOMS_UPDATED,
        events.ROOMS_REMOVED,
        events.MEMBER_UPDATED,
        events.MEMBER_REMOVED,
        events.ROOM_READ,
    }
)


def event_frame(kind: str, data: dict) -> dict | None:
    """Return the protocol-1 frame of a domain event, or None when it has none."""
    if kind not in _FORWARDED:
        return None
    frame = {"type": kind}
    frame.update((name, value) for name, value in data.items() if not name.startswith("_"))
    return frame


def encode_event(event: dict) -> str | None:
    """Encode the frame of an event as it arrives at a hub (once per process)."""
    frame = event_frame(event["kind"], event["data"])
    return None if frame is None else encode(frame)


# Why a socket was closed by the room's side, as the `room.closed` frame says it.
CLOSED_DETAILS = {
    "banned": "You were banned from {room}.",
    "removed": "You were removed from {room}.",
    "private": "{room} is now private: you no longer have access to it.",
    "deleted": "{room} was deleted.",
    "left": "You left {room}.",
}
CLOSED_CODES = {"deleted": CLOSE_NOT_FOUND}


def room_closed(reason: str, room_name: str) -> tuple[dict, int]:
    """Return the `room.closed` frame for `reason` and the close code that follows it."""
    detail = CLOSED_DETAILS.get(reason, "You no longer have access to {room}.")
    frame = {"type": "room.closed", "reason": reason, "detail": detail.format(room=room_name)}
    return frame, CLOSED_CODES.get(reason, CLOSE_FORBIDDEN)
