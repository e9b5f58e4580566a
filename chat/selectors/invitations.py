"""Reads of invitations, invite links and people to invite, as plain records."""

from django.contrib.auth import get_user_model
from django.db.models.functions import Lower
from django.utils import timezone

from ..models import Invitation, InviteLink, Room
from ..records import format_time, user_data

# The most people a search for a name answers with.
USER_SEARCH_MAX = 10


def invitation_data(invitation: Invitation) -> dict:
    """Return the API's Invitation object (needs `room`, `inviter` and `invitee` loaded)."""
    inviter = invitation.inviter
    return {
        "id": invitation.pk,
        "room": {"slug": invitation.room.slug, "name": invitation.room.name},
        "inviter": None if inviter is None else user_data(inviter.pk, inviter.get_username()),
        "invitee": user_data(invitation.invitee_id, invitation.invitee.get_username()),
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
        "created_by": None if author is None else user_data(author.pk, author.get_username()),
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
    ).select_related("room", "inviter", "invitee")


def room_pending_invitations(*, room: Room) -> list[dict]:
    """Return the room's invitations not answered yet (and not expired), newest first."""
    return [invitation_data(invitation) for invitation in _pending().filter(room=room)]


def user_pending_invitations(*, user) -> list[dict]:
    """Return the invitations waiting for the user's answer, newest first."""
    return [invitation_data(invitation) for invitation in _pending().filter(invitee=user)]


def room_invite_links(*, room: Room) -> list[dict]:
    """Return the room's invite links that were not revoked, newest first."""
    links = InviteLink.objects.filter(room=room, revoked_at__isnull=True)
    return [invite_link_data(link) for link in links.select_related("room", "created_by")]


def invite_link_by_token(*, token: str) -> InviteLink | None:
    return InviteLink.objects.select_related("room").filter(token=token).first()


def user_search(*, prefix: str, exclude_id: int | None = None) -> list[dict]:
    """Return active users whose username starts with `prefix` (any case), by username."""
    users = get_user_model().objects.filter(is_active=True, username__istartswith=prefix)
    if exclude_id is not None:
        users = users.exclude(pk=exclude_id)
    rows = users.order_by(Lower("username"), "username").values_list("pk", "username")[
        :USER_SEARCH_MAX
    ]
    return [user_data(user_id, username) for user_id, username in rows]
