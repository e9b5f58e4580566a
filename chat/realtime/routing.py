"""WebSocket URL routes of the chat app."""

from django.urls import re_path

from ..models import SLUG_PATTERN
from .consumer import NoRouteConsumer, RoomConsumer
from .tab import TabConsumer

websocket_urlpatterns = [
    # Protocol 2: one socket per tab, for every room the user follows.
    re_path(r"^ws/$", TabConsumer.as_asgi()),
    # Protocol 1: one socket per room.
    re_path(rf"^ws/rooms/(?P<slug>{SLUG_PATTERN})/$", RoomConsumer.as_asgi()),
    # Anything else is refused cleanly rather than raising "No route found".
    re_path(r"", NoRouteConsumer.as_asgi()),
]
