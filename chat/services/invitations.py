"""Invitations and invite links: asking people into a room, and their answers.

Each service checks the actor against the access rule, writes in one transaction and
sends `chat.signals.invitation_changed` in it (the inbox notifies the invitee, marks
the notification read or withdraws it), and emits `invitation.updated` to those who
see the room's pending invitations. Joining goes through `member_add`, which tells the
room and the new member's sockets on commit; accepting and following a link take a join
token (`members.take_join_token`), as joining and leaving do.

An invitation to someone banned from the room does nothing: it is answered as if it
were sent (an unsaved invitation, with no id), nothing is stored and nobody is
notified, so that inviting does not tell a member who is banned.
"""

import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from .. import events, policy
from ..errors import AlreadyMember, Closed, Expired, Forbidden, Invalid, NotFound
from ..models import Invitation, InviteLink, Membership, Room
from ..selectors.invitations import invitation_data
from ..signals import invitation_changed
from .members import member_add, take_join_token, user_by_name

Status = Invitation.Status

# How long an invitation waits for its answer.
INVITATION_LIFETIME = timedelta(days=30)
# The longest an invite link may last, and the most uses it may allow.
INVITE_LINK_HOURS_MAX = 24 * 365
INVITE_LINK_USES_MAX = 10_000


def _access(*, room: Room, user) -> policy.Access:
    membership = Membership.objects.filter(room=room, user=user).first()
    return policy.room_access(room=room, membership=membership, user=user)


def _changed(invitation: Invitation, change: str) -> None:
    invitation_changed.send(sender=Invitation, invitation=invitation, change=change)
    room = invitation.room
    data = {"room": room.slug, "invitation": invitation_data(invitation)}
    audience = _pending_list_audience(room=room, inviter_id=invitation.inviter_id)
    events.emit(events.Event(events.INVITATION_UPDATED, data, audience))


def _pending_list_audience(*, room: Room, inviter_id: int | None) -> events.Audience:
    """Return who sees the room's pending invitations (policy.can_invite).

    In a public room every member does: the room's topic. In a private room only its
    owners and moderators, so that its other members do not learn who is invited; the
    inviter too (staff invite into rooms they are not members of).
    """
    if not room.is_private:
        return events.to_room(room.pk)
    moderators = Membership.objects.filter(
        room=room,
        banned=False,
        role__in=[Membership.Role.OWNER, Membership.Role.MODERATOR],
        user__is_active=True,
    ).values_list("user_id", flat=True)
    return events.to_users(sorted({*moderators, inviter_id} - {None}))


@transaction.atomic
def invitation_create(*, room: Room, inviter, invitee_username: str) -> Invitation:
    """Invite someone into the room by username; return the invitation.

    A pending invitation of the same person is returned as it is (inviting twice
    notifies once); an expired one is revoked and a new one made.
    """
    policy.check_invite(access=_access(room=room, user=inviter), room=room)
    if not isinstance(invitee_username, str) or not invitee_username.strip():
        raise Invalid("Say whom to invite: 'username'.")
    invitee = user_by_name(invitee_username.strip())
    if invitee.pk == inviter.pk:
        raise Invalid("You can't invite yourself.")
    expires_at = timezone.now() + INVITATION_LIFETIME
    membership = Membership.objects.filter(room=room, user=invitee).first()
    if membership is not None and membership.banned:
        return Invitation(room=room, inviter=inviter, invitee=invitee, expires_at=expires_at)
    if membership is not None:
        raise AlreadyMember(f"{invitee.get_username()} is already a member of this room.")
    pending = _pending_of(room=room, invitee=invitee)
    if pending is not None and not pending.is_expired():
        return pending
    if pending is not None:
        _close(pending, Status.REVOKED)
    try:
        with transaction.atomic():  # a concurrent invitation of the same person wins
            invitation = Invitation.objects.create(
                room=room, inviter=inviter, invitee=invitee, expires_at=expires_at
            )
    except IntegrityError:
        existing = _pending_of(room=room, invitee=invitee)
        if existing is None:
            raise
        return existing
    _changed(invitation, "created")
    return invitation


def _pending_of(*, room: Room, invitee) -> Invitation | None:
    # Only the invitation row: its inviter is a nullable join, which PostgreSQL will not lock.
    pending = Invitation.objects.select_for_update(of=("self",)).filter(
        room=room, invitee=invitee, status=Status.PENDING
    )
    return pending.select_related("room", "inviter__profile", "invitee__profile").first()


def _close(invitation: Invitation, status: str) -> None:
    invitation.status = status
    invitation.answered_at = timezone.now()
    invitation.save(update_fields=["status", "answered_at"])
    _changed(invitation, status)


