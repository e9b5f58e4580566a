"""The wire format of docs/protocol.md: frame validation, frames from domain data, codes.

Both transports, the WebSocket consumer and the HTTP API, validate through the
functions here, so a message is judged the same way whichever way it arrives. Domain
errors (chat.errors) and events (chat.events) become frames here and nowhere else.
"""

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings

from ops import metrics

from .. import errors, events
from ..models import CLIENT_ID_PATTERN
from ..records import MESSAGE_FIELDS, format_time, message_data, message_row_data, room_data
from ..validation import clean_attachment_ids
from ..validation import clean_body as clean_message_body
from ..validation import clean_emoji as clean_reaction_emoji

__all__ = ["MESSAGE_FIELDS", "format_time", "message_data", "message_row_data", "room_data"]

PROTOCOL_VERSION = 1

# Close codes (PROTOCOL.md, "Close codes").
CLOSE_TOO_MANY_BAD_FRAMES = 4400
CLOSE_UNAUTHENTICATED = 4401
# Banned or removed from the room, or it turned private: a `room.closed` frame says which.
CLOSE_FORBIDDEN = 4403
# No such room (also: a private room the user may not see), or it was deleted.
CLOSE_NOT_FOUND = 4404
# The user has CHAT_MAX_SOCKETS_PER_USER sockets open already (every room, every process).
CLOSE_TOO_MANY_SOCKETS = 4429
# The database or the channel layer failed: reconnect (with backoff) and catch up. Not
# 1011: daphne (autobahn) lets an application close only with 1000 or 3000-4999, and
# raises on anything else (django/daphne#374).
CLOSE_UNAVAILABLE = 4503

# Error codes (PROTOCOL.md, "Error codes").
BAD_JSON = "bad_json"
BAD_FRAME = "bad_frame"
EMPTY = "empty"
TOO_LONG = "too_long"
RATE_LIMITED = "rate_limited"
NOT_FOUND = "not_found"
FORBIDDEN = "forbidden"
ROOM_ARCHIVED = "room_archived"
MUTED = "muted"
SERVER_ERROR = "server_error"

# Codes that count towards the bad-frame limit: malformed input, not refused actions.
MALFORMED_CODES = frozenset({BAD_JSON, BAD_FRAME, TOO_LONG})

CLIENT_ID_RE = re.compile(rf"\A{CLIENT_ID_PATTERN}\Z")
HISTORY_LIMIT_MAX = 100
# Deeper than any frame of the protocol, far from Python's recursion limit.
MAX_NESTING = 32
# A JavaScript client can represent integers up to 2**53 exactly; anything larger is garbage.
MAX_INT = 2**53 - 1


class ProtocolError(errors.ChatError):
    """An inbound frame or request that the protocol refuses, or a domain error on the wire."""

    def __init__(self, code: str, detail: str, *, client_id: str | None = None, **extra):
        super().__init__(detail, **extra)
        self.code = code
        self.client_id = client_id

    @classmethod
    def of(cls, error: errors.ChatError, *, client_id: str | None = None) -> "ProtocolError":
        """Return the wire form of a domain error, echoing the frame's client_id."""
        if isinstance(error, ProtocolError):
            if error.client_id is None:
                error.client_id = client_id
            return error
        return cls(error.code, error.detail, client_id=client_id, **error.extra)

    @property
    def retry_after(self):
        return self.extra.get("retry_after")

    def as_frame(self) -> dict:
        """Return the `error` frame that reports this error."""
        frame = {"type": "error", "code": self.code, "detail": self.detail}
        if self.client_id is not None:
            frame["client_id"] = self.client_id
        for name, value in self.extra.items():
            frame[name] = format_time(value) if hasattr(value, "utcoffset") else value
        return frame


# --- inbound frames ----------------------------------------------------------


@dataclass(frozen=True)
class SendCommand:
    client_id: str | None
    body: str
    reply_to: int | None = None  # the id of the message it answers
    attachments: tuple[int, ...] = ()  # the ids of the sender's uploads it carries


@dataclass(frozen=True)
class EditCommand:
    message_id: int
    body: str


@dataclass(frozen=True)
class DeleteCommand:
    message_id: int


@dataclass(frozen=True)
class ReactionCommand:
    message_id: int
    emoji: str
    on: bool  # reaction.add; False: reaction.remove


@dataclass(frozen=True)
class TypingCommand:
    active: bool


