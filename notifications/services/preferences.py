"""Notification preferences, as services: how each room reaches a user, and their
defaults. Each change tells the user's tabs on commit (preferences.updated)."""

from django.db import transaction

from chat import policy
from chat.errors import Invalid
from chat.selectors import room_membership_now

from .. import selectors
from ..events import (
    PREFERENCES_UPDATED,
    emit_to_user,
)
from ..models import (
    Level,
    NotificationDefaults,
    RoomNotificationSetting,
)

RoomLevel = RoomNotificationSetting.RoomLevel


def _check_level(level, choices) -> None:
    if level is not None and level not in choices.values:
        names = ", ".join(f'"{value}"' for value in choices.values)
        raise Invalid(f"'level' must be one of {names}.")


def _check_flag(value, name: str) -> None:
    if value is not None and not isinstance(value, bool):
        raise Invalid(f"'{name}' must be true or false.")


@transaction.atomic
def room_notify_set(*, user, room, level: str | None = None, muted: bool | None = None) -> dict:
    """Set how the user is notified of a room they may see; return its notify record.

    `level` is "default" (follow the user's default) or a level of its own; None
    leaves it, as `muted` None does. The user's sockets hear of a change.
    """
    _check_level(level, RoomLevel)
    _check_flag(muted, "muted")
    membership = room_membership_now(room_id=room.pk, user=user)
    policy.check_see(policy.room_access(room=room, membership=membership, user=user))
    before = selectors.room_notify(user=user, room_ids=[room.pk])[room.pk]
    setting, _ = RoomNotificationSetting.objects.select_for_update().get_or_create(
        user=user, room=room
    )
    if level is not None:
        setting.level = level
    if muted is not None:
        setting.muted = muted
    if setting.level == RoomLevel.DEFAULT and not setting.muted:
        setting.delete()  # as if never set: rows only for rooms that differ
    else:
        setting.save(update_fields=["level", "muted"])
    after = selectors.room_notify(user=user, room_ids=[room.pk])[room.pk]
    if after != before:
        data = {
            "defaults": selectors.defaults_for(user=user),
            "rooms": [{"slug": room.slug, "notify": after}],
        }
        emit_to_user(user.pk, PREFERENCES_UPDATED, data)
    return after


@transaction.atomic
def defaults_set(*, user, level: str | None = None, desktop: bool | None = None) -> dict:
    """Set the user's notification defaults; return them ({"level", "desktop"}).

    None leaves a field as it is. The user's sockets hear of a change, with every member
    room that follows the default level when that level changed.
    """
    _check_level(level, Level)
    _check_flag(desktop, "desktop")
    defaults, _ = NotificationDefaults.objects.select_for_update().get_or_create(user=user)
    before = {"level": defaults.level, "desktop": defaults.desktop}
    if level is not None:
        defaults.level = level
    if desktop is not None:
        defaults.desktop = desktop
    after = {"level": defaults.level, "desktop": defaults.desktop}
    if after == before:
        return after
    defaults.save(update_fields=["level", "desktop"])
    rooms = []
    if after["level"] != before["level"]:
        rooms = [
            {"slug": room["slug"], "notify": room["notify"]}
            for room in selectors.preference_rooms(user=user)
            if not room["notify"]["custom"]
        ]
    emit_to_user(user.pk, PREFERENCES_UPDATED, {"defaults": after, "rooms": rooms})
    return after
