"""URLs of the chat pages and API (whose operations are in api/http.py's NinjaAPI)."""

from django.urls import path, re_path

from api.http import routes

from . import settings_views, views
from . import views_attachments as attachments
from . import views_invitations as invitations
from . import views_people as people
from . import views_search as search
from .models import SLUG_PATTERN

app_name = "chat"

urlpatterns = [
    # The HTTP API: django-ninja operations (api/http.py), under their names of old.
    *routes(
        "api_room_directory",
        "api_room_join",
        "api_room_leave",
        "api_room_messages",
        "api_message_reaction",
        "api_room_attachments",
        "api_attachment",
        "api_search",
        "api_rooms",
        "api_room_read",
        "api_room_members",
        "api_room_member_action",
        "api_room_invitations",
        "api_invitations",
        "api_invitation_accept",
        "api_invitation_decline",
        "api_invitation_revoke",
        "api_invitation",
        "api_room_invite_links",
        "api_invite_link_revoke",
        "api_users",
        "api_user",
        "api_profile",
        "api_direct",
    ),
    path("", views.room_list, name="room_list"),
    # Before the room pages: "directory" is no room's slug (services.rooms reserves it).
    path("rooms/directory/", views.room_directory, name="room_directory"),
    re_path(rf"^rooms/(?P<slug>{SLUG_PATTERN})/$", views.room_detail, name="room_detail"),
    re_path(
        rf"^rooms/(?P<slug>{SLUG_PATTERN})/settings/$",
        settings_views.room_settings,
        name="room_settings",
    ),
    # Shared files, to their room's readers (views_attachments.py); the name is for people.
    path(
        "files/<int:attachment_id>/thumbnail/",
        attachments.attachment_thumbnail,
        name="attachment_thumbnail",
    ),
    path(
        "files/<int:attachment_id>/<str:name>", attachments.attachment_file, name="attachment_file"
    ),
    path("search/", search.search_page, name="search"),
    path("settings/profile/", people.profile_settings, name="profile_settings"),
    re_path(
        r"^join/(?P<token>[A-Za-z0-9_-]{1,64})/$",
        invitations.invite_link_follow,
        name="invite_link_follow",
    ),
]
