"""Forms for the chat pages and accounts."""

from django import forms
from django.contrib.auth.forms import UserCreationForm

from . import services
from .models import Membership


class SignupForm(UserCreationForm):
    """Create an account with a username and a password."""

    class Meta(UserCreationForm.Meta):
        fields = ("username",)


class RoomCreateForm(forms.Form):
    name = forms.CharField(max_length=80, strip=True)
    topic = forms.CharField(max_length=200, required=False, strip=True)
    is_private = forms.BooleanField(
        label="Private", required=False, help_text="Only people you add can see it."
    )

    def clean_name(self):
        name = self.cleaned_data["name"]
        if services.room_name_taken(name):
            raise forms.ValidationError(f"A room called “{name}” already exists.")
        return name


class RoomSettingsForm(forms.Form):
    """A room's settings, as its owners change them."""

    name = forms.CharField(max_length=80, strip=True)
    topic = forms.CharField(max_length=200, required=False, strip=True)
    is_private = forms.BooleanField(
        label="Private",
        required=False,
        help_text="Only members see it; people who are not members lose it at once.",
    )
    is_archived = forms.BooleanField(
        label="Archived", required=False, help_text="Everyone can still read it; nobody can write."
    )

    def __init__(self, *args, room, **kwargs):
        super().__init__(*args, **kwargs)
        self.room = room

    def clean_name(self):
        name = self.cleaned_data["name"]
        if services.room_name_taken(name, excluding=self.room.pk):
            raise forms.ValidationError(f"A room called “{name}” already exists.")
        return name


class MemberRoleForm(forms.Form):
    """One member's role, from the settings page's list of members."""

    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Membership.Role.choices)
