"""People: the profile card (GET /api/users/<username>/), one's own profile (the API and
the settings page). Documented in docs/protocol.md ("People")."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from ninja import Router

from api.schemas import answers

from . import errors, services
from .models import DISPLAY_NAME_MAX
from .records import display_name_of
from .schemas.people import Profile, ProfileCard, ProfileChange
from .selectors import people

# Its operations in the HTTP API (api/http.py mounts it).
router = Router(tags=["people"])


@router.get(
    "/users/{username:username}/", url_name="api_user", response=answers({200: ProfileCard})
)
def api_user(request, username: str):
    """Return the profile card of an active user, as the caller sees them."""
    person = people.active_user(username=username)
    if person is None:
        raise errors.NotFound("No such person.")
    return JsonResponse(people.profile_card(viewer=request.user, person=person))


@router.get(
    "/profile/",
    url_name="api_profile",
    operation_id="api_profile_get",
    response=answers({200: Profile}),
)
def api_profile_get(request):
    """Return the caller's profile."""
    return JsonResponse(_profile(request.user))


@router.post(
    "/profile/",
    url_name="api_profile",
    operation_id="api_profile_post",
    response=answers({200: Profile}),
)
def api_profile_post(request, payload: ProfileChange):
    """Change the caller's display name ("" for none); return their profile."""
    services.profile_update(user=request.user, display_name=payload.display_name)
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
