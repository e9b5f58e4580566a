"""URLs of the inbox's HTTP API, notification preferences and their settings page."""

from django.urls import path

from api.http import routes

from . import views

app_name = "notifications"

urlpatterns = [
    # The inbox's HTTP API: django-ninja operations (api/http.py), under their names of old.
    *routes(
        "api_notifications",
        "api_notifications_read",
        "api_preferences",
        "api_room_preferences",
    ),
    path("notifications/", views.inbox, name="inbox"),
    path("notifications/read/", views.inbox_read, name="inbox_read"),
    path(
        "notifications/invitations/answer/",
        views.inbox_invitation_answer,
        name="inbox_invitation_answer",
    ),
    path("settings/notifications/", views.notification_settings, name="settings"),
]
