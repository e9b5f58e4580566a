"""Schemas of invitations, invite links and the people search (chat/views_invitations.py)."""

from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from api.schemas import QueryParameters, RequestBody

from .. import errors
from ..realtime.wire import BAD_FRAME, ProtocolError
from ..services.invitations import (
    INVITE_LINK_HOURS_MAX,
    INVITE_LINK_USES_MAX,
    positive_or_none,
)
from .records import Record, User

# The longest name prefix the people search takes (usernames are at most 150).
SEARCH_PREFIX_MAX = 150


class Invite(RequestBody):
    """Whom to invite into the room."""

    username: str = Field(description="The username of the person to invite.")

    @model_validator(mode="before")
    @classmethod
    def _a_string(cls, data: Any) -> Any:
        # Absent or of another type alike (never a number read as a name).
        if not isinstance(cls._an_object(data).get("username"), str):
            raise ProtocolError(BAD_FRAME, "'username' must be a string.")
        return data


def _a_limit(maximum: int):
    def check(value: Any, info: ValidationInfo) -> int | None:
        # The service's own rule (null, or a JSON integer from 1 to `maximum`).
        return positive_or_none(value, info.field_name, maximum)

    return check


def LinkLimit(maximum: int):
    """Return the type of an invite link's limit: null, or a JSON integer up to `maximum`."""
    return Annotated[int | None, Field(ge=1, le=maximum), BeforeValidator(_a_limit(maximum))]


class InviteLinkOptions(RequestBody):
    """An invite link's limits; the body may be empty or absent: no limits."""

    # Refused, as before (the schema says so too): a misspelt limit is not "no limit".
    model_config = ConfigDict(extra="forbid")

    expires_in_hours: LinkLimit(INVITE_LINK_HOURS_MAX) = Field(
        None, description="Hours until it expires; null: never."
    )
    max_uses: LinkLimit(INVITE_LINK_USES_MAX) = Field(
        None, description="How many people may join by it; null: no limit."
    )

    @model_validator(mode="before")
    @classmethod
    def _known_fields_only(cls, data: Any) -> Any:
        unknown = sorted(set(cls._an_object(data)) - set(cls.model_fields))
        if unknown:
            raise errors.Invalid(f"Unknown field {', '.join(unknown)}.")
        return data


class PeopleQuery(QueryParameters):
    q: str = Field(
        "",
        max_length=SEARCH_PREFIX_MAX,
        description="The start of a username or display name (any case); empty: nobody.",
    )

    @field_validator("q", mode="before")
    @classmethod
    def _a_short_prefix(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if len(value) > SEARCH_PREFIX_MAX:
                raise ProtocolError(BAD_FRAME, f"'q' is at most {SEARCH_PREFIX_MAX} characters.")
        return value


class InvitationRoom(Record):
    slug: str
    name: str


class Invitation(Record):
    id: int | None = Field(description="null when nothing was stored (the invitee is banned).")
    room: InvitationRoom
    inviter: User | None = Field(description="null once the inviter's account is deleted.")
    invitee: User
    status: str = Field(description='"pending", "accepted", "declined" or "revoked".')
    created_at: str | None = Field(description="null when nothing was stored.")
    expires_at: str


class InvitationAnswer(Record):
    invitation: Invitation


class Invitations(Record):
    invitations: list[Invitation] = Field(description="Newest first.")


class RoomToOpen(Record):
    slug: str
    url: str = Field(description="The room's page.")


class AcceptedInvitation(Record):
    invitation: Invitation
    room: RoomToOpen


class InviteLink(Record):
    id: int
    room: str = Field(description="The room's slug.")
    path: str = Field(description="The join page's path, /join/<token>/.")
    url: str = Field(description="The join page's address, to share.")
    created_by: User | None
    created_at: str
    expires_at: str | None = Field(description="null: it never expires.")
    max_uses: int | None = Field(description="null: no limit.")
    uses: int = Field(description="How many people joined by it.")
    revoked: bool
    expired: bool


class InviteLinkAnswer(Record):
    link: InviteLink


class InviteLinks(Record):
    links: list[InviteLink] = Field(description="Those not revoked.")


class People(Record):
    users: list[User] = Field(description="At most ten, by username; never the caller.")
