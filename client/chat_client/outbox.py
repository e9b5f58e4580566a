"""A room's outbox: the messages sent and not acknowledged yet, by client_id.

Each is resent after every hello until the server acknowledges it (the server stores a
client_id once), and its sender waits on a future that the acknowledgement, a final
refusal or the room's end settles."""

import asyncio
import secrets
from dataclasses import dataclass
from typing import Any

from .errors import ChatError, SendRefused
from .events import Message

# Errors after which a message is resent (the server stored nothing); any other is final.
RETRIED_SEND_ERRORS = frozenset({"server_error", "rate_limited"})


def new_client_id() -> str:
    """Return a fresh client_id (1-64 characters of A-Z a-z 0-9 _ -)."""
    return "py-" + secrets.token_urlsafe(12)


@dataclass
class OutboxEntry:
    """A message not acknowledged yet, and the future its sender waits on."""

    client_id: str
    body: str
    reply_to: int | None
    done: asyncio.Future[Message]
    retries: int = 0

    def frame(self) -> dict[str, Any]:
        frame: dict[str, Any] = {
            "type": "message.send",
            "client_id": self.client_id,
            "body": self.body,
        }
        if self.reply_to is not None:
            frame["reply_to"] = self.reply_to
        return frame


class Outbox(dict[str, OutboxEntry]):
    """The entries not acknowledged yet, in the order they were sent."""

    def __init__(self, slug: str) -> None:
        super().__init__()
        self.slug = slug

    def add(self, body: str, *, client_id: str, reply_to: int | None) -> tuple[OutboxEntry, bool]:
        """Return the entry of `client_id`, and whether it is new (else already held)."""
        held = self.get(client_id)
        if held is not None:
            return held, False
        done: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        entry = OutboxEntry(client_id=client_id, body=body, reply_to=reply_to, done=done)
        self[client_id] = entry
        return entry, True

    def acknowledge(self, message: dict[str, Any], me: dict[str, Any]) -> None:
        """Settle the entry a stored message of this user answers, if any."""
        client_id = message.get("client_id")
        author = message.get("author") or {}
        if not isinstance(client_id, str) or client_id not in self:
            return
        if author.get("id") != me.get("id"):
            return
        entry = self.pop(client_id)
        if not entry.done.done():
            entry.done.set_result(Message.from_json({**message, "room": self.slug}))

    def refuse(self, frame: dict[str, Any]) -> OutboxEntry | None:
        """Take an error frame about an entry; return the entry if it is to be resent."""
        entry = self[frame["client_id"]]
        code = str(frame.get("code"))
        if code in RETRIED_SEND_ERRORS:
            entry.retries += 1
            return entry
        del self[entry.client_id]
        if not entry.done.done():
            detail = str(frame.get("detail") or "")
            entry.done.set_exception(SendRefused(code, detail, entry.client_id))
            entry.done.exception()  # retrieved: a send_nowait caller may never look
        return None

    def fail_all(self, error: ChatError) -> None:
        """Fail every sender still waiting (the room stopped)."""
        for entry in self.values():
            if not entry.done.done():
                entry.done.set_exception(error)
                entry.done.exception()  # retrieved: nobody may be waiting on it
