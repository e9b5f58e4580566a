"""The form that makes a token on the settings page."""

from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.utils import timezone

from .models import TOKEN_NAME_MAX, ApiToken

EXPIRY_CHOICES = [
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("date", "At the end of a day I choose"),
    ("never", "Never"),
]
# The furthest day a token may be set to expire on.
EXPIRY_DATE_MAX = timedelta(days=3653)


def _today() -> date:
    return timezone.now().astimezone(UTC).date()


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=TOKEN_NAME_MAX,
        help_text="What it is for, e.g. “deploy bot”: the list shows it.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    scope = forms.ChoiceField(
        choices=[
            (ApiToken.Scope.READ, "Read: rooms, messages, members, notifications"),
            (ApiToken.Scope.WRITE, "Read and write: also send, edit, react, join and leave"),
        ],
        initial=ApiToken.Scope.READ,
        widget=forms.RadioSelect,
    )
    expiry = forms.ChoiceField(label="Expires", choices=EXPIRY_CHOICES, initial="30")
    expires_on = forms.DateField(
        label="Expiry date",
        required=False,
        help_text="With “At the end of a day I choose”: the token works until that day ends (UTC).",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("expiry") != "date":
            return cleaned
        day = cleaned.get("expires_on")
        if day is None:
            if "expires_on" not in self.errors:
                self.add_error("expires_on", "Choose the day the token stops working.")
        elif day < _today():
            self.add_error("expires_on", "Choose today or a later day.")
        elif day > _today() + EXPIRY_DATE_MAX:
            self.add_error("expires_on", "Choose a day within the next ten years.")
        return cleaned

    def expires_at(self) -> datetime | None:
        """Return when the token stops working, as chosen (None: never)."""
        expiry = self.cleaned_data["expiry"]
        if expiry == "never":
            return None
        if expiry == "date":
            day_after = self.cleaned_data["expires_on"] + timedelta(days=1)
            return datetime.combine(day_after, time.min, tzinfo=UTC)
        return timezone.now() + timedelta(days=int(expiry))
