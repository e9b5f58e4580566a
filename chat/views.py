"""Chat pages, accounts and the HTTP API of PROTOCOL.md ("HTTP")."""

import json
import logging

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import DatabaseError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from . import protocol, selectors, services
from .forms import RoomCreateForm, SignupForm
from .protocol import BAD_FRAME, BAD_JSON, TOO_LONG, ProtocolError

logger = logging.getLogger(__name__)

ERROR_STATUS = {
    protocol.RATE_LIMITED: 429,
    protocol.ROOM_ARCHIVED: 409,
    protocol.NOT_FOUND: 404,
    protocol.FORBIDDEN: 403,
    protocol.SERVER_ERROR: 500,
}


@require_http_methods(["GET", "POST"])
def signup(request):
    """Render the sign-up form; on success log the new user in and go to the rooms."""
    if request.user.is_authenticated:
        return redirect("chat:room_list")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
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
        room = services.room_create(created_by=request.user, **form.cleaned_data)
        return redirect(room)
    rooms = selectors.room_list_for_user(user=request.user)
    return render(request, "chat/room_list.html", {"rooms": rooms, "form": form})


@login_required
def room_detail(request, slug):
    """Render a room with its latest messages; room.js takes over from there."""
    # room_enter checks access itself (private, banned) and joins a public room.
    room = selectors.room_get(slug=slug)
    if room is None or not services.room_enter(room=room, user=request.user):
        raise Http404("No such room.")
    page = selectors.message_page(room=room)
    context = {
        "room": room,
        "timeline": page["messages"],
        "has_more": page["has_more"],
        "rooms": selectors.room_list_for_user(user=request.user),
        "limits": protocol.limits_data(),
    }
    return render(request, "chat/room_detail.html", context)


# --- HTTP API ------------------------------------------------------------------------


def _error(code: str, detail: str, status: int = 400, **extra) -> JsonResponse:
    response = JsonResponse({"error": {"code": code, "detail": detail, **extra}}, status=status)
    if code == protocol.RATE_LIMITED and "retry_after" in extra:
        response["Retry-After"] = str(max(1, round(extra["retry_after"])))
    return response


def _error_from(error: ProtocolError) -> JsonResponse:
    extra = {"retry_after": error.retry_after} if error.retry_after is not None else {}
    return _error(error.code, error.detail, ERROR_STATUS.get(error.code, 400), **extra)


def _query_int(request, name: str, *, minimum: int) -> int | None:
    value = request.GET.get(name)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit():
        raise ProtocolError(BAD_FRAME, f"'{name}' must be an integer >= {minimum}.")
    # int() refuses more than 4300 digits: compare lengths first.
    digits = value.lstrip("0") or "0"
    if len(digits) > len(str(protocol.MAX_INT)) or int(digits) > protocol.MAX_INT:
        raise ProtocolError(BAD_FRAME, f"'{name}' is out of range.")
    if int(digits) < minimum:
        raise ProtocolError(BAD_FRAME, f"'{name}' must be an integer >= {minimum}.")
    return int(digits)


@require_http_methods(["GET", "POST"])
def api_room_messages(request, slug):
    """Return a page of a room's messages (GET) or store a new one (POST), as JSON."""
    if not request.user.is_authenticated:
        return _error("unauthenticated", "Log in first.", 401)
    room = selectors.room_get_for_user(slug=slug, user=request.user)
    if room is None:
        return _error(protocol.NOT_FOUND, "No such room.", 404)
    try:
        if request.method == "POST":
            return _api_post_message(request, room)
        since = _query_int(request, "since", minimum=0)
        if since is not None:
            return JsonResponse(selectors.messages_since(room=room, since=since))
        before = _query_int(request, "before", minimum=1)
        limit = protocol.clean_limit(_query_int(request, "limit", minimum=0))
        return JsonResponse(selectors.message_page(room=room, before=before, limit=limit))
    except ProtocolError as error:
        return _error_from(error)
    except RequestDataTooBig:
        return _error(TOO_LONG, f"Requests are limited to {settings.CHAT_FRAME_MAX} bytes.")
    except TooManyFieldsSent:
        return _error(BAD_FRAME, "Too many query parameters.")
    except DatabaseError as error:
        # Never a half-done answer: the client resends by client_id.
        logger.warning("API request failed in room %s: %s", slug, error)
        return _error(protocol.SERVER_ERROR, "The server could not do that; try again.", 500)


def _api_post_message(request, room) -> JsonResponse:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    too_big = declared.isdigit() and int(declared) > settings.CHAT_FRAME_MAX
    # Refuse by the declared length before reading a large body at all.
    if too_big or len(request.body) > settings.CHAT_FRAME_MAX:
        raise ProtocolError(TOO_LONG, f"Requests are limited to {settings.CHAT_FRAME_MAX} bytes.")
    try:
        data = json.loads(request.body)
    except (ValueError, RecursionError):
        raise ProtocolError(BAD_JSON, "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ProtocolError(BAD_FRAME, "The request body must be a JSON object.")
    command = protocol.clean_send(data)
    if not services.room_enter(room=room, user=request.user):
        raise ProtocolError(protocol.NOT_FOUND, "No such room.")
    message, created = services.message_send(
        room=room, author=request.user, body=command.body, client_id=command.client_id
    )
    return JsonResponse({"message": message}, status=201 if created else 200)
