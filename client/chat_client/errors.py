"""What the client raises: each refusal of the server gets its own, clear exception."""


class ChatError(Exception):
    """Anything the chat client reports as a failure."""


class ApiError(ChatError):
    """The server refused a request: its HTTP status, error code and detail."""

    def __init__(self, status: int, code: str, detail: str, *, retry_after: float | None = None):
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.retry_after = retry_after


class FinalClose(ChatError):
    """The server closed a socket with a code after which a client must not reconnect."""

    def __init__(self, code: int, detail: str):
        super().__init__(f"closed with {code}: {detail}")
        self.code = code
        self.detail = detail


class AuthenticationError(FinalClose):
    """Not signed in (4401, or HTTP 401): the token is unknown, revoked or expired."""


class AccessDenied(FinalClose):
    """Not allowed in this room (4403): banned, removed, left, or the room turned private."""


class RoomNotFound(FinalClose):
    """No such room, or a private one the caller may not see (4404)."""


class SendRefused(ChatError):
    """The server refused a message for good (e.g. `empty`, `too_long`, `muted`)."""

    def __init__(self, code: str, detail: str, client_id: str):
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.client_id = client_id


class ConnectionUnavailable(ChatError):
    """The server could not be reached (or answered 5xx) within the retries allowed."""


_CLOSE_DETAILS = {
    4400: "too many malformed frames",
    4401: "not signed in: the token is unknown, revoked or expired (make a new one)",
    4403: "not allowed in this room",
    4404: "no such room, or a private room you may not see",
    4429: "too many sockets open for this user",
}
FINAL_CLOSE_CODES = frozenset(_CLOSE_DETAILS)


def final_close_error(code: int, reason: str = "") -> FinalClose:
    """Return the exception for a final close code (see docs/protocol.md, "Close codes")."""
    detail = reason or _CLOSE_DETAILS.get(code, "closed for good")
    if code == 4401:
        return AuthenticationError(code, detail)
    if code == 4403:
        return AccessDenied(code, detail)
    if code == 4404:
        return RoomNotFound(code, detail)
    return FinalClose(code, detail)