@dataclass(frozen=True)
class SyncCommand:
    since: int


@dataclass(frozen=True)
class HistoryCommand:
    before: int | None
    limit: int
    # At most one of before, after and around: older than, newer than, or around an id.
    after: int | None = None
    around: int | None = None


@dataclass(frozen=True)
class PingCommand:
    t: Any


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    # Python reads NaN, Infinity and 1e400; a browser's JSON.parse would refuse their echo.
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def _nested_deeper_than(value, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in item)
    return False


def decode_frame(text: str) -> dict:
    """Parse a text frame into a JSON object, or raise ProtocolError; count it by type."""
    try:
        data = _decode_object(text)
    except ProtocolError:
        metrics.frame_received(None)
        raise
    metrics.frame_received(data.get("type"))
    return data


def _decode_object(text: str) -> dict:
    # "surrogatepass": a str may hold lone surrogates; the field checks refuse them later.
    size = len(text.encode("utf-8", "surrogatepass"))
    if len(text) > settings.CHAT_FRAME_MAX or size > settings.CHAT_FRAME_MAX:
        raise ProtocolError(TOO_LONG, f"Frames are limited to {settings.CHAT_FRAME_MAX} bytes.")
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, RecursionError):
        raise ProtocolError(BAD_JSON, "The frame is not valid JSON.") from None
    # A reply may echo a value (ping's t): one too deep to encode again is refused here.
    if _nested_deeper_than(data, MAX_NESTING):
        raise ProtocolError(BAD_JSON, "The frame is nested too deeply.")
    if not isinstance(data, dict):
        raise ProtocolError(BAD_FRAME, "A frame must be a JSON object.")
    return data


def _client_id_of(data: dict) -> str | None:
    """Return the frame's client_id when it is a well-formed one, to echo in errors."""
    client_id = data.get("client_id")
    if isinstance(client_id, str) and CLIENT_ID_RE.match(client_id):
        return client_id
    return None


def parse_int(value: Any, name: str, *, minimum: int, maximum: int = MAX_INT) -> int:
    """Read an integer from a frame (a JSON number) or a query string (digits).

    The one parser of every `since`, `before`, `limit` and id: bounded to what a
    JavaScript client represents exactly, never `true` for 1, never "+1" or " 1".
    """
    if isinstance(value, str):
        if not value.isascii() or not value.isdigit():
            raise ProtocolError(BAD_FRAME, f"'{name}' must be an integer.")
        # int() refuses more than 4300 digits: compare lengths first.
        digits = value.lstrip("0") or "0"
        if len(digits) > len(str(MAX_INT)):
            raise ProtocolError(BAD_FRAME, f"'{name}' is out of range.")
        value = int(digits)
    # bool is an int in Python; the protocol does not accept true as 1.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProtocolError(BAD_FRAME, f"'{name}' must be an integer.")
    if not minimum <= value <= maximum:
        raise ProtocolError(BAD_FRAME, f"'{name}' is out of range.")
    return value


def _int_field(data: dict, name: str, *, minimum: int, required: bool = True) -> int | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if isinstance(value, str):  # a frame's integers are JSON numbers, not strings
        raise ProtocolError(BAD_FRAME, f"'{name}' must be an integer.")
    return parse_int(value, name, minimum=minimum)


def _is_utf8_encodable(text: str) -> bool:
    # JSON escapes such as "\ud800" decode to lone surrogates, which no database
    # stores and no WebSocket text frame can carry.
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def clean_body(value: Any, *, client_id: str | None = None, allow_empty: bool = False) -> str:
    """Validate a message body as the services do, as a wire error echoing `client_id`."""
    try:
        return clean_message_body(value, allow_empty=allow_empty)
    except errors.ChatError as error:
        raise ProtocolError.of(error, client_id=client_id) from None


def clean_send(data: dict) -> SendCommand:
    """Validate the fields of a message to send (WebSocket frame or HTTP POST body)."""
    client_id = data.get("client_id")
    if client_id is not None and not (isinstance(client_id, str) and CLIENT_ID_RE.match(client_id)):
        raise ProtocolError(BAD_FRAME, "'client_id' must be 1-64 characters of [A-Za-z0-9_-].")
    try:
        reply_to = _int_field(data, "reply_to", minimum=1, required=False)
        attachments = clean_attachment_ids(data.get("attachments"))
    except errors.ChatError as error:  # a ProtocolError too
        raise ProtocolError.of(error, client_id=client_id) from None
    # A message may be files alone: then its body may be empty.
    body = data.get("body", "" if attachments else None)
    body = clean_body(body, client_id=client_id, allow_empty=bool(attachments))
    return SendCommand(
        client_id=client_id, body=body, reply_to=reply_to, attachments=tuple(attachments)
    )


