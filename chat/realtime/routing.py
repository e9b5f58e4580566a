"""WebSocket URL routes of the chat app."""

from django.urls import re_path

from ..models import SLUG_PATTERN
from .consumer import NoRouteConsumer, RoomConsumer

websocket_urlpatterns = [
    re_path(rf"^ws/rooms/(?P<slug>{SLUG_PATTERN})/$", RoomConsumer.as_asgi()),
    # Anything else is refused cleanly rather than raising "No route found".
    re_path(r"", NoRouteConsumer.as_asgi()),
]
