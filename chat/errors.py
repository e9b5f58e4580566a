"""Domain errors: what a service refuses, with a code and a detail for people.

Services raise these and know nothing of transports; each transport maps them (the
socket to an `error` frame, the HTTP API to a status and a JSON body, the admin to a
message). `extra` carries the fields a code documents (`retry_after`, `until`).
"""


class ChatError(Exception):
    """A refused action."""

    code = "error"

    def __init__(self, detail: str, **extra):
        super().__init__(detail)
        self.detail = detail
        self.extra = {name: value for name, value in extra.items() if value is not None}


class Invalid(ChatError):
    """Input that does not have the expected shape."""

    code = "bad_frame"


class Empty(Invalid):
    code = "empty"


class TooLong(Invalid):
    code = "too_long"


class NotFound(ChatError):
    """No such thing, or one the user may not know of (a private room stays hidden)."""

    code = "not_found"


class Forbidden(ChatError):
    code = "forbidden"


class NotMember(ChatError):
    """An action only a member of the room can take (leaving it), by someone who is not."""

    code = "not_member"


class RateLimited(ChatError):
    code = "rate_limited"

    @property
    def retry_after(self) -> float | None:
        return self.extra.get("retry_after")


class RoomArchived(ChatError):
    code = "room_archived"


class Muted(ChatError):
    """The member may read the room but not post in it (until `until`, or until lifted)."""

    code = "muted"


class AlreadyMember(ChatError):
    code = "already_member"


class Expired(ChatError):
    """An invitation or an invite link whose time is up."""

    code = "expired"


class Closed(ChatError):
    """An invitation already answered or revoked, a link revoked or used up."""

    code = "closed"


class TooManyReactions(ChatError):
    """A new emoji on a message that has as many different ones as it may (20)."""

    code = "too_many_reactions"


class FileTooLarge(ChatError):
    """An upload over CHAT_UPLOAD_MAX_BYTES."""

    code = "too_large"


class UnsupportedType(ChatError):
    """An upload of a type not in CHAT_UPLOAD_TYPES (by its name, and an image by its content)."""

    code = "unsupported_type"


class BadFile(ChatError):
    """An upload whose content is not what it claims (an image no decoder reads)."""

    code = "bad_file"


class TooManyUploads(ChatError):
    """More uploads waiting to be sent than one person may keep (CHAT_UPLOADS_PENDING_MAX)."""

    code = "too_many_uploads"
