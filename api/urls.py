"""URLs of the api app: the tokens settings page."""

from django.urls import path

from . import views

app_name = "api"

urlpatterns = [
    path("settings/tokens/", views.token_settings, name="tokens"),
    path("settings/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
]
