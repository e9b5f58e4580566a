"""Invitations, invite links and the people search: the HTTP API of docs/protocol.md
("Invitations") and the page an invite link opens."""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from ninja import Router

from . import errors, policy, selectors, services
from .models import Invitation, InviteLink, Room
from .realtime.protocol import BAD_FRAME, ProtocolError
from .selectors import invitations as invitation_selectors
from .views import _json_body, api_view

# Its operations in the HTTP API (api/http.py mounts it).
router = Router(tags=["invitations"])

# The longest name prefix the people search takes (usernames are at most 150).
SEARCH_PREFIX_MAX = 150


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


@router.api_operation(
    ["GET"],
    "/rooms/{room:slug}/invitations/",
    url_name="api_room_invitations",
    operation_id="api_room_invitations_get",
)
@router.api_operation(
    ["POST"],
    "/rooms/{room:slug}/invitations/",
    url_name="api_room_invitations",
    operation_id="api_room_invitations_post",
)
@api_view
def api_room_invitations(request, slug: str):
    """Invite someone into the room (POST {"username"}), or list its pending invitations."""
    room, access = _room_for_inviting(slug=slug, user=request.user)
    if request.method == "POST":
        username = _json_body(request).get("username")
        if not isinstance(username, str):
            raise ProtocolError(BAD_FRAME, "'username' must be a string.")
        invitation = services.invitation_create(
            room=room, inviter=request.user, invitee_username=username
        )
        data = invitation_selectors.invitation_data(invitation)
        return JsonResponse({"invitation": data}, status=201)
    policy.check_invite(access=access, room=room)
    return JsonResponse({"invitations": invitation_selectors.room_pending_invitations(room=room)})


@router.api_operation(["GET"], "/invitations/", url_name="api_invitations")
@api_view
def api_invitations(request):
    """Return the invitations waiting for the caller's answer."""
    pending = invitation_selectors.user_pending_invitations(user=request.user)
    return JsonResponse({"invitations": pending})


@router.api_operation(
    ["POST"], "/invitations/{int:invitation_id}/accept/", url_name="api_invitation_accept"
)
@api_view
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


@router.api_operation(
    ["POST"], "/invitations/{int:invitation_id}/decline/", url_name="api_invitation_decline"
)
@api_view
def api_invitation_decline(request, invitation_id: int):
    invitation = services.invitation_decline(
        invitation=_invitation(invitation_id), user=request.user
    )
    return JsonResponse({"invitation": invitation_selectors.invitation_data(invitation)})


@router.api_operation(
    ["POST"],
    "/invitations/{int:invitation_id}/",
    url_name="api_invitation",
    operation_id="api_invitation_delete_post",
)
@router.api_operation(
    ["DELETE"],
    "/invitations/{int:invitation_id}/",
    url_name="api_invitation",
    operation_id="api_invitation_delete_delete",
)
@router.api_operation(
    ["POST"],
    "/invitations/{int:invitation_id}/revoke/",
    url_name="api_invitation_revoke",
    operation_id="api_invitation_revoke_post",
)
@router.api_operation(
    ["DELETE"],
    "/invitations/{int:invitation_id}/revoke/",
    url_name="api_invitation_revoke",
    operation_id="api_invitation_revoke_delete",
)
@api_view
def api_invitation_revoke(request, invitation_id: int):
    """Withdraw an invitation (POST .../revoke/ or DELETE)."""
    invitation = services.invitation_revoke(
        invitation=_invitation(invitation_id), actor=request.user
    )
    return JsonResponse({"invitation": invitation_selectors.invitation_data(invitation)})


@router.api_operation(
    ["GET"],
    "/rooms/{room:slug}/invite-links/",
    url_name="api_room_invite_links",
    operation_id="api_room_invite_links_get",
)
@router.api_operation(
    ["POST"],
    "/rooms/{room:slug}/invite-links/",
    url_name="api_room_invite_links",
    operation_id="api_room_invite_links_post",
)
@api_view
def api_room_invite_links(request, slug: str):
    """Make an invite link (POST {"expires_in_hours", "max_uses"}), or list the room's."""
    room, access = _room_for_inviting(slug=slug, user=request.user)
    if request.method == "POST":
        data = _json_body(request, optional=True)
        unknown = sorted(set(data) - {"expires_in_hours", "max_uses"})
        if unknown:
            raise errors.Invalid(f"Unknown field {', '.join(unknown)}.")
        link = services.invite_link_create(
            room=room,
            actor=request.user,
            expires_in_hours=data.get("expires_in_hours"),
            max_uses=data.get("max_uses"),
        )
        return JsonResponse({"link": _link_data(request, link)}, status=201)
    policy.check_manage_invite_links(access)
    links = InviteLink.objects.filter(room=room, revoked_at__isnull=True)
    links = links.select_related("room", "created_by")
    return JsonResponse({"links": [_link_data(request, link) for link in links]})


@router.api_operation(
    ["POST"], "/invite-links/{int:link_id}/revoke/", url_name="api_invite_link_revoke"
)
@api_view
def api_invite_link_revoke(request, link_id: int):
    link = InviteLink.objects.select_related("room", "created_by").filter(pk=link_id).first()
    if link is None:
        raise errors.NotFound("No such invite link.")
    _room_for_inviting(slug=link.room.slug, user=request.user)  # a hidden room stays hidden
    link = services.invite_link_revoke(link=link, actor=request.user)
    return JsonResponse({"link": _link_data(request, link)})


@router.api_operation(["GET"], "/users/", url_name="api_users")
@api_view
def api_users(request):
    """Return up to ten active users whose username starts with `q` (not the caller)."""
    prefix = request.GET.get("q", "").strip()
    if len(prefix) > SEARCH_PREFIX_MAX:
        raise ProtocolError(BAD_FRAME, f"'q' is at most {SEARCH_PREFIX_MAX} characters.")
    if not prefix:
        return JsonResponse({"users": []})
    users = invitation_selectors.user_search(prefix=prefix, exclude_id=request.user.pk)
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
