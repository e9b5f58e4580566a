"""The records the HTTP API answers with, as response schemas (docs/protocol.md).

They describe what chat.records and the selectors build; the views return those dicts
as they are (no second serialization on a history page), and api/tests/test_conformance.py
holds real answers against these schemas, extra fields refused, so neither drifts.
"""

from ninja import Schema
from pydantic import ConfigDict, Field


class Record(Schema):
    """A response record: every field it has is described here."""

    model_config = ConfigDict(extra="forbid")


class User(Record):
    id: int
    username: str
    display_name: str = Field(description='"" when they set none: show the username.')
    bot: bool | None = Field(None, description="Present, and true, on a bot's account only.")


class Reaction(Record):
    emoji: str
    count: int
    user_ids: list[int] = Field(description="Who reacted, in order (may be cut to fit).")
    users: list[User] = Field(description="The first few of them, by name.")


class Reply(Record):
    id: int = Field(description="The message answered.")
    author: User
    excerpt: str = Field(description='Its first line, or "📎 name" for files alone.')
    deleted: bool


class Thumbnail(Record):
    url: str
    width: int
    height: int


class Attachment(Record):
    id: int
    name: str
    size: int = Field(description="In bytes.")
    content_type: str
    url: str = Field(description="Where its readers fetch it: /files/<id>/<name>.")
    image: bool
    width: int | None
    height: int | None
    thumbnail: Thumbnail | None


class Message(Record):
    id: int
    rev: int = Field(description="The room's revision of the message's last change.")
    room: str = Field(description="The room's slug.")
    author: User
    body: str = Field(description='Markdown as written; "" once deleted.')
    html: str = Field(description="The body rendered and sanitized when it was written.")
    created_at: str
    edited_at: str | None
    deleted: bool
    client_id: str | None = Field(description="The sender's idempotency key.")
    created_rev: int
    mentions: list[int] = Field(description="The ids of the people it mentions.")
    mention_all: str | None = Field(description='"room" or "here" when it says @room/@here.')
    reactions: list[Reaction]
    reply_to: Reply | None
    attachments: list[Attachment]


class MessageAnswer(Record):
    message: Message


class Room(Record):
    slug: str
    name: str
    topic: str
    private: bool
    archived: bool
    kind: str = Field(description='"room", or "direct": shown by its people\'s names.')
