"""Direct conversations: the HTTP API of docs/protocol.md ("Direct messages")."""

from django.http import JsonResponse
from ninja import Router

from . import selectors, services
from .realtime.protocol import BAD_FRAME, ProtocolError
from .views import _json_body, api_view

# Its operations in the HTTP API (api/http.py mounts it).
router = Router(tags=["direct conversations"])


@router.api_operation(["POST"], "/direct/", url_name="api_direct")
@api_view
def api_direct(request):
    """Open the conversation with the people named (POST {"usernames": [...]}): 201 with
    the room's state when it was made now, 200 when it existed."""
    usernames = _json_body(request).get("usernames")
    if not isinstance(usernames, list) or not all(isinstance(name, str) for name in usernames):
        raise ProtocolError(BAD_FRAME, "'usernames' must be a list of usernames.")
    room, created = services.direct_open(starter=request.user, usernames=usernames)
    state = selectors.member_room(user=request.user, room=room)
    state["url"] = room.get_absolute_url()
    return JsonResponse({"room": state, "created": created}, status=201 if created else 200)
