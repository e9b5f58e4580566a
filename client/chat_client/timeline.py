"""One room's timeline as a client holds it: R, the revision up to which it holds every
change, and per message the highest revision seen. It turns the frames of the socket
(live, possibly out of order or repeated; sync batches) into events a consumer sees once
each, in revision order, without a gap (docs/protocol.md, "Revisions and catching up")."""

from typing import Any

from .events import (
    MESSAGE_EVENTS,
    MessageDeleted,
    MessageEvent,
    MessageNew,
    MessageUpdated,
)
from .events import Message as MessageObject


class Timeline:
    def __init__(self, slug: str, rev: int | None = None):
        self.slug = slug
        # None until the first hello: then R is hello's rev (or `since`, when given).
        self.rev: int | None = rev
        self.held: dict[int, int] = {}  # message id -> highest rev seen
        # Live frames ahead of R + 1, by rev, held back until the gap is filled.
        self.ahead: dict[int, tuple[str, dict[str, Any]]] = {}
        self.delivered = 0

    def has_gap(self) -> bool:
        return bool(self.ahead)

    def greet(self, hello_rev: int) -> None:
        """Take R from a first hello without `since`: the consumer starts from now."""
        if self.rev is None:
            self.rev = hello_rev

    def live(self, kind: str, message: dict[str, Any]) -> list[MessageEvent]:
        """Take a live message frame; return the events it lets through, in rev order."""
        rev = int(message["rev"])
        if self.rev is None or rev <= self.rev:
            # Already held (a repeat, or covered by a sync), or before this client's start.
            return []
        self.ahead.setdefault(rev, (kind, message))
        return self._advance()

    def sync(self, frame: dict[str, Any]) -> list[MessageEvent]:
        """Take a sync batch: the current state of everything changed after `since`."""
        since = self.rev or 0
        events: list[MessageEvent] = []
        for data in sorted(frame.get("messages") or [], key=lambda m: int(m["rev"])):
            kind = self._sync_kind(data, since)
            event = self._accept(kind, data)
            if event is not None:
                events.append(event)
        self.rev = max(since, int(frame["rev"]))
        self.ahead = {rev: item for rev, item in self.ahead.items() if rev > self.rev}
        return events + self._advance()

    def pong_is_ahead(self, rev: int | None) -> bool:
        """Tell whether a pong's rev says the client missed something."""
        return rev is not None and self.rev is not None and rev > self.rev

    def _sync_kind(self, data: dict[str, Any], since: int) -> str:
        if data.get("deleted"):
            return "message.deleted"
        created = data.get("created_rev")
        new = data["id"] not in self.held and (created is None or int(created) > since)
        return "message.new" if new else "message.updated"

    def _advance(self) -> list[MessageEvent]:
        events: list[MessageEvent] = []
        while self.rev is not None and self.rev + 1 in self.ahead:
            self.rev += 1
            kind, data = self.ahead.pop(self.rev)
            event = self._accept(kind, data)
            if event is not None:
                events.append(event)
        return events

    def _accept(self, kind: str, data: dict[str, Any]) -> MessageEvent | None:
        message_id, rev = int(data["id"]), int(data["rev"])
        if self.held.get(message_id, -1) >= rev:
            return None  # the same message at the same (or a later) revision: a duplicate
        self.held[message_id] = rev
        self.delivered += 1
        message = MessageObject.from_json({**data, "room": data.get("room") or self.slug})
        event_type = MESSAGE_EVENTS.get(kind, MessageUpdated)
        if event_type is MessageNew and message.deleted:
            event_type = MessageDeleted
        return event_type(room=self.slug, message=message)
