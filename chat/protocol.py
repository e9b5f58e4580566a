"""The wire format of PROTOCOL.md: frame validation, event builders, names, codes.

Both transports, the WebSocket consumer and the HTTP API, validate through the
functions here, so a message is judged the same way whichever way it arrives.
"""

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from django.conf import settings

from .models import CLIENT_ID_PATTERN, Message, Room

PROTOCOL_VERSION = 1

# Close codes (PROTOCOL.md, "Close codes").
CLOSE_TOO_MANY_BAD_FRAMES = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
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
SERVER_ERROR = "server_error"

# Codes that count towards the bad-frame limit: malformed input, not refused actions.
MALFORMED_CODES = frozenset({BAD_JSON, BAD_FRAME, TOO_LONG})

CLIENT_ID_RE = re.compile(rf"\A{CLIENT_ID_PATTERN}\Z")
HISTORY_LIMIT_MAX = 100
# Deeper than any frame of the protocol, far from Python's recursion limit.
MAX_NESTING = 32
# A JavaScript client can represent integers up to 2**53 exactly; anything larger is garbage.
MAX_INT = 2**53 - 1


class ProtocolError(Exception):
    """An inbound frame or request that the protocol refuses."""

    def __init__(self, code: str, detail: str, *, client_id: str | None = None, retry_after=None):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.client_id = client_id
        self.retry_after = retry_after

    def as_frame(self) -> dict:
        """Return the `error` frame that reports this error."""
        frame = {"type": "error", "code": self.code, "detail": self.detail}
        if self.client_id is not None:
            frame["client_id"] = self.client_id
        if self.retry_after is not None:
            frame["retry_after"] = self.retry_after
        return frame


# --- group names -------------------------------------------------------------


def room_group_name(room_id: int) -> str:
    """Return the channel-layer group of a room (ASCII, at most 100 chars)."""
    return f"chat.room.{int(room_id)}"


def user_group_name(user_id: int) -> str:
    """Return the channel-layer group of all of a user's sockets."""
    return f"chat.user.{int(user_id)}"


# --- inbound frames ----------------------------------------------------------


@dataclass(frozen=True)
class SendCommand:
    client_id: str | None
    body: str


@dataclass(frozen=True)
class EditCommand:
    message_id: int
    body: str


@dataclass(frozen=True)
class DeleteCommand:
    message_id: int


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
    """Parse a text frame into a JSON object, or raise ProtocolError."""
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


def _int_field(data: dict, name: str, *, minimum: int, required: bool = True) -> int | None:
    value = data.get(name)
    if value is None and not required:
        return None
    # bool is an int in Python; the protocol does not accept true as 1.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProtocolError(BAD_FRAME, f"'{name}' must be an integer.")
    if not minimum <= value <= MAX_INT:
        raise ProtocolError(BAD_FRAME, f"'{name}' is out of range.")
    return value


def _is_utf8_encodable(text: str) -> bool:
    # JSON escapes such as "\ud800" decode to lone surrogates, which no database
    # stores and no WebSocket text frame can carry.
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def clean_body(value: Any, *, client_id: str | None = None) -> str:
    """Validate a message body: a string, stripped, not empty, within `body_max`."""
    if not isinstance(value, str):
        raise ProtocolError(BAD_FRAME, "'body' must be a string.", client_id=client_id)
    body = value.strip()
    if not body:
        raise ProtocolError(EMPTY, "The message is empty.", client_id=client_id)
    if len(body) > settings.CHAT_BODY_MAX:
        raise ProtocolError(
            TOO_LONG,
            f"Messages are limited to {settings.CHAT_BODY_MAX} characters.",
            client_id=client_id,
        )
    if "\x00" in body:
        raise ProtocolError(BAD_FRAME, "The message contains a NUL character.", client_id=client_id)
    if not _is_utf8_encodable(body):
        raise ProtocolError(BAD_FRAME, "The message is not valid Unicode.", client_id=client_id)
    return body


