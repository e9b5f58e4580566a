"""WebSocket URL routes of the ops app (ahead of the chat app's, whose last route takes
every other path)."""

from django.urls import re_path

from .consumers import DashboardConsumer

websocket_urlpatterns = [
    re_path(r"^ws/ops/dashboard/$", DashboardConsumer.as_asgi()),
]
