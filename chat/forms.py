"""Forms for the chat pages and accounts."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordChangeForm,
    SetPasswordForm,
    UserCreationForm,
)

from . import services
from .errors import RateLimited
from .models import Membership
from .services import account_safety

EMAIL_HELP = "Optional: only for resetting your password."


def password_rules_in_words() -> str:
    """Say what the configured password validators ask for, in two short sentences."""
    length, avoid, others = None, [], []
    for validator in password_validation.get_default_password_validators():
        if isinstance(validator, password_validation.MinimumLengthValidator):
            length = validator.min_length
        elif isinstance(validator, password_validation.CommonPasswordValidator):
            avoid.append("a common password")
        elif isinstance(validator, password_validation.NumericPasswordValidator):
            avoid.append("only digits")
        elif isinstance(validator, password_validation.UserAttributeSimilarityValidator):
            avoid.append("like your username or e-mail")
        else:
            others.append(validator.get_help_text())
    sentences = [f"At least {length} characters."] if length else []
    if avoid:
        sentences.append("Not " + ", not ".join(avoid) + ".")
    return " ".join(sentences + others)


class PlainPasswordMixin:
    """A new password's rules in one plain line, and all its problems shown at once.

    Django checks the password on its confirmation field, whose value is dropped when the
    two differ, so a mismatch hid every other problem. The first field always holds it.
    """

    password_field = "password1"
    confirm_field = "password2"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[self.password_field].help_text = password_rules_in_words()
        self.fields[self.confirm_field].help_text = "The same password again."

    def validate_password_for_user(self, user, password_field_name=None):
        super().validate_password_for_user(user, self.password_field)


class SignupForm(PlainPasswordMixin, UserCreationForm):
    """Create an account with a username, a password and, if they like, an e-mail."""

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].help_text = "Letters, digits and @ . + - _ only."
        self.fields["email"].label = "E-mail"
        self.fields["email"].help_text = EMAIL_HELP
        self.fields["email"].widget.attrs["autocomplete"] = "email"

    def clean_email(self):
        return get_user_model().objects.normalize_email(self.cleaned_data["email"])


class ThrottledLoginMixin:
    """Refuse a sign-in, without checking the password, while its account or address is
    locked; count failures and forget the account's on success (account_safety)."""

    retry_after = None  # seconds, when refused by the lock

    def clean(self):
        username = self.cleaned_data.get("username")
        if username is None or not self.cleaned_data.get("password"):
            return super().clean()
        address = account_safety.client_address(self.request) if self.request else "unknown"
        try:
            account_safety.login_check(username=username, address=address)
        except RateLimited as error:
            self.retry_after = error.retry_after
            raise forms.ValidationError(error.detail, code="locked") from None
        try:
            cleaned_data = super().clean()
        except forms.ValidationError:
            account_safety.login_failed(username=username, address=address)
            raise
        account_safety.login_succeeded(username=username)
        return cleaned_data


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    """The site's sign-in form."""


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """The admin's sign-in form, under the same lock as the site's."""


class ConfirmPasswordMixin:
    """Check the signed-in user's current password, counted like a sign-in."""

    retry_after = None

    def confirm_password(self, password: str) -> None:
        address = account_safety.client_address(self.request)
        try:
            confirmed = account_safety.password_confirm(
                user=self.user, password=password, address=address
            )
        except RateLimited as error:
            self.retry_after = error.retry_after
            raise forms.ValidationError(error.detail, code="locked") from None
        if not confirmed:
            raise forms.ValidationError(
                "That is not your current password.", code="password_incorrect"
            )


class ChangePasswordForm(PlainPasswordMixin, ConfirmPasswordMixin, PasswordChangeForm):
    """Change one's password, giving the current one."""

    password_field = "new_password1"
    confirm_field = "new_password2"

    def __init__(self, user, *args, request, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)
        self.fields["old_password"].label = "Current password"

    def clean_old_password(self):
        password = self.cleaned_data["old_password"]
        self.confirm_password(password)
        return password


class NewPasswordForm(PlainPasswordMixin, SetPasswordForm):
    """Choose a new password from a reset link."""

    password_field = "new_password1"
    confirm_field = "new_password2"


class AccountEmailForm(ConfirmPasswordMixin, forms.Form):
    """Set or remove the e-mail a password reset is sent to."""

    email = forms.EmailField(
        label="E-mail",
        required=False,
        max_length=254,
        help_text=f"{EMAIL_HELP} Leave it empty to remove it.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        label="Current password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user, request, **kwargs):
        self.user = user
        self.request = request
        kwargs.setdefault("initial", {"email": user.email})
        super().__init__(*args, **kwargs)

    def clean_email(self):
        return get_user_model().objects.normalize_email(self.cleaned_data["email"])

    def clean_password(self):
        password = self.cleaned_data["password"]
        self.confirm_password(password)
        return password

    def save(self):
        """Save the e-mail only: no other column, and no new login for open sockets."""
        self.user.email = self.cleaned_data["email"]
        self.user.save(update_fields=["email"])
        return self.user


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
