"""Inbound frames: a client's frame (or an HTTP request's fields) decoded and validated
into a command, or refused with a ProtocolError (docs/protocol.md, "Frames the client
sends"). The rules of input are chat.validation's, so a frame is judged as the HTTP API
and the admin judge the same input."""

import json
import math
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from ops import metrics

from .. import errors
from ..validation import clean_attachment_ids
from ..validation import clean_body as clean_message_body
from ..validation import clean_emoji as clean_reaction_emoji
from .frames_out import encode
from .wire import (
    BAD_FRAME,
    BAD_JSON,
    CLIENT_ID_RE,
    HISTORY_LIMIT_MAX,
    MAX_INT,
    MAX_NESTING,
    TOO_LONG,
    ProtocolError,
)


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
    data = _decode_json(text, "The frame")
    if not isinstance(data, dict):
        raise ProtocolError(BAD_FRAME, "A frame must be a JSON object.")
    return data


def _decode_json(text: str | bytes, what: str):
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, RecursionError):
        raise ProtocolError(BAD_JSON, f"{what} is not valid JSON.") from None
    # A reply may echo a value (ping's t): one too deep to encode again is refused here.
    if _nested_deeper_than(data, MAX_NESTING):
        raise ProtocolError(BAD_JSON, f"{what} is nested too deeply.")
    return data


def decode_request_body(raw: bytes):
    """Parse an HTTP request's JSON body by a frame's rules (size, JSON, nesting), or raise
    ProtocolError; whether it is an object its schema says (api.schemas.RequestBody)."""
    if len(raw) > settings.CHAT_FRAME_MAX:
        raise ProtocolError(TOO_LONG, f"Requests are limited to {settings.CHAT_FRAME_MAX} bytes.")
    return _decode_json(raw, "The request body")


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
