"""Reactions through the HTTP API: PUT adds the caller's emoji to a message, DELETE takes
it back (docs/protocol.md, "Reactions"). Both are idempotent and answer with the message."""

from django.http import JsonResponse
from ninja import Router

from . import services
from .realtime import protocol
from .views import api_view

# Its operations in the HTTP API (api/http.py mounts it).
router = Router(tags=["reactions"])


@router.api_operation(
    ["PUT"],
    "/rooms/{room:slug}/messages/{message_id:message_id}/reactions/{emoji:emoji}/",
    url_name="api_message_reaction",
    operation_id="api_message_reaction_put",
)
@router.api_operation(
    ["DELETE"],
    "/rooms/{room:slug}/messages/{message_id:message_id}/reactions/{emoji:emoji}/",
    url_name="api_message_reaction",
    operation_id="api_message_reaction_delete",
)
@api_view
def api_message_reaction(request, slug: str, message_id: str, emoji: str):
    """Add (PUT) or take back (DELETE) the caller's `emoji` on a message; return the message."""
    room, _access = services.room_open(slug=slug, user=request.user)
    message = services.reaction_set(
        room=room,
        user=request.user,
        message_id=protocol.parse_int(message_id, "id", minimum=1),
        emoji=protocol.clean_emoji(emoji),
        on=request.method == "PUT",
    )
    return JsonResponse({"message": message})
