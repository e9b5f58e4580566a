"""Account pages: signing in, resetting and changing a password (Django's own views with
this site's forms and throttles, services.account_safety), and the account page where
people set the e-mail a reset is sent to."""

import math

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from .errors import RateLimited
from .forms import AccountEmailForm, ChangePasswordForm, LoginForm
from .services import account_safety


def too_many(response, retry_after: float):
    """Mark a page that refused a throttled request: 429, with when to come back."""
    response.status_code = 429
    response["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return response


class LoginView(auth_views.LoginView):
    """Render the sign-in form; a locked account or address gets a 429 and one message."""

    form_class = LoginForm
    # A socket closed with 4401 sends its page here; someone still signed in (a password
    # change renews the session) goes straight back.
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        return too_many(response, form.retry_after) if form.retry_after else response


class PasswordResetView(auth_views.PasswordResetView):
    """Render the reset request form; send the mail unless the address asked too often.

    Whether the e-mail belongs to anyone is never said: the next page is the same.
    """

    def form_valid(self, form):
        address = account_safety.client_address(self.request)
        try:
            account_safety.password_reset_allow(address=address)
        except RateLimited as error:
            form.add_error(None, error.detail)
            return too_many(self.form_invalid(form), error.retry_after)
        return super().form_valid(form)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Render the change-password form; this session stays signed in, others end."""

    form_class = ChangePasswordForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_invalid(self, form):
        response = super().form_invalid(form)
        return too_many(response, form.retry_after) if form.retry_after else response


@login_required
@require_http_methods(["GET", "POST"])
def account_settings(request):
    """Render the account page (reset e-mail, password); save a posted e-mail."""
    form = AccountEmailForm(request.POST or None, user=request.user, request=request)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        messages.success(request, "E-mail saved." if user.email else "E-mail removed.")
        return redirect("account_settings")
    response = render(request, "registration/account_settings.html", {"form": form})
    return too_many(response, form.retry_after) if form.retry_after else response
