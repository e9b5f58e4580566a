"""Invitations, invite links and the people search: the HTTP API of docs/protocol.md
("Invitations") and the page an invite link opens."""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from ninja import Query, Router

from api.schemas import answers

from . import errors, policy, selectors, services
from .models import Invitation, InviteLink, Room
from .schemas.invitations import (
    AcceptedInvitation,
    InvitationAnswer,
    Invitations,
    Invite,
    InviteLinkAnswer,
    InviteLinkOptions,
    InviteLinks,
    People,
    PeopleQuery,
)
from .selectors import invitations as invitation_selectors

# Its operations in the HTTP API (api/http.py mounts it).
router = Router(tags=["invitations"])


def _room_for_inviting(*, slug: str, user) -> tuple[Room, policy.Access]:
    """Return a room the user may see or moderate (staff: every room), and their access."""
    room, membership = selectors.room_entry(slug=slug, user=user)
    if room is None:
        raise errors.NotFound("No such room.")
    access = policy.room_access(room=room, membership=membership, user=user)
    if not (access.see or access.moderate):
        raise errors.NotFound("No such room.")
    return room, access


def _invitation(invitation_id: int) -> Invitation:
    invitation = (
        Invitation.objects.select_related("room", "inviter", "invitee")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None:
        raise errors.NotFound("No such invitation.")
    return invitation


def _link_data(request, link: InviteLink) -> dict:
    data = invitation_selectors.invite_link_data(link)
    data["url"] = request.build_absolute_uri(data["path"])
    return data


@router.get(
    "/rooms/{room:slug}/invitations/",
    url_name="api_room_invitations",
    operation_id="api_room_invitations_get",
    response=answers({200: Invitations}),
)
def api_room_invitations_get(request, slug: str):
    """Return the room's pending invitations, newest first (to those who may invite)."""
    room, access = _room_for_inviting(slug=slug, user=request.user)
    policy.check_invite(access=access, room=room)
    return JsonResponse({"invitations": invitation_selectors.room_pending_invitations(room=room)})


@router.post(
    "/rooms/{room:slug}/invitations/",
    url_name="api_room_invitations",
    operation_id="api_room_invitations_post",
    response=answers({201: InvitationAnswer}),
)
def api_room_invitations_post(request, slug: str, payload: Invite):
    """Invite someone into the room; inviting them again answers the pending invitation."""
    room, _access = _room_for_inviting(slug=slug, user=request.user)
    invitation = services.invitation_create(
        room=room, inviter=request.user, invitee_username=payload.username
    )
    data = invitation_selectors.invitation_data(invitation)
    return JsonResponse({"invitation": data}, status=201)


@router.get("/invitations/", url_name="api_invitations", response=answers({200: Invitations}))
def api_invitations(request):
    """Return the invitations waiting for the caller's answer."""
    pending = invitation_selectors.user_pending_invitations(user=request.user)
    return JsonResponse({"invitations": pending})


@router.post(
    "/invitations/{int:invitation_id}/accept/",
    url_name="api_invitation_accept",
    response=answers({200: AcceptedInvitation}),
)
def api_invitation_accept(request, invitation_id: int):
    """Accept an invitation: the caller joins the room; answer with the room to open."""
    invitation = _invitation(invitation_id)
    services.invitation_accept(invitation=invitation, user=request.user)
    invitation.refresh_from_db(fields=["status", "answered_at"])
    return JsonResponse(
        {
            "invitation": invitation_selectors.invitation_data(invitation),
            "room": {"slug": invitation.room.slug, "url": invitation.room.get_absolute_url()},
        }
    )


@router.post(
    "/invitations/{int:invitation_id}/decline/",
    url_name="api_invitation_decline",
    response=answers({200: InvitationAnswer}),
)
def api_invitation_decline(request, invitation_id: int):
    """Decline an invitation (the invitee's alone)."""
    invitation = services.invitation_decline(
        invitation=_invitation(invitation_id), user=request.user
    )
    return JsonResponse({"invitation": invitation_selectors.invitation_data(invitation)})


@router.post(
    "/invitations/{int:invitation_id}/",
    url_name="api_invitation",
    operation_id="api_invitation_delete_post",
    response=answers({200: InvitationAnswer}),
)
@router.delete(
    "/invitations/{int:invitation_id}/",
    url_name="api_invitation",
    operation_id="api_invitation_delete_delete",
    response=answers({200: InvitationAnswer}),
)
@router.post(
    "/invitations/{int:invitation_id}/revoke/",
    url_name="api_invitation_revoke",
    operation_id="api_invitation_revoke_post",
    response=answers({200: InvitationAnswer}),
)
@router.delete(
    "/invitations/{int:invitation_id}/revoke/",
    url_name="api_invitation_revoke",
    operation_id="api_invitation_revoke_delete",
    response=answers({200: InvitationAnswer}),
)
def api_invitation_revoke(request, invitation_id: int):
    """Withdraw an invitation (POST .../revoke/ or DELETE)."""
    invitation = services.invitation_revoke(
        invitation=_invitation(invitation_id), actor=request.user
    )
    return JsonResponse({"invitation": invitation_selectors.invitation_data(invitation)})


@router.get(
    "/rooms/{room:slug}/invite-links/",
    url_name="api_room_invite_links",
    operation_id="api_room_invite_links_get",
    response=answers({200: InviteLinks}),
)
def api_room_invite_links_get(request, slug: str):
    """Return the room's invite links not revoked (to its owners, moderators and staff)."""
    room, access = _room_for_inviting(slug=slug, user=request.user)
    policy.check_manage_invite_links(access)
    links = InviteLink.objects.filter(room=room, revoked_at__isnull=True)
    links = links.select_related("room", "created_by")
    return JsonResponse({"links": [_link_data(request, link) for link in links]})


# An absent or empty body (not a JSON null, which is no object).
NO_LIMITS = InviteLinkOptions()


@router.post(
    "/rooms/{room:slug}/invite-links/",
    url_name="api_room_invite_links",
    operation_id="api_room_invite_links_post",
    response=answers({201: InviteLinkAnswer}),
)
def api_room_invite_links_post(request, slug: str, payload: InviteLinkOptions = NO_LIMITS):
    """Make an invite link to the room; without a body, one with no limits."""
    room, _access = _room_for_inviting(slug=slug, user=request.user)
    link = services.invite_link_create(
        room=room,
        actor=request.user,
        expires_in_hours=payload.expires_in_hours,
        max_uses=payload.max_uses,
    )
    return JsonResponse({"link": _link_data(request, link)}, status=201)


@router.post(
    "/invite-links/{int:link_id}/revoke/",
    url_name="api_invite_link_revoke",
    response=answers({200: InviteLinkAnswer}),
)
def api_invite_link_revoke(request, link_id: int):
    """Revoke an invite link: following it joins nobody any more."""
    link = InviteLink.objects.select_related("room", "created_by").filter(pk=link_id).first()
    if link is None:
        raise errors.NotFound("No such invite link.")
    _room_for_inviting(slug=link.room.slug, user=request.user)  # a hidden room stays hidden
    link = services.invite_link_revoke(link=link, actor=request.user)
    return JsonResponse({"link": _link_data(request, link)})


@router.get("/users/", url_name="api_users", response=answers({200: People}))
def api_users(request, query: Query[PeopleQuery]):
    """Return up to ten active users whose username or display name starts with `q`
    (any case), never the caller; an empty `q` gives none."""
    if not query.q:
        return JsonResponse({"users": []})
    users = invitation_selectors.user_search(prefix=query.q, exclude_id=request.user.pk)
    return JsonResponse({"users": users})


@login_required
@require_http_methods(["GET", "POST"])
def invite_link_follow(request, token):
    """Render the room an invite link leads to with a "Join" button; POST joins it."""
    link = invitation_selectors.invite_link_by_token(token=token)
    error = None
    if request.method == "POST":
        try:
            room = services.invite_link_follow(token=token, user=request.user)
        except errors.ChatError as refused:
            error = refused.detail
        else:
            return redirect(room)
    status = 404 if link is None else 200
    context = {"link": link, "room": None if link is None else link.room, "error": error}
    if link is not None and error is None:
        context["error"] = _link_problem(link)
    if error is not None:
        status = 400
    return render(request, "chat/invite_link.html", context, status=status)


def _link_problem(link: InviteLink) -> str | None:
    """Say why following the link would fail, before anyone presses "Join"."""
    if link.revoked_at is not None:
        return "This invite link was revoked."
    if link.is_expired():
        return "This invite link has expired."
    if link.is_used_up():
        return "This invite link has been used up."
    return None
