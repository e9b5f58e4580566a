"""Schemas of people: the profile card, one's own profile (chat/views_people.py) and
opening a direct conversation with them (chat/views_direct.py)."""

from typing import Any

from pydantic import Field, StrictStr, field_validator, model_validator

from api.schemas import RequestBody

from ..errors import Invalid
from ..models import DISPLAY_NAME_MAX
from ..services.direct import DIRECT_PEOPLE_MAX
from ..validation import clean_display_name
from .messages import RoomState
from .records import Record, User


class CardUser(User):
    date_joined: str
    staff: bool


class SharedRoom(Record):
    slug: str
    name: str
    url: str = Field(description="The room's page.")


class DirectLink(Record):
    slug: str
    url: str = Field(description="The conversation's page.")


class ProfileCard(Record):
    user: CardUser
    rooms_in_common: list[SharedRoom] = Field(
        description="Rooms (not conversations) both are members of and the caller may read."
    )
    direct: DirectLink | None = Field(
        description="Their one-to-one conversation, if the caller is in one with them."
    )
    is_self: bool


class Profile(Record):
    username: str
    display_name: str = Field(description='"" when they set none.')


class ProfileChange(RequestBody):
    display_name: str = Field(
        max_length=DISPLAY_NAME_MAX,
        description='The name to show beside the username; "" for none. Stripped, inner '
        "white space made one space; no control or invisible characters.",
    )

    @model_validator(mode="before")
    @classmethod
    def _names_one(cls, data: Any) -> Any:
        if "display_name" not in cls._an_object(data):
            raise Invalid("Give 'display_name' (\"\" for none).")
        return data

    @field_validator("display_name", mode="before")
    @classmethod
    def _by_the_profiles_rule(cls, value: Any) -> str:
        # The rule the settings page and the admin go through too.
        return clean_display_name(value)


class OpenDirect(RequestBody):
    usernames: list[StrictStr] = Field(
        description="The others in the conversation, in any order (one's own name is "
        f"ignored); at most {DIRECT_PEOPLE_MAX - 1}."
    )


class DirectRoomState(RoomState):
    url: str = Field(description="The conversation's page.")


class DirectAnswer(Record):
    room: DirectRoomState
    created: bool = Field(description="Whether it was made now.")
