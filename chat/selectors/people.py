"""People as others see them: display names and the profile card."""

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Q
from django.db.models.functions import Lower

from .. import policy
from ..models import Membership, Profile, Room, direct_key
from ..records import format_time, user_data, user_record
from . import _rows, column

USER_SEARCH_MAX = 10


def display_name(*, user_id: int) -> str:
    """Return the user's display name as stored now ("" when they set none)."""
    return author_profile(user_id=user_id)[0]


# Read on every send: a prepared statement rather than a query compiled per call (in a
# profile of fan-out the compiling was most of the read).
_AUTHOR_PROFILE_SQL = (
    f"SELECT {column(Profile, 'display_name')}, {column(Profile, 'is_bot')}"  # noqa: S608
    f" FROM {connection.ops.quote_name(Profile._meta.db_table)}"
    f" WHERE {column(Profile, 'user')} = %s"
)


def author_profile(*, user_id: int) -> tuple[str, bool]:
    """Return the user's display name ("" for none) and whether they are a bot, as now."""
    rows = _rows(_AUTHOR_PROFILE_SQL, [user_id])
    return (rows[0][0] or "", bool(rows[0][1])) if rows else ("", False)


def user_search(*, prefix: str, exclude_id: int | None = None) -> list[dict]:
    """Return active users whose username or display name starts with `prefix` (any
    case), by username."""
    users = get_user_model().objects.filter(
        Q(username__istartswith=prefix) | Q(profile__display_name__istartswith=prefix),
        is_active=True,
    )
    if exclude_id is not None:
        users = users.exclude(pk=exclude_id)
    rows = users.order_by(Lower("username"), "username").values_list(
        "pk", "username", "profile__display_name"
    )[:USER_SEARCH_MAX]
    return [user_data(*row) for row in rows]


def active_user(*, username: str):
    """Return the active user of that username, or None."""
    users = get_user_model().objects.select_related("profile")
    return users.filter(username=username, is_active=True).first()


def _member_of(user):
    return Membership.objects.filter(user=user, banned=False)


def profile_card(*, viewer, person) -> dict:
    """Return what `viewer` sees of `person`: who they are, the rooms they share that the
    viewer may read, and the one-to-one conversation between them if there is one."""
    shared = Room.objects.filter(
        policy.visible_rooms(viewer),
        kind=Room.Kind.ROOM,
        pk__in=_member_of(viewer).values("room"),
    ).filter(pk__in=_member_of(person).values("room"))
    direct = None
    if person.pk != viewer.pk:
        room = Room.objects.filter(
            kind=Room.Kind.DIRECT,
            direct_key=direct_key([viewer.pk, person.pk]),
            pk__in=_member_of(viewer).values("room"),
        ).first()
        if room is not None:
            direct = {"slug": room.slug, "url": room.get_absolute_url()}
    return {
        "user": {
            **user_record(person),
            "date_joined": format_time(person.date_joined),
            "staff": person.is_staff,
        },
        "rooms_in_common": [
            {"slug": room.slug, "name": room.name, "url": room.get_absolute_url()}
            for room in shared.order_by(Lower("name"), "slug")
        ],
        "direct": direct,
        "is_self": person.pk == viewer.pk,
    }
