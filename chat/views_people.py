"""People: the profile card (GET /api/users/<username>/), one's own profile (the API and
the settings page). Documented in docs/protocol.md ("People")."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from ninja import Router

from . import errors, services
from .models import DISPLAY_NAME_MAX
from .records import display_name_of
from .selectors import people
from .views import _json_body, api_view

# Its operations in the HTTP API (api/http.py mounts it).
router = Router(tags=["people"])


@router.api_operation(["GET"], "/users/{username:username}/", url_name="api_user")
@api_view
def api_user(request, username: str):
    """Return the profile card of an active user, as the caller sees them."""
    person = people.active_user(username=username)
    if person is None:
        raise errors.NotFound("No such person.")
    return JsonResponse(people.profile_card(viewer=request.user, person=person))


@router.api_operation(["GET"], "/profile/", url_name="api_profile", operation_id="api_profile_get")
@router.api_operation(
    ["POST"], "/profile/", url_name="api_profile", operation_id="api_profile_post"
)
@api_view
def api_profile(request):
    """Return the caller's profile (GET), or change their display name (POST)."""
    if request.method == "POST":
        data = _json_body(request)
        if "display_name" not in data:
            raise errors.Invalid("Give 'display_name' (\"\" for none).")
        services.profile_update(user=request.user, display_name=data["display_name"])
    return JsonResponse(_profile(request.user))


def _profile(user) -> dict:
    return {"username": user.get_username(), "display_name": display_name_of(user)}


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        max_length=DISPLAY_NAME_MAX,
        required=False,
        strip=True,
        help_text="Shown beside your username on your messages and in member lists. "
        "Leave it empty to show your username alone.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def profile_settings(request):
    """Render the caller's profile form; save it through the service and come back."""
    form = ProfileForm(request.POST or None, initial=_profile(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            services.profile_update(
                user=request.user, display_name=form.cleaned_data["display_name"]
            )
        except errors.ChatError as refused:
            form.add_error("display_name", refused.detail)
        else:
            messages.success(request, "Your profile is saved.")
            return redirect("chat:profile_settings")
    return render(request, "chat/profile_settings.html", {"form": form})
