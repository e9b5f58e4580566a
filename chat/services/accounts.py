"""Accounts as chat sees them: a login that ends, a user that is deactivated, a bot's."""

from django.contrib.auth import get_user_model
from django.db import transaction

from .. import events
from ..errors import Invalid
from ..models import ModerationAction, Profile
from ..validation import clean_display_name
from .log import log_action


def user_login_changed(*, user_id: int, ended_session_key: str | None = None) -> None:
    """Make the user's open sockets check, after commit, that they are still signed in.

    A socket opened with `ended_session_key` (a logout) closes without checking.
    """
    data = {"ended_session": ended_session_key}
    events.emit(events.Event(events.SESSION_CHECK, data, events.to_users([user_id])))


@transaction.atomic
def user_deactivate(*, user, actor=None, reason: str = "") -> None:
    """Deactivate an account: it can't sign in, and its open sockets close at once."""
    if not user.is_active:
        return
    user.is_active = False
    user.save(update_fields=["is_active"])
    log_action(
        room=None,
        actor=actor,
        target=user,
        kind=ModerationAction.Kind.DEACTIVATE_USER,
        reason=reason,
    )
    events.emit(events.Event(events.SESSION_CHECK, {"inactive": True}, events.to_users([user.pk])))


@transaction.atomic
def bot_create(*, username: str, display_name: str = ""):
    """Make a bot's account: no password (it signs in with API tokens alone), marked as a
    bot so that pages mark its messages. Return the user."""
    users = get_user_model()
    field = users._meta.get_field(users.USERNAME_FIELD)
    try:
        username = field.clean(username, None)
    except Exception as error:
        raise Invalid(" ".join(getattr(error, "messages", [str(error)]))) from None
    if users.objects.filter(username__iexact=username).exists():
        raise Invalid(f"The username {username!r} is taken.")
    user = users.objects.create_user(username=username, password=None)
    Profile.objects.create(user=user, display_name=clean_display_name(display_name), is_bot=True)
    return user
