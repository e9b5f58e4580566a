"""Direct conversations: the HTTP API of docs/protocol.md ("Direct messages")."""

from django.http import JsonResponse
from ninja import Router

from api.schemas import answers

from . import selectors, services
from .schemas.people import DirectAnswer, OpenDirect

# Its operations in the HTTP API (api/http.py mounts it).
router = Router(tags=["direct conversations"])


@router.post(
    "/direct/", url_name="api_direct", response=answers({201: DirectAnswer, 200: DirectAnswer})
)
def api_direct(request, payload: OpenDirect):
    """Open the conversation with the people named: 201 with the room's state when it was
    made now, 200 when it existed."""
    room, created = services.direct_open(starter=request.user, usernames=payload.usernames)
    state = selectors.member_room(user=request.user, room=room)
    state["url"] = room.get_absolute_url()
    return JsonResponse({"room": state, "created": created}, status=201 if created else 200)