def _locked(invitation: Invitation) -> Invitation:
    """Return the invitation read again, locked: two answers apply one after the other."""
    locked = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("room", "inviter__profile", "invitee__profile")
        .filter(pk=invitation.pk)
        .first()
    )
    if locked is None:
        raise NotFound("No such invitation.")
    return locked


def _check_answerable(invitation: Invitation, user) -> None:
    """Only the invitee answers, and only a pending invitation that has not expired."""
    if invitation.invitee_id != user.pk:
        raise NotFound("No such invitation.")
    if invitation.status != Status.PENDING:
        raise Closed(f"This invitation was already {invitation.status}.")
    if invitation.is_expired():
        raise Expired("This invitation has expired; ask for a new one.")


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user) -> Membership:
    """Accept an invitation: the invitee becomes a member of the room, live."""
    take_join_token(user=user)
    invitation = _locked(invitation)
    _check_answerable(invitation, user)
    membership = Membership.objects.filter(room=invitation.room, user=user).first()
    if membership is not None and membership.banned:
        raise Forbidden("You can't join this room.")
    membership = member_add(room=invitation.room, actor=invitation.inviter, target=user)
    _close(invitation, Status.ACCEPTED)
    return membership


@transaction.atomic
def invitation_decline(*, invitation: Invitation, user) -> Invitation:
    """Decline an invitation (the invitee only)."""
    invitation = _locked(invitation)
    _check_answerable(invitation, user)
    _close(invitation, Status.DECLINED)
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor) -> Invitation:
    """Withdraw a pending invitation (its inviter, the room's moderators, staff)."""
    invitation = _locked(invitation)
    access = _access(room=invitation.room, user=actor)
    if invitation.inviter_id != actor.pk and not access.moderate:
        if invitation.invitee_id == actor.pk or access.see:
            raise Forbidden("Only who sent an invitation, or a moderator, can revoke it.")
        raise NotFound("No such invitation.")
    if invitation.status != Status.PENDING:
        raise Closed(f"This invitation was already {invitation.status}.")
    _close(invitation, Status.REVOKED)
    return invitation


# --- invite links --------------------------------------------------------------------


def positive_or_none(value, name: str, maximum: int) -> int | None:
    """Validate an invite link's limit: null (none), or an integer from 1 to `maximum`."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise Invalid(f"'{name}' must be null or an integer from 1 to {maximum}.")
    return value


@transaction.atomic
def invite_link_create(
    *, room: Room, actor, expires_in_hours: int | None = None, max_uses: int | None = None
) -> InviteLink:
    """Make an invite link to the room (owners, moderators, staff); None: no limit."""
    policy.check_manage_invite_links(_access(room=room, user=actor))
    hours = positive_or_none(expires_in_hours, "expires_in_hours", INVITE_LINK_HOURS_MAX)
    max_uses = positive_or_none(max_uses, "max_uses", INVITE_LINK_USES_MAX)
    return InviteLink.objects.create(
        room=room,
        created_by=actor,
        token=secrets.token_urlsafe(24),
        expires_at=None if hours is None else timezone.now() + timedelta(hours=hours),
        max_uses=max_uses,
    )


@transaction.atomic
def invite_link_revoke(*, link: InviteLink, actor) -> InviteLink:
    """Revoke an invite link: following it no longer joins anyone."""
    policy.check_manage_invite_links(_access(room=link.room, user=actor))
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])
    return link


@transaction.atomic
def invite_link_follow(*, token: str, user) -> Room:
    """Join the room of an invite link; return the room.

    Someone already a member just gets the room (no use is counted).
    """
    take_join_token(user=user)
    link = InviteLink.objects.select_related("room").filter(token=token).first()
    if link is None:
        raise NotFound("This invite link does not exist.")
    if link.revoked_at is not None:
        raise Closed("This invite link was revoked.")
    if link.is_expired():
        raise Expired("This invite link has expired.")
    room = link.room
    membership = Membership.objects.filter(room=room, user=user).first()
    if membership is not None and membership.banned:
        raise Forbidden("You can't join this room.")
    if membership is not None:
        return room
    # Counted with a condition in the update itself, so that concurrent followers of
    # a link with one use left can't both get in.
    counted = (
        InviteLink.objects.filter(pk=link.pk, revoked_at__isnull=True)
        .filter(Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses")))
        .update(uses=F("uses") + 1)
    )
    if not counted:
        raise Closed("This invite link has been used up.")
    member_add(room=room, actor=link.created_by, target=user)
    return room
