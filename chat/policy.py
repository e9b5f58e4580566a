"""The access rule: who may see a room, post in it, moderate it and act on whom.

Every edge asks here: the room page, the room list, the HTTP API, the socket (when it
opens and on every write), the admin, the moderation services. The rule exists in two
forms, a check on one room (`room_access`) and a queryset filter (`visible_rooms`),
and a test holds them to each other.

- A room is visible to an active user who is not banned from it, when it is public or
  they are a member.
- A visible room takes posts unless it is archived or the member is muted.
- Owners and moderators of a room moderate it; staff moderate every room (even one
  they can't see in the room list: a private room they are not a member of).
- Nobody acts on themselves; moderators act on members, owners on anyone but owners,
  staff on anyone.
- Owners and moderators of a private room invite people into it, any member into a
  public one, staff into any room; invite links are for those who moderate.
- A direct conversation is a private room of the people it was started with: nobody
  invites into it, and nobody owns it (no roles, settings or invite links); staff still
  moderate it like every room.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from .errors import Forbidden, Muted, NotFound, RoomArchived
from .models import Membership, Room

Role = Membership.Role
MODERATING_ROLES = frozenset({Role.OWNER, Role.MODERATOR})
# The roles each role may act on (ban, remove, mute, change the role of).
ACTS_ON = {
    Role.OWNER: frozenset({Role.MODERATOR, Role.MEMBER}),
    Role.MODERATOR: frozenset({Role.MEMBER}),
    Role.MEMBER: frozenset(),
}


@dataclass(frozen=True)
class Access:
    """What one user may do in one room, decided once from the room and their membership."""

    see: bool
    post: bool
    moderate: bool
    manage_roles: bool
    role: str | None  # None: not a member (a public room's reader, or no access)
    banned: bool
    muted: bool
    muted_until: datetime | None
    archived: bool
    direct: bool = False  # a direct conversation: its people are fixed when it starts


def room_access(*, room: Room, membership: Membership | None, user) -> Access:
    """Decide what `user`, with this membership of `room` (or none), may do there."""
    active = bool(user.is_authenticated and user.is_active)
    banned = membership is not None and membership.banned
    role = membership.role if membership is not None and not banned else None
    see = active and not banned and (not room.is_private or role is not None)
    staff = active and user.is_staff
    muted = role is not None and membership.is_muted()
    direct = room.kind == Room.Kind.DIRECT
    return Access(
        see=see,
        post=see and not room.is_archived and not muted,
        # Staff moderate every room, private ones they don't belong to included.
        moderate=staff or (see and role in MODERATING_ROLES),
        manage_roles=not direct and (staff or (see and role == Role.OWNER)),
        role=role,
        banned=banned,
        muted=muted,
        muted_until=membership.muted_until if muted else None,
        archived=room.is_archived,
        direct=direct,
    )


def visible_rooms(user) -> Q:
    """Return the Room filter of `room_access(...).see` for every room at once."""
    if not (user.is_authenticated and user.is_active):
        return Q(pk__in=[])
    member_of = Membership.objects.filter(user=user, banned=False).values("room")
    # A subquery, not exclude(memberships__...): exclude() does not tie both conditions
    # to the same membership, so anyone's ban would hide the room from everyone.
    banned_from = Membership.objects.filter(user=user, banned=True).values("room")
    return (Q(is_private=False) | Q(pk__in=member_of)) & ~Q(pk__in=banned_from)


def room_viewers(room: Room) -> Q:
    """Return the User filter of `room_access(...).see` for everyone at once, in one room."""
    banned = Membership.objects.filter(room=room, banned=True).values("user")
    viewers = Q(is_active=True) & ~Q(pk__in=banned)
    if room.is_private:
        viewers &= Q(pk__in=Membership.objects.filter(room=room, banned=False).values("user"))
    return viewers


# --- checks that raise -------------------------------------------------------------------


def check_see(access: Access) -> None:
    """Refuse a room the user may not see as if it did not exist."""
    if not access.see:
        raise NotFound("No such room.", reason="banned" if access.banned else "private")


def check_post(access: Access) -> None:
    """Refuse a post the user may not make, with the reason they can act on."""
    check_see(access)
    if access.archived:
        raise RoomArchived("This room is archived.")
    if access.muted:
        until = access.muted_until
        detail = "You are muted in this room."
        if until is not None:
            detail = f"You are muted in this room until {until:%H:%M} UTC."
        raise Muted(detail, until=until)


def can_act_on(*, access: Access, user, target_user, target_role: str | None) -> bool:
    """Tell whether someone with `access` may ban, remove, mute or re-role `target_user`."""
    if not access.moderate or target_user.pk == user.pk:
        return False
    if user.is_staff:
        return True
    return (target_role or Role.MEMBER) in ACTS_ON.get(access.role, frozenset())


def check_act_on(*, access: Access, user, target_user, target_role: str | None) -> None:
    if not can_act_on(access=access, user=user, target_user=target_user, target_role=target_role):
        raise Forbidden(f"You may not do that to {target_user.get_username()}.")


def check_moderate(access: Access) -> None:
    if not access.moderate:
        raise Forbidden("Only the room's moderators can do that.")


def check_set_role(*, access: Access, user, role: str) -> None:
    """Owners and staff set roles; only staff and owners make owners."""
    if access.direct:
        raise Forbidden("Nobody has a role in a direct conversation.")
    if not access.manage_roles:
        raise Forbidden("Only the room's owners can change roles.")
    if role == Role.OWNER and not (user.is_staff or access.role == Role.OWNER):
        raise Forbidden("Only owners can make owners.")


def can_delete_message(*, access: Access, user, author_id: int) -> bool:
    """The author, the room's moderators and staff may delete a message."""
    return access.moderate or (access.see and author_id == user.pk)


def can_invite(*, access: Access, room: Room) -> bool:
    """Owners and moderators invite into a private room, any member into a public one,
    staff into any room; nobody into a direct conversation."""
    if access.direct:
        return False
    if access.moderate:
        return True
    return not room.is_private and access.see and access.role is not None


def check_invite(*, access: Access, room: Room) -> None:
    if access.direct:
        raise Forbidden("Nobody can be invited into a direct conversation: start a new one.")
    if not can_invite(access=access, room=room):
        raise Forbidden("Only the room's owners and moderators can invite people.")


def check_manage_invite_links(access: Access) -> None:
    """Invite links are the owners', the moderators' and staff's (never a direct
    conversation's)."""
    if access.direct:
        raise Forbidden("A direct conversation has no invite links.")
    if not access.moderate:
        raise Forbidden("Only the room's owners and moderators can manage invite links.")


def check_manage_room(access: Access) -> None:
    """A room's settings (name, topic, privacy, archive) are its owners' and staff's."""
    if access.direct:
        raise Forbidden("A direct conversation has no settings.")
    if not access.manage_roles:
        raise Forbidden("Only the room's owners can change its settings.")
