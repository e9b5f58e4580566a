"""Schemas of the directory of public rooms, joining and leaving (chat/views.py)."""

from pydantic import Field, field_validator

from api.schemas import QueryInt, QueryParameters

from ..selectors.directory import (
    DIRECTORY_PAGE_MAX,
    DIRECTORY_PAGE_SIZE,
    QUERY_MAX_CHARS,
    QUERY_MAX_TERMS,
    directory_query_terms,
)
from .messages import RoomState
from .records import Record


class DirectoryQuery(QueryParameters):
    q: str = Field(
        "",
        description="Words that each room's name or topic contains, ignoring case; at most "
        f"{QUERY_MAX_CHARS} characters and {QUERY_MAX_TERMS} words.",
    )
    after: str | None = Field(None, description="The `next` cursor of the page before.")
    limit: QueryInt(1, DIRECTORY_PAGE_MAX) | None = Field(
        None, description=f"The page's size ({DIRECTORY_PAGE_SIZE} when not given)."
    )

    @field_validator("q")
    @classmethod
    def _a_search(cls, value: str) -> str:
        value = value.strip()
        directory_query_terms(value)  # refuses one too long, as the selector would
        return value

    @field_validator("after")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None


class DirectoryRoom(Record):
    slug: str
    name: str
    topic: str
    members: int = Field(description="Its members, those banned left out.")
    last_activity_at: str | None = Field(description="null when nothing was ever said.")
    member: bool = Field(description="Whether the caller is a member.")


class DirectoryPage(Record):
    rooms: list[DirectoryRoom] = Field(description="The most recently active first.")
    next: str | None = Field(description="The cursor of the following page; null on the last.")


class Joined(Record):
    joined: str = Field(description="The room's slug.")
    room: RoomState


class Left(Record):
    left: str = Field(description="The room's slug.")
