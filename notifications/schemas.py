"""Schemas of the inbox's HTTP API and of notification preferences (notifications/views.py).

The answers are what notifications.records and notifications.selectors build; the
bodies keep the rules the views had: exactly one of `ids` and `all` to mark read, and
for a change of preferences only its own fields, at least one, never null.
"""

from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from api.schemas import BodyInt, QueryInt, QueryParameters, RequestBody
from chat.errors import Invalid
from chat.realtime.wire import HISTORY_LIMIT_MAX
from chat.schemas.messages import NotifyPreference
from chat.schemas.records import Record, User

from . import selectors
from .models import Level, RoomNotificationSetting

# Ids one request may mark read; a client marks what it shows, a page or two.
READ_IDS_MAX = 1000

# --- the inbox ---------------------------------------------------------------------


class NotificationPageQuery(QueryParameters):
    before: QueryInt(1) | None = Field(None, description="Older than this notification id.")
    limit: QueryInt(1, HISTORY_LIMIT_MAX) = Field(
        selectors.PAGE_SIZE, description="The page's size."
    )


MARK_READ_SHAPE = 'The body must be {"ids": [...]} or {"all": true}.'


class MarkRead(RequestBody):
    """Which of the caller's notifications are read: those `ids`, or `all`; not both."""

    # Typed without None: a field may be left out, never sent as null.
    ids: list[BodyInt(1)] = Field(
        None,
        max_length=READ_IDS_MAX,
        description="Notification ids; those that are not the caller's are ignored.",
    )
    all: Literal[True] = Field(None, description="Every unread notification of the caller.")

    @model_validator(mode="before")
    @classmethod
    def _ids_or_all(cls, data: Any) -> Any:
        data = cls._an_object(data)
        one_of_them = ("ids" in data) != ("all" in data)
        # `all` is true itself, never 1 or "true".
        if not one_of_them or ("all" in data and data["all"] is not True):
            raise Invalid(MARK_READ_SHAPE)
        return data


class NotificationRoom(Record):
    slug: str
    name: str
    kind: str = Field(description='"room", or "direct": shown by its people\'s names.')


class NotificationMessage(Record):
    id: int
    created_rev: int = Field(
        description="The room's revision when it was sent: read once the marker passes it."
    )


class NotificationInvitation(Record):
    id: int
    status: str = Field(description='"pending", "accepted", "declined", ...')


class Notification(Record):
    id: int
    kind: str = Field(
        description="mention, room_mention, here_mention, reply, direct, invitation, "
        "announcement or moderation."
    )
    reason: str = Field(description="Why it reached the caller, in words.")
    room: NotificationRoom | None
    message: NotificationMessage | None
    actor: User | None = Field(description="Who caused it; null when none, or gone.")
    created_at: str
    read: bool
    text: str | None = Field(description="What an announcement says (null for other kinds).")
    invitation: NotificationInvitation | None = Field(description="An invitation's only.")


class NotificationPage(Record):
    notifications: list[Notification] = Field(description="Newest first.")
    has_more: bool = Field(description="Older ones remain: ask with `before` the last id.")
    unread: int = Field(description="How many of the caller's notifications are unread.")


class UnreadCount(Record):
    unread: int


# --- preferences ---------------------------------------------------------------------


class PreferencesChange(RequestBody):
    """A change of notification preferences: the fields to change, at least one."""

    # Unknown fields are refused, by name, as they always were (not ignored).
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _changes_only(cls, data: Any) -> Any:
        data = cls._an_object(data)
        allowed = ", ".join(f"'{name}'" for name in cls.model_fields)
        unknown = sorted(set(data) - set(cls.model_fields))
        if unknown:
            names = ", ".join(f"'{name}'" for name in unknown)
            raise Invalid(f"Unknown field {names}: the body may hold {allowed}.")
        if not data:
            raise Invalid(f"Nothing to change: the body may hold {allowed}.")
        for name, value in data.items():
            if value is None:  # the services would read null as "leave it"
                raise Invalid(f"'{name}' may not be null.")
        return data

    def changes(self) -> dict:
        """Return the fields sent, for the services' keyword arguments."""
        return self.model_dump(include=self.model_fields_set)


# Their fields are typed without None, as MarkRead's: left out, never sent as null.


class DefaultsChange(PreferencesChange):
    level: Literal[tuple(Level.values)] = Field(
        None, description="The level of every room without one of its own."
    )
    desktop: bool = Field(None, strict=True, description="Whether desktop alerts are wanted.")


class RoomNotifyChange(PreferencesChange):
    level: Literal[tuple(RoomNotificationSetting.RoomLevel.values)] = Field(
        None, description='The room\'s own level; "default" follows the defaults again.'
    )
    muted: bool = Field(
        None, strict=True, description="No alerts from the room; its inbox entries still come."
    )


class NotifyDefaults(Record):
    level: str = Field(description='"all", "mentions" or "nothing".')
    desktop: bool = Field(description="Whether desktop alerts are wanted at all.")


class PreferenceRoom(Record):
    slug: str
    name: str
    notify: NotifyPreference


class NotifyPreferences(Record):
    defaults: NotifyDefaults
    rooms: list[PreferenceRoom] = Field(description="The caller's member rooms, by name.")


class RoomNotifyAnswer(Record):
    room: str = Field(description="The room's slug.")
    notify: NotifyPreference
