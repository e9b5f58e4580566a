"""A room's revision counter: the only write path that changes `Room.rev`."""

from django.db import connection
from django.db.models import F
from django.utils import timezone

from ..models import Room


def _quoted(model, *columns: str) -> tuple[str, ...]:
    return tuple(connection.ops.quote_name(name) for name in (model._meta.db_table, *columns))


# Identifiers from the models' metadata, quoted; every value is a query parameter.
_TAKE_REV_SQL = (
    "UPDATE {0} SET {1} = {1} + 1, {2} = %s WHERE {3} = %s RETURNING {1}, {4}, {5}".format(  # noqa: S608
        *_quoted(Room, "rev", "last_activity_at", "id", "is_archived", "is_private")
    )
)


def _can_update_returning() -> bool:
    # The feature Django reports for INSERT ... RETURNING; UPDATE ... RETURNING came in
    # the same SQLite release (3.35), and PostgreSQL has both.
    return connection.features.can_return_columns_from_insert


def take_next_rev(room: Room) -> int:
    """Take the room's next revision; the row stays locked until the transaction ends.

    `room` is refreshed with what the lock read: its revision, last activity, archived
    and private flags. Raise Room.DoesNotExist when the room was deleted.
    """
    now = timezone.now()
    if _can_update_returning():
        # One statement instead of two: this runs for every message stored.
        with connection.cursor() as cursor:
            cursor.execute(_TAKE_REV_SQL, [connection.ops.adapt_datetimefield_value(now), room.pk])
            row = cursor.fetchone()
        if row is None:
            raise Room.DoesNotExist(f"No room {room.pk}.")
    else:
        if not Room.objects.filter(pk=room.pk).update(rev=F("rev") + 1, last_activity_at=now):
            raise Room.DoesNotExist(f"No room {room.pk}.")
        row = Room.objects.filter(pk=room.pk).values_list("rev", "is_archived", "is_private").get()
    room.rev, is_archived, is_private = row
    # SQLite returns booleans as 0 and 1.
    room.is_archived, room.is_private = bool(is_archived), bool(is_private)
    room.last_activity_at = now
    return room.rev
