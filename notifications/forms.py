"""Forms of the notification settings page."""

from django import forms

from .models import Level, RoomNotificationSetting

RoomLevel = RoomNotificationSetting.RoomLevel


class DefaultsForm(forms.Form):
    """The user's defaults: how much of a room to hear of, and desktop alerts."""

    level = forms.ChoiceField(
        label="In rooms without a setting of their own, notify me of",
        choices=Level.choices,
        widget=forms.RadioSelect,
    )
    desktop = forms.BooleanField(
        label="Desktop alerts",
        required=False,
        help_text="Pop up a notification on this computer (the browser asks first).",
    )


class RoomNotifyForm(forms.Form):
    """One room's level and mute: a small form of its own in each row of the rooms table."""

    room = forms.SlugField(max_length=50, widget=forms.HiddenInput)
    level = forms.ChoiceField(label="Notify me of", choices=RoomLevel.choices)
    muted = forms.BooleanField(label="Mute", required=False)

    def __init__(self, *args, slug: str, default_level: str, **kwargs):
        # Every row's fields need ids of their own, and belong to the row's <form>,
        # which the table's cells can't contain.
        kwargs.setdefault("auto_id", f"id_{slug}_%s")
        super().__init__(*args, **kwargs)
        self.form_id = f"notify-{slug}"
        for field in ("level", "muted"):
            self.fields[field].widget.attrs["form"] = self.form_id
        default = f"Default ({Level(default_level).label.lower()})"
        self.fields["level"].choices = [(RoomLevel.DEFAULT, default), *Level.choices]
