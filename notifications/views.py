"""The inbox's HTTP API (a page of notifications, marking them read), notification
preferences over the API, the settings page, and the inbox page (with its forms: marking
read, answering an invitation)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from ninja import Query, Router

from api.schemas import answers
from chat.errors import ChatError, NotFound
from chat.models import Invitation
from chat.realtime import protocol
from chat.realtime.protocol import ProtocolError
from chat.services import invitation_accept, invitation_decline, room_open

from . import selectors, services
from .forms import DefaultsForm, RoomNotifyForm
from .schemas import (
    READ_IDS_MAX,
    DefaultsChange,
    MarkRead,
    NotificationPage,
    NotificationPageQuery,
    NotifyDefaults,
    NotifyPreferences,
    RoomNotifyAnswer,
    RoomNotifyChange,
    UnreadCount,
)

# Its operations in the HTTP API (api/http.py mounts it).
router = Router(tags=["notifications"])


@router.get(
    "/notifications/", url_name="api_notifications", response=answers({200: NotificationPage})
)
def api_notifications(request, query: Query[NotificationPageQuery]):
    """Return a page of the caller's notifications, newest first, and the unread count."""
    page = selectors.notification_page(user=request.user, before=query.before, limit=query.limit)
    return JsonResponse(page)


@router.post(
    "/notifications/read/",
    url_name="api_notifications_read",
    response=answers({200: UnreadCount}),
)
def api_notifications_read(request, payload: MarkRead):
    """Mark some of the caller's notifications read, or all; return the unread count."""
    unread = services.notifications_mark_read(
        user=request.user, ids=payload.ids, all=payload.all is True
    )
    return JsonResponse({"unread": unread})


# --- preferences ---------------------------------------------------------------------


@router.get(
    "/preferences/",
    url_name="api_preferences",
    operation_id="api_preferences_get",
    response=answers({200: NotifyPreferences}),
)
def api_preferences_get(request):
    """Return the caller's defaults and their member rooms' settings."""
    return JsonResponse(
        {
            "defaults": selectors.defaults_for(user=request.user),
            "rooms": selectors.preference_rooms(user=request.user),
        }
    )


@router.post(
    "/preferences/",
    url_name="api_preferences",
    operation_id="api_preferences_post",
    response=answers({200: NotifyDefaults}),
)
def api_preferences_post(request, payload: DefaultsChange):
    """Change the caller's notification defaults; return them."""
    return JsonResponse(services.defaults_set(user=request.user, **payload.changes()))


@router.post(
    "/rooms/{room:slug}/preferences/",
    url_name="api_room_preferences",
    response=answers({200: RoomNotifyAnswer}),
)
def api_room_preferences(request, slug: str, payload: RoomNotifyChange):
    """Change how the caller is notified of a room; return the room's notify record."""
    room, _access = room_open(slug=slug, user=request.user)
    notify = services.room_notify_set(user=request.user, room=room, **payload.changes())
    return JsonResponse({"room": room.slug, "notify": notify})


@login_required
@require_http_methods(["GET", "POST"])
def notification_settings(request):
    """Render the user's notification defaults and a row per member room, each row a
    small form of its own; save the form posted (a room's names the `room`) and return."""
    defaults = selectors.defaults_for(user=request.user)
    data = request.POST if request.method == "POST" else None
    posted_room = data.get("room") if data is not None else None
    defaults_form = DefaultsForm(data if posted_room is None else None, initial=defaults)
    rows = [
        {**room, "form": _room_form(room, defaults, data if room["slug"] == posted_room else None)}
        for room in selectors.preference_rooms(user=request.user)
    ]
    posted = [form for form in (defaults_form, *(row["form"] for row in rows)) if form.is_bound]
    if data is not None and not posted:
        raise Http404("No such room.")  # a room that is not, or no longer, one of theirs
    if posted and posted[0].is_valid():
        done = _save(request, posted[0])
        messages.success(request, done)
        return redirect("notifications:settings")
    context = {"defaults_form": defaults_form, "rooms": rows}
    return render(request, "notifications/settings.html", context)


def _room_form(room: dict, defaults: dict, data) -> RoomNotifyForm:
    notify = room["notify"]
    initial = {
        "room": room["slug"],
        # The room's own level, or "default" when it follows the user's default.
        "level": notify["level"] if notify["custom"] else "default",
        "muted": notify["muted"],
    }
    return RoomNotifyForm(data, slug=room["slug"], default_level=defaults["level"], initial=initial)


