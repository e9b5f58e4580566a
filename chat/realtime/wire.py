"""The protocol's codes and its error: what both directions of the wire share
(docs/protocol.md, "Close codes" and "Errors")."""

import re

from .. import errors
from ..models import CLIENT_ID_PATTERN
from ..records import format_time

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
