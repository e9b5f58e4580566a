"""What the staff dashboard reads from the database: messages per minute per room over
the last minutes, the busiest rooms, and the newest moderation actions.

Messages have no index on their time, and a busy site writes many: the window is found
by id instead. Ids and `created_at` grow together, so the newest message older than the
window is found by walking the primary key back from the newest message, a walk as long
as the window's messages, and the window is then an id range. (Messages stored by
servers whose clocks disagree may fall in or out at the window's oldest edge, by as much
as the clocks differ.)
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count
from django.db.models.functions import TruncMinute
from django.utils import timezone

from chat.models import Message, ModerationAction, Room

ACTIVITY_MINUTES = 30
BUSIEST_ROOMS = 8
MODERATION_ACTIONS = 15


@dataclass
class RoomActivity:
    """One room's messages per minute, oldest minute first."""

    room_id: int
    name: str
    slug: str
    per_minute: list[int]

    @property
    def total(self) -> int:
        return sum(self.per_minute)


@dataclass
class Activity:
    """Messages per minute over a window of whole minutes ending with the current one."""

    start: datetime  # the window's first minute
    minutes: int
    per_minute: list[int]  # every message, direct conversations included
    direct: int  # messages in direct conversations (not listed by conversation)
    rooms: list[RoomActivity] = field(default_factory=list)  # the busiest, busiest first

    @property
    def total(self) -> int:
        return sum(self.per_minute)


def _window_start_id(start: datetime) -> int:
    """Return the id of the newest message stored before `start` (0: none)."""
    before = (
        Message.objects.filter(created_at__lt=start).order_by("-id").values_list("id", flat=True)
    )
    return before.first() or 0


def message_activity(
    *, now: datetime | None = None, minutes: int = ACTIVITY_MINUTES, busiest: int = BUSIEST_ROOMS
) -> Activity:
    """Count the messages of the last `minutes` minutes, per minute: all of them, and
    each of the `busiest` rooms with the most (ties: the room made first). Two queries."""
    now = now or timezone.now()
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=minutes - 1)
    rows = (
        Message.objects.filter(id__gt=_window_start_id(start), created_at__gte=start)
        .annotate(minute=TruncMinute("created_at"))
        .values("room_id", "room__name", "room__slug", "room__kind", "minute")
        .annotate(count=Count("id"))
        .order_by()
    )
    activity = Activity(start=start, minutes=minutes, per_minute=[0] * minutes, direct=0)
    rooms: dict[int, RoomActivity] = {}
    for row in rows:
        index = int((row["minute"] - start).total_seconds() // 60)
        if not 0 <= index < minutes:
            continue  # stored with a clock ahead of this one: a minute still to come
        activity.per_minute[index] += row["count"]
        if row["room__kind"] == Room.Kind.DIRECT:
            activity.direct += row["count"]
            continue
        room = rooms.get(row["room_id"])
        if room is None:
            room = rooms[row["room_id"]] = RoomActivity(
                room_id=row["room_id"],
                name=row["room__name"],
                slug=row["room__slug"],
                per_minute=[0] * minutes,
            )
        room.per_minute[index] += row["count"]
    ranked = sorted(rooms.values(), key=lambda room: (-room.total, room.room_id))
    activity.rooms = ranked[:busiest]
    return activity


def recent_moderation_actions(*, limit: int = MODERATION_ACTIONS) -> list[ModerationAction]:
    """Return the newest moderation actions, newest first (names as they were copied)."""
    return list(
        ModerationAction.objects.only(
            "created_at", "kind", "actor_name", "target_name", "room_name", "detail", "reason"
        ).order_by("-created_at", "-id")[:limit]
    )
