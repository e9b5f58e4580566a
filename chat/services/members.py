"""Members: ban, unban, remove, mute, unmute, roles, adding, joining and leaving. Each
checks the actor against the access rule, writes, logs the moderation actions and tells
open sockets on commit."""

from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from .. import events, policy, ratelimit
from ..errors import Forbidden, Invalid, NotFound, NotMember, RoomArchived
from ..models import Membership, ModerationAction, Room
from ..records import member_data, room_data, user_record
from .log import log_action

Kind = ModerationAction.Kind


def take_join_token(*, user) -> None:
    """Joining and leaving share one bucket per user (CHAT_RATE_JOINS per period), however
    the room is joined: the directory, an invite link, an accepted invitation."""
    ratelimit.require_token(
        key=f"join:{user.pk}",
        capacity=settings.CHAT_RATE_JOINS,
        period=settings.CHAT_RATE_JOINS_PERIOD,
        refusal="You are joining and leaving rooms too fast.",
    )


def _actor_access(*, room: Room, actor) -> policy.Access:
    membership = Membership.objects.filter(room=room, user=actor).first()
    return policy.room_access(room=room, membership=membership, user=actor)


def _target_membership(*, room: Room, target) -> Membership | None:
    # Locked: two moderators acting on one member at once apply one after the other.
    return Membership.objects.select_for_update().filter(room=room, user=target).first()


def _member(*, room: Room, target) -> Membership:
    """Return the target's membership, locked; refuse someone who is not a member."""
    membership = _target_membership(room=room, target=target)
    if membership is None or membership.banned:
        raise NotFound(f"{target.get_username()} is not a member of this room.")
    return membership


def _check_actor(*, room: Room, actor, target, membership: Membership | None) -> None:
    access = _actor_access(room=room, actor=actor)
    target_role = membership.role if membership is not None else None
    policy.check_act_on(access=access, user=actor, target_user=target, target_role=target_role)


def _member_updated(room: Room, membership: Membership) -> None:
    data = {"member": member_data(membership)}
    events.emit(events.Event(events.MEMBER_UPDATED, data, events.to_room(room.pk)))


def _member_removed(room: Room, target, reason: str) -> None:
    data = {
        "room": room.slug,
        "user": user_record(target),
        "reason": reason,
    }
    events.emit(events.Event(events.MEMBER_REMOVED, data, events.to_room(room.pk)))
    if room.is_private:
        listing = {"room": {"slug": room.slug}}
        events.emit(events.Event(events.ROOMS_REMOVED, listing, events.to_users([target.pk])))


@transaction.atomic
def member_ban(*, room: Room, actor, target, reason: str = "") -> Membership:
    """Ban `target` from the room: their sockets close and they can't come back."""
    membership = _target_membership(room=room, target=target)
    _check_actor(room=room, actor=actor, target=target, membership=membership)
    if membership is None:
        membership = Membership(room=room, user=target)
    if membership.banned:
        return membership
    membership.banned = True
    membership.save()
    log_action(room=room, actor=actor, target=target, kind=Kind.BAN, reason=reason)
    _member_removed(room, target, "banned")
    return membership


@transaction.atomic
def member_unban(*, room: Room, actor, target, reason: str = "") -> None:
    """Lift a ban; the person is no longer a member (they join again like anyone)."""
    membership = _target_membership(room=room, target=target)
    if membership is None or not membership.banned:
        raise NotFound(f"{target.get_username()} is not banned from this room.")
    policy.check_moderate(_actor_access(room=room, actor=actor))
    membership.delete()
    log_action(room=room, actor=actor, target=target, kind=Kind.UNBAN, reason=reason)


@transaction.atomic
def member_remove(*, room: Room, actor, target, reason: str = "") -> None:
    """Remove a member: their sockets close; a public room lets them join again."""
    membership = _member(room=room, target=target)
    _check_actor(room=room, actor=actor, target=target, membership=membership)
    membership.delete()
    log_action(room=room, actor=actor, target=target, kind=Kind.REMOVE, reason=reason)
    _member_removed(room, target, "removed")


@transaction.atomic
def member_mute(
    *, room: Room, actor, target, until: datetime | None = None, reason: str = ""
) -> Membership:
    """Mute a member until `until` (or until unmuted): they read but can't post."""
    membership = _member(room=room, target=target)
    _check_actor(room=room, actor=actor, target=target, membership=membership)
    membership.muted, membership.muted_until = True, until
    membership.save(update_fields=["muted", "muted_until"])
    detail = f"until {until.isoformat()}" if until else "until unmuted"
    log_action(room=room, actor=actor, target=target, kind=Kind.MUTE, detail=detail, reason=reason)
    _member_updated(room, membership)
    return membership


@transaction.atomic
def member_unmute(*, room: Room, actor, target, reason: str = "") -> Membership:
    membership = _member(room=room, target=target)
    _check_actor(room=room, actor=actor, target=target, membership=membership)
    membership.muted, membership.muted_until = False, None
    membership.save(update_fields=["muted", "muted_until"])
    log_action(room=room, actor=actor, target=target, kind=Kind.UNMUTE, reason=reason)
    _member_updated(room, membership)
    return membership


