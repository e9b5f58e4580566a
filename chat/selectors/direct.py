"""Direct conversations as the page lists them: by the other people's names."""

from django.db.models import F

from ..models import Membership, Room
from .unread import direct_members, direct_names


def direct_title(members: list[dict]) -> str:
    """Return what a conversation is called for one of its people: the others' names."""
    return ", ".join(member["display_name"] or member["username"] for member in members) or (
        "Only you"
    )


def direct_conversations(*, user) -> list[dict]:
    """Return the user's direct conversations, most recently active first, each
    {"room", "members", "title"}, in two queries."""
    memberships = list(
        Membership.objects.filter(user=user, banned=False, room__kind=Room.Kind.DIRECT)
        .select_related("room")
        .order_by(F("room__last_activity_at").desc(nulls_last=True), "-room_id")
    )
    names = direct_names([membership.room for membership in memberships])
    conversations = []
    for membership in memberships:
        members = direct_members(membership.room, user_id=user.pk, names=names)
        conversations.append(
            {"room": membership.room, "members": members, "title": direct_title(members)}
        )
    return conversations


def direct_room_title(*, room, user) -> str:
    """Return the title of one direct conversation for `user`."""
    members = direct_members(room, user_id=user.pk, names=direct_names([room]))
    return direct_title(members)
