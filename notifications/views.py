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
from ninja import Router

from chat.errors import ChatError, Invalid, NotFound
from chat.models import Invitation
from chat.realtime import protocol
from chat.realtime.protocol import ProtocolError
from chat.services import invitation_accept, invitation_decline, room_open
from chat.views import _json_body, _query_int, api_view

from . import selectors, services
from .forms import DefaultsForm, RoomNotifyForm

# Its operations in the HTTP API (api/http.py mounts it).
router = Router(tags=["notifications"])

# Ids one request may mark read; a client marks what it shows, a page or two.
READ_IDS_MAX = 1000


@router.api_operation(["GET"], "/notifications/", url_name="api_notifications")
@api_view
def api_notifications(request):
    """Return a page of the caller's notifications, newest first, and the unread count."""
    before = _query_int(request, "before", minimum=1)
    limit = _query_int(request, "limit", minimum=0)
    limit = selectors.PAGE_SIZE if limit is None else protocol.clean_limit(limit)
    page = selectors.notification_page(user=request.user, before=before, limit=limit)
    return JsonResponse(page)


@router.api_operation(["POST"], "/notifications/read/", url_name="api_notifications_read")
@api_view
def api_notifications_read(request):
    """Mark some of the caller's notifications read, or all; return the unread count."""
    ids, mark_all = _read_request(_json_body(request))
    unread = services.notifications_mark_read(user=request.user, ids=ids, all=mark_all)
    return JsonResponse({"unread": unread})


def _read_request(data: dict) -> tuple[list[int] | None, bool]:
    """Return the ids to mark, or (None, True) for all of them, from a request body."""
    if "all" in data:
        if data["all"] is not True or "ids" in data:
            raise Invalid('The body must be {"ids": [...]} or {"all": true}.')
        return None, True
    ids = data.get("ids")
    if not isinstance(ids, list):
        raise Invalid('The body must be {"ids": [...]} or {"all": true}.')
    if len(ids) > READ_IDS_MAX:
        raise Invalid(f"At most {READ_IDS_MAX} ids at once.")
    for value in ids:
        if isinstance(value, str):  # JSON numbers only, as in frames
            raise Invalid("'ids' must be a list of integers.")
        protocol.parse_int(value, "ids", minimum=1)
    return ids, False


# --- preferences ---------------------------------------------------------------------

DEFAULTS_FIELDS = ("level", "desktop")
ROOM_FIELDS = ("level", "muted")


def _changes(data: dict, fields: tuple[str, ...]) -> dict:
    """Return the changes a request body asks for, refusing fields that are not `fields`."""
    allowed = ", ".join(f"'{name}'" for name in fields)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        names = ", ".join(f"'{name}'" for name in unknown)
        raise Invalid(f"Unknown field {names}: the body may hold {allowed}.")
    if not data:
        raise Invalid(f"Nothing to change: the body may hold {allowed}.")
    for name, value in data.items():
        if value is None:  # null would read as "leave it" to the services
            raise Invalid(f"'{name}' may not be null.")
    return data


@router.api_operation(
    ["GET"], "/preferences/", url_name="api_preferences", operation_id="api_preferences_get"
)
@router.api_operation(
    ["POST"], "/preferences/", url_name="api_preferences", operation_id="api_preferences_post"
)
@api_view
def api_preferences(request):
    """Return the caller's defaults and member rooms' settings (GET), or change the
    defaults and return them (POST)."""
    if request.method == "POST":
        changes = _changes(_json_body(request), DEFAULTS_FIELDS)
        return JsonResponse(services.defaults_set(user=request.user, **changes))
    return JsonResponse(
        {
            "defaults": selectors.defaults_for(user=request.user),
            "rooms": selectors.preference_rooms(user=request.user),
        }
    )


@router.api_operation(["POST"], "/rooms/{room:slug}/preferences/", url_name="api_room_preferences")
@api_view
def api_room_preferences(request, slug: str):
    """Change how the caller is notified of a room; return the room's notify record."""
    room, _access = room_open(slug=slug, user=request.user)
    changes = _changes(_json_body(request), ROOM_FIELDS)
    notify = services.room_notify_set(user=request.user, room=room, **changes)
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
        before = _query_int(request, "before", minimum=1)
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