@transaction.atomic
def member_set_role(*, room: Room, actor, target, role: str, reason: str = "") -> Membership:
    """Make a member an owner, a moderator or a plain member (owners and staff only)."""
    if role not in Membership.Role.values:
        raise Invalid(f"'role' must be one of {', '.join(Membership.Role.values)}.")
    membership = _member(room=room, target=target)
    access = _actor_access(room=room, actor=actor)
    policy.check_set_role(access=access, user=actor, role=role)
    policy.check_act_on(access=access, user=actor, target_user=target, target_role=membership.role)
    if membership.role == role:
        return membership
    membership.role = role
    membership.save(update_fields=["role"])
    log_action(room=room, actor=actor, target=target, kind=Kind.ROLE, detail=role, reason=reason)
    _member_updated(room, membership)
    return membership


@transaction.atomic
def member_add(*, room: Room, actor, target, role: str = Membership.Role.MEMBER) -> Membership:
    """Add someone to a room (staff in the admin; invitations later)."""
    # A new member starts with the history read: only what comes next is unread.
    current = Room.objects.filter(pk=room.pk).values_list("rev", flat=True).get()
    membership, created = Membership.objects.get_or_create(
        room=room, user=target, defaults={"role": role, "last_read_rev": current}
    )
    if not created:
        return membership
    _member_updated(room, membership)
    listing = {"room": room_data(room)}
    events.emit(events.Event(events.ROOMS_UPDATED, listing, events.to_users([target.pk])))
    member_joined(room, target.pk)
    return membership


@transaction.atomic
def member_join(*, room: Room, user) -> tuple[Membership, bool]:
    """Join a public room (the directory's one click); return (membership, joined now).

    A member joins again as a no-op. A private room is refused as if it did not exist
    (an invitation adds people to it), a room one is banned from with a reason, an
    archived room because nothing can be said in it. Every call takes a join token.
    """
    take_join_token(user=user)
    membership = _target_membership(room=room, target=user)
    access = policy.room_access(room=room, membership=membership, user=user)
    if access.role is not None:
        return membership, False
    if access.banned and not room.is_private:
        raise Forbidden("You are banned from this room.")
    if not access.see or room.is_private:
        raise NotFound("No such room.")
    if room.is_archived:
        raise RoomArchived("This room is archived: it can be read but not joined.")
    return member_add(room=room, actor=user, target=user), True


@transaction.atomic
def member_leave(*, room: Room, user) -> None:
    """Leave a room: the membership and its read marker go, and every tab of the user
    drops the room (a private one needs a new invitation to come back).

    The only owner can't leave while others remain: the room would have nobody to run
    it. The last one out may, owner or not. Leaving is no moderation: nothing is logged.
    Leaving takes a join token (joining and leaving in turn would churn every tab).
    """
    take_join_token(user=user)
    # The room's row is the lock: two owners leaving at once go one after the other, so
    # the second sees that the first has gone.
    Room.objects.select_for_update().filter(pk=room.pk).values_list("pk", flat=True).first()
    membership = _target_membership(room=room, target=user)
    if membership is None or membership.banned:
        raise NotMember("You are not a member of this room.")
    if membership.role == Membership.Role.OWNER:
        others = Membership.objects.filter(room=room, banned=False, user__is_active=True).exclude(
            pk=membership.pk
        )
        if others.exists() and not others.filter(role=Membership.Role.OWNER).exists():
            raise Forbidden("You are the only owner of this room: hand ownership to someone first.")
    membership.delete()
    _member_removed(room, user, "left")


def member_joined(room: Room, user_id: int) -> None:
    """Tell the user's sockets, on commit, that they are now a member of `room`."""
    data = {"room_id": room.pk, "slug": room.slug}
    events.emit(events.Event(events.ROOM_JOINED, data, events.to_users([user_id])))


def user_by_name(username: str):
    """Return the active user with this username, or raise NotFound."""
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise NotFound(f"No user called {username}.")
    return user


def member_change(*, room: Room, actor, target, changes: dict, reason: str = "") -> None:
    """Apply an edit of a membership (the admin's form) as the actions it stands for.

    Each changed field becomes its service, so a ban from the admin closes sockets and
    is logged exactly like a ban from the room page.
    """
    if changes.get("banned") is True:
        member_ban(room=room, actor=actor, target=target, reason=reason)
        return
    if changes.get("banned") is False:
        member_unban(room=room, actor=actor, target=target, reason=reason)
        member_add(room=room, actor=actor, target=target)
    if "role" in changes:
        member_set_role(room=room, actor=actor, target=target, role=changes["role"], reason=reason)
    if "muted" in changes or "muted_until" in changes:
        membership = Membership.objects.get(room=room, user=target)
        muted = changes.get("muted", membership.muted)
        until = changes.get("muted_until", membership.muted_until)
        if muted:
            member_mute(room=room, actor=actor, target=target, until=until, reason=reason)
        else:
            member_unmute(room=room, actor=actor, target=target, reason=reason)
