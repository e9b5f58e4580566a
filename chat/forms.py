"""Forms for the chat pages and accounts."""

from django import forms
from django.contrib.auth.forms import UserCreationForm

from . import services


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
