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
    path("api/rooms/", views.api_rooms, name="api_rooms"),
    re_path(
        rf"^api/rooms/(?P<slug>{SLUG_PATTERN})/read/$", views.api_room_read, name="api_room_read"
    ),
    re_path(
        rf"^api/rooms/(?P<slug>{SLUG_PATTERN})/members/$",
        views.api_room_members,
        name="api_room_members",
    ),
    re_path(
        rf"^api/rooms/(?P<slug>{SLUG_PATTERN})/members/(?P<username>[\w.@+-]{{1,150}})/(?P<action>[a-z]{{1,20}})/$",
        views.api_room_member_action,
        name="api_room_member_action",
    ),
]
