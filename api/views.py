"""The tokens page, /settings/tokens/: a person lists, makes and revokes their API tokens.

Every write goes through the services; a token just made is shown on the answer to the
form, once, and never again (only its hash is kept).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.http import require_http_methods

from chat import errors
from chat.views_account import too_many

from . import selectors, services
from .errors import error_response
from .forms import TokenCreateForm
from .models import ApiToken


@login_required
@require_http_methods(["GET", "POST"])
def token_settings(request):
    """Render the user's tokens and the form that makes one; show a token just made."""
    form = TokenCreateForm(request.POST or None)
    created, retry_after = None, None
    if request.method == "POST" and form.is_valid():
        try:
            token, raw = services.token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                expires_at=form.expires_at(),
            )
        except errors.ChatError as error:
            field = "name" if isinstance(error, errors.Empty | errors.TooLong) else None
            form.add_error(field, error.detail)
            if isinstance(error, errors.RateLimited):
                retry_after = error.retry_after
        else:
            created = {"token": token, "text": raw}
            form = TokenCreateForm()
    context = {"form": form, "created": created, "tokens": selectors.user_tokens(user=request.user)}
    response = render(request, "api/tokens.html", context)
    # The answer may carry a token's text: no cache keeps it, and "back" asks again.
    response["Cache-Control"] = "no-store"
    return too_many(response, retry_after) if retry_after else response


@login_required
@require_http_methods(["POST"])
def token_revoke(request, token_id: int):
    """Revoke one of the user's tokens (asked first on the page), then list them again."""
    token = ApiToken.objects.filter(pk=token_id, user=request.user).first()
    if token is None:
        raise Http404("No such token.")
    was_active = token.revoked_at is None
    services.token_revoke(token=token, by=request.user)
    if was_active:
        messages.success(request, f"Revoked “{token.name}”: it signs nothing in any more.")
    return redirect("api:tokens")


def csrf_failure(request, reason=""):
    """Refuse a request whose CSRF check failed: the API's error body under /api/, Django's
    page elsewhere (CSRF_FAILURE_VIEW)."""
    if not request.path.startswith("/api/"):
        return django_csrf_failure(request, reason=reason)
    detail = "A session's request needs the X-CSRFToken header (or send an API token)."
    return error_response("csrf_failed", detail, 403)
