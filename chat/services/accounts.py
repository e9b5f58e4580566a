"""Accounts as chat sees them: a login that ends, a user that is deactivated."""

from django.db import transaction

from .. import events
from ..models import ModerationAction
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
