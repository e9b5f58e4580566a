"""URLs of the chat pages and API."""

from django.urls import path, re_path

from . import settings_views, views
from . import views_attachments as attachments
from . import views_direct as direct
from . import views_invitations as invitations
from . import views_people as people
from . import views_reactions as reactions
from . import views_search as search
from .models import SLUG_PATTERN

app_name = "chat"

urlpatterns = [
    path("", views.room_list, name="room_list"),
    # Before the room pages: "directory" is no room's slug (services.rooms reserves it).
    path("rooms/directory/", views.room_directory, name="room_directory"),
    path("api/rooms/directory/", views.api_room_directory, name="api_room_directory"),
    re_path(
        rf"^api/rooms/(?P<slug>{SLUG_PATTERN})/join/$", views.api_room_join, name="api_room_join"
    ),
    re_path(
        rf"^api/rooms/(?P<slug>{SLUG_PATTERN})/leave/$",
        views.api_room_leave,
        name="api_room_leave",
    ),
    re_path(rf"^rooms/(?P<slug>{SLUG_PATTERN})/$", views.room_detail, name="room_detail"),
    re_path(
        rf"^rooms/(?P<slug>{SLUG_PATTERN})/settings/$",
        settings_views.room_settings,
        name="room_settings",
    ),
    re_path(
        rf"^api/rooms/(?P<slug>{SLUG_PATTERN})/messages/$",
        views.api_room_messages,
        name="api_room_messages",
    ),
    # The emoji is the path's last part, percent-encoded (views_reactions.py).
    re_path(
        rf"^api/rooms/(?P<slug>{SLUG_PATTERN})/messages/(?P<message_id>[0-9]{{1,16}})/reactions/(?P<emoji>[^/]{{1,32}})/$",
        reactions.api_message_reaction,
        name="api_message_reaction",
    ),
    re_path(
        rf"^api/rooms/(?P<slug>{SLUG_PATTERN})/attachments/$",
        attachments.api_room_attachments,
        name="api_room_attachments",
    ),
    path("api/attachments/<int:attachment_id>/", attachments.api_attachment, name="api_attachment"),
    # Shared files, to their room's readers (views_attachments.py); the name is for people.
    path(
        "files/<int:attachment_id>/thumbnail/",
        attachments.attachment_thumbnail,
        name="attachment_thumbnail",
    ),
    path(
        "files/<int:attachment_id>/<str:name>", attachments.attachment_file, name="attachment_file"
    ),
    path("api/search/", search.api_search, name="api_search"),
    path("search/", search.search_page, name="search"),
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
    # Invitations, invite links and the people search (views_invitations.py).
    re_path(
        rf"^api/rooms/(?P<slug>{SLUG_PATTERN})/invitations/$",
        invitations.api_room_invitations,
        name="api_room_invitations",
    ),
    path("api/invitations/", invitations.api_invitations, name="api_invitations"),
    path(
        "api/invitations/<int:invitation_id>/accept/",
        invitations.api_invitation_accept,
        name="api_invitation_accept",
    ),
    path(
        "api/invitations/<int:invitation_id>/decline/",
        invitations.api_invitation_decline,
        name="api_invitation_decline",
    ),
    path(
        "api/invitations/<int:invitation_id>/revoke/",
        invitations.api_invitation_revoke,
        name="api_invitation_revoke",
    ),
    path(
        "api/invitations/<int:invitation_id>/",
        invitations.api_invitation_revoke,
        name="api_invitation",
    ),
    re_path(
        rf"^api/rooms/(?P<slug>{SLUG_PATTERN})/invite-links/$",
        invitations.api_room_invite_links,
        name="api_room_invite_links",
    ),
    path(
        "api/invite-links/<int:link_id>/revoke/",
        invitations.api_invite_link_revoke,
        name="api_invite_link_revoke",
    ),
    path("api/users/", invitations.api_users, name="api_users"),
    re_path(r"^api/users/(?P<username>[\w.@+-]{1,150})/$", people.api_user, name="api_user"),
    path("api/profile/", people.api_profile, name="api_profile"),
    path("settings/profile/", people.profile_settings, name="profile_settings"),
    path("api/direct/", direct.api_direct, name="api_direct"),
    re_path(
        r"^join/(?P<token>[A-Za-z0-9_-]{1,64})/$",
        invitations.invite_link_follow,
        name="invite_link_follow",
    ),
]
