"""URLs of the inbox's HTTP API, notification preferences and their settings page."""

from django.urls import path, re_path

from chat.models import SLUG_PATTERN

from . import views

app_name = "notifications"

urlpatterns = [
    path("api/notifications/", views.api_notifications, name="api_notifications"),
    path("api/notifications/read/", views.api_notifications_read, name="api_notifications_read"),
    path("notifications/", views.inbox, name="inbox"),
    path("notifications/read/", views.inbox_read, name="inbox_read"),
    path(
        "notifications/invitations/answer/",
        views.inbox_invitation_answer,
        name="inbox_invitation_answer",
    ),
    path("api/preferences/", views.api_preferences, name="api_preferences"),
    re_path(
        rf"^api/rooms/(?P<slug>{SLUG_PATTERN})/preferences/$",
        views.api_room_preferences,
        name="api_room_preferences",
    ),
    path("settings/notifications/", views.notification_settings, name="settings"),
]
