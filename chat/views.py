"""Chat pages, accounts and the HTTP API of PROTOCOL.md ("HTTP")."""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from ninja import Query, Router

from api.schemas import answers

from . import errors, selectors, services
from .forms import RoomCreateForm, SignupForm
from .realtime import protocol
from .schemas.directory import DirectoryPage, DirectoryQuery, Joined, Left
from .schemas.members import MemberAction, MemberAnswer, RoomMembers
from .schemas.messages import (
    HistoryPage,
    HistoryQuery,
    MessageAnswer,
    ReadMarker,
    RoomStateAnswer,
    RoomStates,
    SendMessage,
)
from .selectors import direct
from .selectors.directory import DIRECTORY_PAGE_SIZE
from .services import account_safety
from .views_account import too_many

logger = logging.getLogger(__name__)

# The HTTP API's operations of this module, by area (api/http.py mounts them).
rooms_router = Router(tags=["rooms and messages"])
members_router = Router(tags=["members and moderation"])
directory_router = Router(tags=["directory, joining and leaving"])


@require_http_methods(["GET", "POST"])
def signup(request):
    """Render the sign-up form; on success log the new user in and go to the rooms."""
    if request.user.is_authenticated:
        return redirect("chat:room_list")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account_safety.signup_allow(address=account_safety.client_address(request))
        except errors.RateLimited as error:
            form.add_error(None, error.detail)
            response = render(request, "registration/signup.html", {"form": form})
            return too_many(response, error.retry_after)
        user = form.save()
        login(request, user)
        return redirect("chat:room_list")
    return render(request, "registration/signup.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def room_list(request):
    """Render the rooms the user may see, and the form that creates one."""
    form = RoomCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            room = services.room_create(created_by=request.user, **form.cleaned_data)
        except errors.Invalid as error:  # a room of that name was created meanwhile
            form.add_error("name", error.detail)
        except errors.RateLimited as error:
            form.add_error(None, error.detail)
        else:
            return redirect(room)
    rooms = selectors.room_list_for_user(user=request.user)
    unlisted = selectors.visible_room_count(user=request.user) - len(rooms)
    context = {"rooms": rooms, "unlisted": unlisted, "form": form}
    return render(request, "chat/room_list.html", context)


@login_required
def room_detail(request, slug):
    """Render a room with its latest messages; room.js takes over from there."""
    try:
        room, access = services.room_open(slug=slug, user=request.user)
    except errors.NotFound:
        raise Http404("No such room.") from None
    page = selectors.message_page(room=room)
    # A direct conversation is called by the other people's names, for each of them.
    title = direct.direct_room_title(room=room, user=request.user) if room.is_direct else room.name
    context = {
        "room": room,
        "room_title": title,
        "direct_conversations": direct.direct_conversations(user=request.user),
        "timeline": page["messages"],
        "has_more": page["has_more"],
        # The settings page is its owners' and staff's (policy.check_manage_room).
        "can_manage_room": access.manage_roles,
        "rooms": selectors.room_list_for_user(user=request.user),
        "limits": protocol.limits_data(),
        # Who may say @room / @here: room.js offers them only where the server allows them.
        "mention_all_max": settings.CHAT_MENTION_ALL_MAX_MEMBERS,
    }
    return render(request, "chat/room_detail.html", context)


# --- HTTP API ------------------------------------------------------------------------


@rooms_router.get(
    "/rooms/{room:slug}/messages/",
    url_name="api_room_messages",
    operation_id="api_room_messages_get",
    response=answers({200: HistoryPage}),
)
def api_room_messages_get(request, slug: str, query: Query[HistoryQuery]):
    """Return a page of a room's messages (by before, after or around; the newest
    without), or the changes after the revision `since`."""
    room, _access = services.room_open(slug=slug, user=request.user)
    if query.since is not None:
        return JsonResponse(selectors.messages_since(room=room, since=query.since))
    page = selectors.history_page(
        room=room,
        before=query.before,
        after=query.after,
        around=query.around,
        limit=protocol.clean_limit(query.limit),
    )
    return JsonResponse(page)


@rooms_router.post(
    "/rooms/{room:slug}/messages/",
    url_name="api_room_messages",
    operation_id="api_room_messages_post",
    response=answers({201: MessageAnswer, 200: MessageAnswer}),
)
def api_room_messages_post(request, slug: str, payload: SendMessage):
    """Store a message: 201 when stored now, 200 when its client_id was stored before."""
    room, _access = services.room_open(slug=slug, user=request.user)
    message, created = services.message_send(
        room=room,
        author=request.user,
        body=payload.body,
        client_id=payload.client_id,
        reply_to=payload.reply_to,
        attachments=payload.attachments,
    )
    return JsonResponse({"message": message}, status=201 if created else 200)


@rooms_router.get("/rooms/", url_name="api_rooms", response=answers({200: RoomStates}))
def api_rooms(request):
    """Return the rooms the caller is a member of, with revisions, markers and counts."""
    return JsonResponse({"rooms": selectors.member_rooms(user=request.user)})


@rooms_router.post(
    "/rooms/{room:slug}/read/", url_name="api_room_read", response=answers({200: RoomStateAnswer})
)
def api_room_read(request, slug: str, payload: ReadMarker):
    """Move the caller's read marker of a room forward to `rev`; return the room's state."""
    room, _access = services.room_open(slug=slug, user=request.user)
    state = services.room_mark_read(room=room, user=request.user, rev=payload.rev)
    if state is None:
        raise errors.NotFound("Only members of a room have a read marker.")
    return JsonResponse({"room": state})


@members_router.get(
    "/rooms/{room:slug}/members/", url_name="api_room_members", response=answers({200: RoomMembers})
)
def api_room_members(request, slug: str):
    """Return the room's members, those banned (to moderators), and the caller's access."""
    room, access = services.room_open(slug=slug, user=request.user)
    answer = {
        "members": selectors.room_members(room=room),
        "me": protocol.hello_me(request.user, access),
    }
    if access.moderate:
        answer["banned"] = selectors.room_members(room=room, banned=True)
    return JsonResponse(answer)


def _mute_until(minutes: int | None):
    return None if minutes is None else timezone.now() + timedelta(minutes=minutes)


# Each action's service, with what it takes from the body besides the reason.
MEMBER_ACTIONS = {
    "ban": lambda body, **kw: services.member_ban(**kw),
    "unban": lambda body, **kw: services.member_unban(**kw),
    "remove": lambda body, **kw: services.member_remove(**kw),
    "mute": lambda body, **kw: services.member_mute(until=_mute_until(body.minutes), **kw),
    "unmute": lambda body, **kw: services.member_unmute(**kw),
    "role": lambda body, **kw: services.member_set_role(role=body.role, **kw),
}

# What an action without a body takes: every field left out.
NO_BODY = MemberAction()


@members_router.post(
    "/rooms/{room:slug}/members/{username:username}/{action:action}/",
    url_name="api_room_member_action",
    response=answers({200: MemberAnswer}),
)
def api_room_member_action(
    request, slug: str, username: str, action: str, payload: MemberAction = NO_BODY
):
    """Ban, unban, remove, mute, unmute a member or change their role (`action`: ban,
    unban, remove, mute, unmute or role); return the member. The body may be left out."""
    perform = MEMBER_ACTIONS.get(action)
    if perform is None:
        raise errors.NotFound(f"No action {action!r}.")
    room, _access = services.room_open(slug=slug, user=request.user)
    target = services.user_by_name(username)
    reason = payload.reason or ""
    perform(payload, room=room, actor=request.user, target=target, reason=reason)
    return JsonResponse({"member": selectors.room_member(room=room, user=target)})


# --- joining, leaving and the directory of public rooms -----------------------------


@login_required
@require_http_methods(["GET"])
def room_directory(request):
    """Render a page of the public rooms, searched by name and topic (directory_ui.js
    then searches as one types and loads more in place)."""
    query = request.GET.get("q", "").strip()
    after = request.GET.get("after") or None
    error = None
    try:
        page = selectors.room_directory(user=request.user, query=query, after=after)
    except errors.Invalid as refused:
        page, error = {"rooms": [], "next": None}, refused.detail
    context = {"page": page, "query": query, "after": after, "error": error}
    return render(request, "chat/directory.html", context)


@directory_router.get(
    "/rooms/directory/", url_name="api_room_directory", response=answers({200: DirectoryPage})
)
def api_room_directory(request, query: Query[DirectoryQuery]):
    """Return a page of the public rooms matching `q`, after the cursor `after`."""
    page = selectors.room_directory(
        user=request.user,
        query=query.q,
        after=query.after,
        limit=query.limit or DIRECTORY_PAGE_SIZE,
    )
    return JsonResponse(page)


@directory_router.post(
    "/rooms/{room:slug}/join/",
    url_name="api_room_join",
    response=answers({201: Joined, 200: Joined}),
)
def api_room_join(request, slug: str):
    """Make the caller a member of a public room: 201 with its state (as hello.rooms), 200
    when they already were one."""
    # Not room_open: a ban is answered with its reason here, not as a missing room.
    room, _membership = selectors.room_entry(slug=slug, user=request.user)
    if room is None:
        raise errors.NotFound("No such room.")
    _membership, joined = services.member_join(room=room, user=request.user)
    state = selectors.member_room(user=request.user, room=room)
    return JsonResponse({"joined": room.slug, "room": state}, status=201 if joined else 200)


@directory_router.post(
    "/rooms/{room:slug}/leave/", url_name="api_room_leave", response=answers({200: Left})
)
def api_room_leave(request, slug: str):
    """End the caller's membership of a room; every tab of theirs drops it."""
    room, _access = services.room_open(slug=slug, user=request.user)
    services.member_leave(room=room, user=request.user)
    return JsonResponse({"left": room.slug})
