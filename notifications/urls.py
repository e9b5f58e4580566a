"""URLs of the inbox's HTTP API."""

from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("api/notifications/", views.api_notifications, name="api_notifications"),
    path("api/notifications/read/", views.api_notifications_read, name="api_notifications_read"),
]
