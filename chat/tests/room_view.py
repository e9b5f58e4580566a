"""A client's view of one room, following PROTOCOL.md to the letter.

It is what a correct client holds: messages by id (the snapshot with the higher
revision wins), R the highest revision up to which it holds everything, and an
outbox of messages not yet acknowledged. `handle` takes a server frame and
returns the frames the client must send in answer.
"""

import itertools

_client_ids = itertools.count(1)


class RoomView:
    def __init__(self, *, username: str, rev: int = 0):
        self.username = username
        self.rev = rev
        self.messages: dict[int, dict] = {}
        self.ahead: set[int] = set()
        self.outbox: dict[str, str] = {}
        self.acknowledged: set[str] = set()
        self.recovered = 0  # messages first learnt from a sync frame

    # --- sending ------------------------------------------------------------------

    def compose(self, body: str) -> dict:
        """Put a new message in the outbox and return the frame that sends it."""
        client_id = f"{self.username}-{next(_client_ids)}"
        self.outbox[client_id] = body
        return {"type": "message.send", "client_id": client_id, "body": body}

    def resend_frames(self) -> list[dict]:
        """Return the frames that resend everything not acknowledged yet."""
        return [
            {"type": "message.send", "client_id": client_id, "body": body}
            for client_id, body in self.outbox.items()
        ]

    # --- receiving ----------------------------------------------------------------

    def handle(self, frame: dict) -> list[dict]:
        """Apply a server frame; return the frames to send in answer."""
        kind = frame.get("type")
        if kind in {"message.new", "message.updated", "message.deleted"}:
            message = frame["message"]
            self._apply(message)
            self._note_rev(message["rev"])
            if message["author"]["username"] == self.username:
                self._acknowledge(message.get("client_id"))
            return []
        if kind == "sync":
            for message in frame["messages"]:
                if message["id"] not in self.messages:
                    self.recovered += 1
                self._apply(message)
                if message["author"]["username"] == self.username:
                    self._acknowledge(message.get("client_id"))
            # A sync frame holds the current state of everything up to its rev.
            self.rev = max(self.rev, frame["rev"])
            self.ahead = {rev for rev in self.ahead if rev > self.rev}
            self._advance()
            if not frame["complete"]:
                return [{"type": "sync", "since": frame["rev"]}]
            return []
        if kind == "pong" and frame.get("rev", 0) > self.rev:
            return [self.sync_frame()]
        if kind == "error" and frame.get("code") != "server_error":
            # Refused for good: resending would be refused again.
            self.outbox.pop(frame.get("client_id"), None)
        return []

    def sync_frame(self) -> dict:
        return {"type": "sync", "since": self.rev}

    def has_gap(self) -> bool:
        """Tell whether a later revision arrived while an earlier one is missing."""
        return bool(self.ahead)

    def snapshot(self) -> dict[int, tuple]:
        """Return the view as {id: (rev, body, deleted)}, to compare with the database."""
        return {
            message_id: (message["rev"], message["body"], message["deleted"])
            for message_id, message in self.messages.items()
        }

    def _apply(self, message: dict):
        held = self.messages.get(message["id"])
        if held is None or message["rev"] > held["rev"]:
            self.messages[message["id"]] = message

    def _acknowledge(self, client_id):
        if client_id and client_id in self.outbox:
            del self.outbox[client_id]
            self.acknowledged.add(client_id)

    def _note_rev(self, rev: int):
        if rev > self.rev:
            self.ahead.add(rev)
            self._advance()

    def _advance(self):
        while self.rev + 1 in self.ahead:
            self.rev += 1
            self.ahead.discard(self.rev)
