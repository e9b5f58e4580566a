"""Top-level URLs: accounts, admin, chat pages, the chat HTTP API and the inbox's."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

from chat import views as chat_views

urlpatterns = [
    path("accounts/signup/", chat_views.signup, name="signup"),
    # A socket closed with 4401 sends its page here; someone still signed in (a
    # password change renews the session) goes straight back.
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico on pages that name none (the admin's).
    path("favicon.ico", lambda request: redirect(static("favicon.svg"))),
    path("", include("chat.urls")),
    path("", include("notifications.urls")),
]
