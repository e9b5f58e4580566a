"""A room's settings page: its owners (and staff) change its name, topic, privacy and
archive, and its members' roles. Every write goes through the services; this page only
shows forms and maps refusals to messages."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from . import errors, policy, selectors, services
from .forms import MemberRoleForm, RoomSettingsForm


@login_required
@require_http_methods(["GET", "POST"])
def room_settings(request, slug):
    """Render the room's settings for those who may change them; save a posted form."""
    try:
        room, access = services.room_open(slug=slug, user=request.user)
        policy.check_manage_room(access)
    except (errors.NotFound, errors.Forbidden):
        raise Http404("No such room.") from None
    initial = {field: getattr(room, field) for field in services.ROOM_PUBLIC_FIELDS}
    posted = request.POST if request.method == "POST" else None
    settings_form = RoomSettingsForm(
        posted if posted is not None and "username" not in posted else None,
        initial=initial,
        room=room,
    )
    role_form = MemberRoleForm(posted) if posted is not None and "username" in posted else None
    if settings_form.is_bound and settings_form.is_valid():
        changes = {f: v for f, v in settings_form.cleaned_data.items() if initial[f] != v}
        if _done(
            request, services.room_settings_change, room=room, actor=request.user, changes=changes
        ):
            messages.success(request, "Saved." if changes else "Nothing changed.")
            return redirect("chat:room_settings", slug=room.slug)
    if role_form is not None and role_form.is_valid():
        target = services.user_by_name(role_form.cleaned_data["username"])
        role = role_form.cleaned_data["role"]
        if _done(
            request,
            services.member_set_role,
            room=room,
            actor=request.user,
            target=target,
            role=role,
        ):
            messages.success(request, f"{target.get_username()} is now {role}.")
            return redirect("chat:room_settings", slug=room.slug)
    context = {
        "room": room,
        "form": settings_form,
        "members": selectors.room_members(room=room),
        "roles": MemberRoleForm.base_fields["role"].choices,
    }
    return render(request, "chat/room_settings.html", context)


def _done(request, service, **arguments) -> bool:
    """Call a service; on a refusal say why on the page and return False."""
    try:
        service(**arguments)
    except errors.ChatError as error:
        messages.error(request, error.detail)
        return False
    return True
