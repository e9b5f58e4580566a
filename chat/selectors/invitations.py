"""Reads of invitations, invite links and people to invite, as plain records."""

from django.utils import timezone

from ..models import Invitation, InviteLink, Room
from ..records import format_time, user_record
from .people import user_search  # noqa: F401 (the people to invite)


def invitation_data(invitation: Invitation) -> dict:
    """Return the API's Invitation object (needs `room`, `inviter` and `invitee` loaded)."""
    inviter = invitation.inviter
    return {
        "id": invitation.pk,
        "room": {"slug": invitation.room.slug, "name": invitation.room.name},
        "inviter": None if inviter is None else user_record(inviter),
        "invitee": user_record(invitation.invitee),
        "status": invitation.status,
        "created_at": format_time(invitation.created_at),
        "expires_at": format_time(invitation.expires_at),
    }


def invite_link_data(link: InviteLink) -> dict:
    """Return the API's InviteLink object (needs `room` and `created_by` loaded)."""
    author = link.created_by
    return {
        "id": link.pk,
        "room": link.room.slug,
        "path": link.get_absolute_url(),
        "created_by": None if author is None else user_record(author),
        "created_at": format_time(link.created_at),
        "expires_at": format_time(link.expires_at),
        "max_uses": link.max_uses,
        "uses": link.uses,
        "revoked": link.revoked_at is not None,
        "expired": link.is_expired(),
    }


def _pending():
    return Invitation.objects.filter(
        status=Invitation.Status.PENDING, expires_at__gt=timezone.now()
    ).select_related("room", "inviter__profile", "invitee__profile")


def room_pending_invitations(*, room: Room) -> list[dict]:
    """Return the room's invitations not answered yet (and not expired), newest first."""
    return [invitation_data(invitation) for invitation in _pending().filter(room=room)]


def user_pending_invitations(*, user) -> list[dict]:
    """Return the invitations waiting for the user's answer, newest first."""
    return [invitation_data(invitation) for invitation in _pending().filter(invitee=user)]


def room_invite_links(*, room: Room) -> list[dict]:
    """Return the room's invite links that were not revoked, newest first."""
    links = InviteLink.objects.filter(room=room, revoked_at__isnull=True)
    return [invite_link_data(link) for link in links.select_related("room", "created_by__profile")]


def invite_link_by_token(*, token: str) -> InviteLink | None:
    return InviteLink.objects.select_related("room").filter(token=token).first()
