"""Top-level URLs: accounts, admin, chat pages, the chat HTTP API, the inbox's, and the
API tokens page, and the API's schema."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

from api.http import schema_urls
from chat import views as chat_views
from chat import views_account as account_views
from chat.forms import AdminLoginForm, NewPasswordForm

# The admin's sign-in is a way to guess passwords too: it shares the site's lock.
admin.site.login_form = AdminLoginForm

urlpatterns = [
    path("accounts/signup/", chat_views.signup, name="signup"),
    # Before django.contrib.auth.urls: these replace its views of the same names.
    path("accounts/login/", account_views.LoginView.as_view(), name="login"),
    path(
        "accounts/password_change/",
        account_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password_reset/",
        account_views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(form_class=NewPasswordForm),
        name="password_reset_confirm",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("settings/account/", account_views.account_settings, name="account_settings"),
    # Before the admin's own URLs, whose catch-all would answer 404 for it.
    path("admin/ops/", include("ops.urls")),
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico on pages that name none (the admin's).
    path("favicon.ico", lambda request: redirect(static("favicon.svg"))),
    path("", include("chat.urls")),
    path("", include("notifications.urls")),
    path("", include("api.urls")),
    # The HTTP API's OpenAPI schema (/api/schema/) and its browsable page (/api/docs/).
    path("api/", schema_urls()),
]
