"""Schemas of a room's members and the moderation actions on them (chat/views.py)."""

from pydantic import Field, StrictStr

from api.schemas import BodyInt, RequestBody

from ..models import Membership, ModerationAction
from .records import Record, User

# The longest mute a moderator may set from the API: a year, in minutes.
MUTE_MINUTES_MAX = 525_600
# As long as the moderation log keeps.
REASON_MAX = ModerationAction._meta.get_field("reason").max_length


class Member(Record):
    user: User
    role: str = Field(description='"owner", "moderator" or "member".')
    muted: bool
    muted_until: str | None = Field(description="When the mute ends; null: until it is lifted.")


class Me(Record):
    """The caller, and what they may do in the room (as the socket's hello.me)."""

    id: int
    username: str
    staff: bool
    role: str | None = Field(description="null when not a member (staff may still look).")
    muted: bool
    muted_until: str | None
    can_moderate: bool
    can_manage_roles: bool


class RoomMembers(Record):
    members: list[Member] = Field(description="Owners, then moderators, then members.")
    me: Me
    banned: list[Member] | None = Field(
        None, description="Who is banned: only to those who moderate the room."
    )


class MemberAnswer(Record):
    member: Member | None = Field(description="null once they are no longer a member.")


class MemberAction(RequestBody):
    """What an action on a member takes; every field is optional, and so is the body."""

    reason: StrictStr | None = Field(
        None, max_length=REASON_MAX, description="Why, for the moderation log."
    )
    minutes: BodyInt(1, MUTE_MINUTES_MAX) | None = Field(
        None, description="mute only: for how long; null or absent: until unmuted."
    )
    role: Membership.Role | None = Field(None, description="role only: the member's new role.")