def clean_send(data: dict) -> SendCommand:
    """Validate the fields of a message to send (WebSocket frame or HTTP POST body)."""
    client_id = data.get("client_id")
    if client_id is not None and not (isinstance(client_id, str) and CLIENT_ID_RE.match(client_id)):
        raise ProtocolError(BAD_FRAME, "'client_id' must be 1-64 characters of [A-Za-z0-9_-].")
    return SendCommand(client_id=client_id, body=clean_body(data.get("body"), client_id=client_id))


def _clean_edit(data: dict) -> EditCommand:
    return EditCommand(
        message_id=_int_field(data, "id", minimum=1), body=clean_body(data.get("body"))
    )


def _clean_delete(data: dict) -> DeleteCommand:
    return DeleteCommand(message_id=_int_field(data, "id", minimum=1))


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
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= HISTORY_LIMIT_MAX:
        raise ProtocolError(BAD_FRAME, f"'limit' must be an integer from 1 to {HISTORY_LIMIT_MAX}.")
    return value


def _clean_history(data: dict) -> HistoryCommand:
    return HistoryCommand(
        before=_int_field(data, "before", minimum=1, required=False),
        limit=clean_limit(data.get("limit")),
    )


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
    "typing": _clean_typing,
    "sync": _clean_sync,
    "history": _clean_history,
    "ping": _clean_ping,
}


def parse_frame(text: str):
    """Decode and validate one inbound text frame into a command, or raise ProtocolError."""
    data = decode_frame(text)
    cleaner = FRAME_CLEANERS.get(data.get("type")) if isinstance(data.get("type"), str) else None
    if cleaner is None:
        raise ProtocolError(BAD_FRAME, "Unknown frame type.", client_id=_client_id_of(data))
    try:
        return cleaner(data)
    except ProtocolError as error:
        if error.client_id is None:
            error.client_id = _client_id_of(data)
        raise


# --- outbound objects and events ----------------------------------------------


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
    "body",
    "created_at",
    "edited_at",
    "deleted_at",
    "client_id",
)


def message_row_data(row: tuple, room_slug: str) -> dict:
    """Return the protocol's Message object from a row of MESSAGE_FIELDS."""
    message_id, rev, author_id, username, body, created_at, edited_at, deleted_at, client_id = row
    deleted = deleted_at is not None
    return {
        "id": message_id,
        "rev": rev,
        "room": room_slug,
        "author": {"id": author_id, "username": username},
        "body": "" if deleted else body,
        "created_at": format_time(created_at),
        "edited_at": format_time(edited_at),
        "deleted": deleted,
        "client_id": client_id,
    }


def message_data(message: Message, *, room_slug: str | None = None) -> dict:
    """Return the protocol's Message object (needs `author` loaded)."""
    row = (
        message.pk,
        message.rev,
        message.author_id,
        message.author.username,
        message.body,
        message.created_at,
        message.edited_at,
        message.deleted_at,
        message.client_id,
    )
    return message_row_data(row, room_slug if room_slug is not None else message.room.slug)


def room_data(room: Room) -> dict:
    """Return the protocol's room object."""
    return {
        "slug": room.slug,
        "name": room.name,
        "topic": room.topic,
        "private": room.is_private,
        "archived": room.is_archived,
    }


def limits_data() -> dict:
    """Return the limits a client is told in `hello`."""
    return {
        "body_max": settings.CHAT_BODY_MAX,
        "frame_max": settings.CHAT_FRAME_MAX,
        "messages_per_10s": round(settings.CHAT_RATE_MESSAGES * 10 / settings.CHAT_RATE_PERIOD),
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


def frame_event(frame: dict, *, room_id: int, **routing) -> dict:
    """Wrap a frame, encoded once, as the channel-layer event the room hubs fan out.

    `routing` may carry `origin_channel` (that socket was answered directly) or
    `skip_user_id` (that user's sockets do not get it).
    """
    return {"type": "chat.frame", "room": room_id, "text": encode(frame), **routing}
