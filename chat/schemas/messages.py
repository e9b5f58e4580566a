"""Schemas of a room's messages and read marker (chat/views.py)."""

from typing import Any

from pydantic import Field, model_validator

from api.schemas import BodyInt, QueryInt, QueryParameters, RequestBody

from ..realtime import protocol
from ..realtime.wire import BAD_FRAME, CLIENT_ID_PATTERN, HISTORY_LIMIT_MAX, ProtocolError
from .records import Message, MessageAnswer, Record, Room, User  # noqa: F401 (re-exported)


class SendMessage(RequestBody):
    """A message to store; resent with the same client_id, it is stored once."""

    client_id: str | None = Field(
        None, pattern=f"^{CLIENT_ID_PATTERN}$", description="The idempotency key."
    )
    body: str = Field("", description="Markdown; may be empty when it carries files.")
    reply_to: int | None = Field(None, ge=1, description="The id of the message it answers.")
    attachments: list[int] = Field(
        default_factory=list, description="Ids of the sender's pending uploads of the room."
    )

    @model_validator(mode="before")
    @classmethod
    def _by_the_protocols_rules(cls, data: Any) -> Any:
        # The rules of a message.send frame, so both ways in refuse alike.
        command = protocol.clean_send(cls._an_object(data))
        return {**command.__dict__, "attachments": list(command.attachments)}


class HistoryQuery(QueryParameters):
    """What part of the history: changes after `since`, or a page by one anchor."""

    since: QueryInt(0) | None = Field(None, description="Changes after this revision.")
    before: QueryInt(1) | None = Field(None, description="Older than this message id.")
    after: QueryInt(0) | None = Field(None, description="Newer than this message id.")
    around: QueryInt(1) | None = Field(None, description="Around this message id, it included.")
    limit: QueryInt(1, HISTORY_LIMIT_MAX) | None = Field(None, description="The page's size.")

    @model_validator(mode="before")
    @classmethod
    def _since_alone(cls, data: Any) -> Any:
        # docs/protocol.md: "When since is given, before and limit are ignored."
        if isinstance(data, dict) and "since" in data:
            return {"since": data["since"]}
        return data

    @model_validator(mode="after")
    def _one_anchor(self):
        if sum(anchor is not None for anchor in (self.before, self.after, self.around)) > 1:
            raise ProtocolError(BAD_FRAME, "Give at most one of 'before', 'after' and 'around'.")
        return self


class HistoryPage(Record):
    messages: list[Message] = Field(description="Oldest first.")
    has_more: bool | None = Field(None, description="Older messages exist (a page by before).")
    has_newer: bool | None = Field(None, description="Newer messages exist (after, around).")
    rev: int | None = Field(None, description="The room's revision (with since).")
    complete: bool | None = Field(
        None, description="With since: false when more changes follow; ask again from rev."
    )


class ReadMarker(RequestBody):
    rev: BodyInt(0) = Field(description="The revision read up to; the marker never goes back.")


class NotifyPreference(Record):
    level: str
    muted: bool
    custom: bool


class RoomState(Room):
    """A member's room: its revision, read marker, counts and preferences."""

    rev: int
    last_read_rev: int
    unread: int
    mentions: int
    unread_mentions: list[int]
    role: str
    notify: NotifyPreference
    members: list[User] | None = Field(None, description="The other people (direct only).")


class RoomStateAnswer(Record):
    room: RoomState


class RoomStates(Record):
    rooms: list[RoomState]
