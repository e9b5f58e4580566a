"""Reactions through the HTTP API: PUT adds the caller's emoji to a message, DELETE takes
it back (docs/protocol.md, "Reactions"). Both are idempotent and answer with the message."""

from django.http import JsonResponse
from ninja import Router

from api.schemas import answers

from . import services
from .realtime import protocol
from .schemas.records import MessageAnswer

# Its operations in the HTTP API (api/http.py mounts it).
router = Router(tags=["reactions"])

# The emoji is percent-encoded in the path (encodeURIComponent); Django has decoded it.
REACTION_PATH = "/rooms/{room:slug}/messages/{message_id:message_id}/reactions/{emoji:emoji}/"


@router.put(
    REACTION_PATH,
    url_name="api_message_reaction",
    operation_id="api_message_reaction_put",
    response=answers({200: MessageAnswer}),
)
def api_message_reaction_put(request, slug: str, message_id: str, emoji: str):
    """Add the caller's `emoji` to a message (again: nothing changes); return the message."""
    return _reaction_set(request, slug, message_id, emoji, on=True)


@router.delete(
    REACTION_PATH,
    url_name="api_message_reaction",
    operation_id="api_message_reaction_delete",
    response=answers({200: MessageAnswer}),
)
def api_message_reaction_delete(request, slug: str, message_id: str, emoji: str):
    """Take back the caller's `emoji` on a message (none: nothing changes); return the
    message."""
    return _reaction_set(request, slug, message_id, emoji, on=False)


def _reaction_set(request, slug: str, message_id: str, emoji: str, *, on: bool) -> JsonResponse:
    room, _access = services.room_open(slug=slug, user=request.user)
    message = services.reaction_set(
        room=room,
        user=request.user,
        message_id=protocol.parse_int(message_id, "id", minimum=1),
        emoji=protocol.clean_emoji(emoji),
        on=on,
    )
    return JsonResponse({"message": message})
