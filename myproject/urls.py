"""Top-level URLs: accounts, admin, chat pages and the chat HTTP API."""

from django.contrib import admin
from django.urls import include, path

from chat import views as chat_views

urlpatterns = [
    path("accounts/signup/", chat_views.signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("", include("chat.urls")),
]
