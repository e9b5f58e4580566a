"""URLs of the chat pages and API."""

from django.urls import path, re_path

from . import views
from .models import SLUG_PATTERN

app_name = "chat"

urlpatterns = [
    path("", views.room_list, name="room_list"),
    re_path(rf"^rooms/(?P<slug>{SLUG_PATTERN})/$", views.room_detail, name="room_detail"),
    re_path(
        rf"^api/rooms/(?P<slug>{SLUG_PATTERN})/messages/$",
        views.api_room_messages,
        name="api_room_messages",
    ),
]