def _save(request, form) -> str:
    """Save a valid form of the settings page through the services; return what was done."""
    if isinstance(form, DefaultsForm):
        services.defaults_set(user=request.user, **form.cleaned_data)
        return "Your notification defaults are saved."
    try:
        room, _access = room_open(slug=form.cleaned_data["room"], user=request.user)
    except NotFound:
        raise Http404("No such room.") from None
    level, muted = form.cleaned_data["level"], form.cleaned_data["muted"]
    services.room_notify_set(user=request.user, room=room, level=level, muted=muted)
    return f"Saved: #{room.name}."


# --- the inbox page (static/js/chat/inbox_page.js keeps it live) ----------------------


@login_required
@require_http_methods(["GET"])
def inbox(request):
    """Render the user's notifications, newest first, a page at a time (`?before=<id>`)."""
    try:
        before = request.GET.get("before")
        before = None if before is None else protocol.parse_int(before, "before", minimum=1)
    except ProtocolError as error:
        return HttpResponseBadRequest(error.detail, content_type="text/plain")
    page = selectors.notification_page(user=request.user, before=before)
    notifications = [{**item, "link": notification_link(item)} for item in page["notifications"]]
    context = {
        "notifications": notifications,
        "unread": page["unread"],
        "before": before,
        # The "Older" link's `before`: the last id shown, when older ones remain.
        "older": notifications[-1]["id"] if page["has_more"] else None,
    }
    return render(request, "notifications/inbox.html", context)


@login_required
@require_http_methods(["POST"])
def inbox_read(request):
    """Mark the form's notifications (`id`) read, or all of them (`all`); go back.

    Ids of notifications that are not the user's are ignored, as in the API.
    """
    if request.POST.get("all") == "true":
        ids = None
    else:
        try:
            values = request.POST.getlist("id")
            ids = [protocol.parse_int(value, "id", minimum=1) for value in values]
        except ProtocolError as error:
            return HttpResponseBadRequest(error.detail, content_type="text/plain")
        if not ids or len(ids) > READ_IDS_MAX:
            detail = f"Send 1 to {READ_IDS_MAX} notification ids, or all=true."
            return HttpResponseBadRequest(detail, content_type="text/plain")
    services.notifications_mark_read(user=request.user, ids=ids, all=ids is None)
    return redirect(_next_url(request))


INVITATION_ANSWERS = ("accept", "decline")


@login_required
@require_http_methods(["POST"])
def inbox_invitation_answer(request):
    """Accept (`answer=accept`) or decline the form's invitation (`invitation`), as the
    API does; accepting opens the room, declining goes back (`next`). A refusal (revoked,
    expired, banned) goes back with its reason as a message.
    """
    answer = request.POST.get("answer")
    if answer not in INVITATION_ANSWERS:
        return HttpResponseBadRequest(
            "'answer' must be accept or decline.", content_type="text/plain"
        )
    try:
        invitation_id = protocol.parse_int(
            request.POST.get("invitation", ""), "invitation", minimum=1
        )
    except ProtocolError as error:
        return HttpResponseBadRequest(error.detail, content_type="text/plain")
    invitation = Invitation.objects.select_related("room").filter(pk=invitation_id).first()
    try:
        if invitation is None:
            raise NotFound("No such invitation.")
        if answer == "accept":
            membership = invitation_accept(invitation=invitation, user=request.user)
            return redirect(membership.room)
        invitation_decline(invitation=invitation, user=request.user)
    except ChatError as refused:
        messages.error(request, refused.detail)
    else:
        messages.success(request, f"You declined the invitation to #{invitation.room.name}.")
    return redirect(_next_url(request))


def notification_link(notification: dict) -> str:
    """Return where a notification leads: its message in its room, the room, or the inbox."""
    room = notification["room"]
    invitation = notification.get("invitation")
    # The room of an invitation not accepted may not be open to its invitee.
    if room is None or (invitation is not None and invitation["status"] != "accepted"):
        return reverse("notifications:inbox")
    url = reverse("chat:room_detail", kwargs={"slug": room["slug"]})
    message = notification["message"]
    return url if message is None else f"{url}#message-{message['id']}"


def _next_url(request) -> str:
    """Return the form's `next` when it is a page of this site, else the inbox."""
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if safe else reverse("notifications:inbox")
