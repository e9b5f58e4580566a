"""Reactions through the HTTP API: PUT adds the caller's emoji to a message, DELETE takes
it back (docs/protocol.md, "Reactions"). Both are idempotent and answer with the message."""

from django.http import JsonResponse
from django.views.decorators.http import require_http_methods

from . import services
from .realtime import protocol
from .views import api_view


@require_http_methods(["PUT", "DELETE"])
@api_view
def api_message_reaction(request, slug, message_id, emoji):
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