def _clean_edit(data: dict) -> EditCommand:
    return EditCommand(
        message_id=_int_field(data, "id", minimum=1), body=clean_body(data.get("body"))
    )


def _clean_delete(data: dict) -> DeleteCommand:
    return DeleteCommand(message_id=_int_field(data, "id", minimum=1))


def clean_emoji(value: Any) -> str:
    """Validate a reaction's emoji as the services do (chat.validation.clean_emoji)."""
    try:
        return clean_reaction_emoji(value)
    except errors.ChatError as error:
        raise ProtocolError.of(error) from None


def _clean_reaction(data: dict, *, on: bool) -> ReactionCommand:
    return ReactionCommand(
        message_id=_int_field(data, "id", minimum=1), emoji=clean_emoji(data.get("emoji")), on=on
    )


def _clean_typing(data: dict) -> TypingCommand:
    active = data.get("active")
    if not isinstance(active, bool):
        raise ProtocolError(BAD_FRAME, "'active' must be true or false.")
    return TypingCommand(active=active)


def _clean_sync(data: dict) -> SyncCommand:
    return SyncCommand(since=_int_field(data, "since", minimum=0))


def clean_limit(value: Any) -> int:
    """Validate a page size: an integer from 1 to 100, 50 when absent."""
    if value is None:
        return settings.CHAT_PAGE_SIZE
    try:
        if isinstance(value, str):  # a frame's integers are JSON numbers, not strings
            raise ProtocolError(BAD_FRAME, "'limit' must be an integer.")
        return parse_int(value, "limit", minimum=1, maximum=HISTORY_LIMIT_MAX)
    except ProtocolError:
        message = f"'limit' must be an integer from 1 to {HISTORY_LIMIT_MAX}."
        raise ProtocolError(BAD_FRAME, message) from None


def _clean_history(data: dict) -> HistoryCommand:
    command = HistoryCommand(
        before=_int_field(data, "before", minimum=1, required=False),
        after=_int_field(data, "after", minimum=0, required=False),
        around=_int_field(data, "around", minimum=1, required=False),
        limit=clean_limit(data.get("limit")),
    )
    anchors = [command.before, command.after, command.around]
    if sum(anchor is not None for anchor in anchors) > 1:
        raise ProtocolError(BAD_FRAME, "Give at most one of 'before', 'after' and 'around'.")
    return command


def _clean_ping(data: dict) -> PingCommand:
    t = data.get("t")
    if not _is_utf8_encodable(encode(t)):
        raise ProtocolError(BAD_FRAME, "'t' is not valid Unicode.")
    return PingCommand(t=t)


# The allow-list of inbound frame types: a client's `type` is never used as a method name.
FRAME_CLEANERS = {
    "message.send": clean_send,
    "message.edit": _clean_edit,
    "message.delete": _clean_delete,
    "reaction.add": lambda data: _clean_reaction(data, on=True),
    "reaction.remove": lambda data: _clean_reaction(data, on=False),
    "typing": _clean_typing,
    "sync": _clean_sync,
    "history": _clean_history,
    "ping": _clean_ping,
}
metrics.count_frame_types(FRAME_CLEANERS)


def parse_frame(text: str):
    """Decode and validate one inbound text frame into a command, or raise ProtocolError."""
    data = decode_frame(text)
    cleaner = FRAME_CLEANERS.get(data.get("type")) if isinstance(data.get("type"), str) else None
    if cleaner is None:
        raise ProtocolError(BAD_FRAME, "Unknown frame type.", client_id=_client_id_of(data))
    try:
        return cleaner(data)
    except errors.ChatError as error:
        raise ProtocolError.of(error, client_id=_client_id_of(data)) from None


# --- outbound objects and events ----------------------------------------------


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

    The server may not send a message larger than its WebSocket limit (daphne's
    --websocket-max-message-size refuses to send one, too), and long messages make a
    full page larger than that. A page that does not fit is cut short, at least one
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
