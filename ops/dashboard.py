"""The staff dashboard's snapshot: what its socket sends, at once and every
OPS_DASHBOARD_INTERVAL (docs/operations.md, "Staff dashboard").

The database part (messages, moderation, the staff member's access) is one hop to the
database thread; people online and the processes come from the shared store (Redis, or
this process's memory), asked at the same time. Either store out of reach leaves its
part empty (null) rather than the whole snapshot.
"""

import asyncio
import logging
import time
from datetime import UTC, datetime

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model

from chat.realtime.presence import get_presence
from chat.realtime.protocol import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from chat.realtime.sessions import signed_out_channels

from . import stats
from .processes import Heartbeat, get_processes

logger = logging.getLogger(__name__)

SNAPSHOT = "snapshot"


def _iso(moment: datetime | float) -> str:
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def staff_refusal(*, session_key: str, user_id: int) -> int | None:
    """Return the close code for a dashboard whose login ended (4401) or whose user is no
    longer staff (4403); None while its session still signs in a staff member."""
    if signed_out_channels({"dashboard": (session_key, user_id)}):
        return CLOSE_UNAUTHENTICATED
    if not get_user_model().objects.filter(pk=user_id, is_staff=True).exists():
        return CLOSE_FORBIDDEN
    return None


def _activity_data(activity: stats.Activity) -> dict:
    return {
        "start": _iso(activity.start),
        "minutes": activity.minutes,
        "per_minute": activity.per_minute,
        "total": activity.total,
        "direct": activity.direct,
        "rooms": [
            {
                "name": room.name,
                "slug": room.slug,
                "total": room.total,
                "per_minute": room.per_minute,
            }
            for room in activity.rooms
        ],
    }


def _moderation_data(actions) -> list[dict]:
    return [
        {
            "at": _iso(action.created_at),
            "kind": action.kind,
            "kind_label": action.get_kind_display(),
            "actor": action.actor_name,
            "target": action.target_name,
            "room": action.room_name,
            "detail": action.detail,
            "reason": action.reason,
        }
        for action in actions
    ]


def _process_data(beat: Heartbeat) -> dict:
    return {
        "process": beat.process,
        "sockets": beat.sockets,
        "sockets_total": beat.sockets_total,
        "database_queue": beat.database_queue,
        "started_at": _iso(beat.started_at),
        "updated_at": _iso(beat.updated_at),
    }


def _from_database(*, session_key: str | None, user_id: int | None) -> tuple[int | None, dict]:
    """Return (refusal, the snapshot's database part): checked first, read only if allowed."""
    if session_key is not None:
        refusal = staff_refusal(session_key=session_key, user_id=user_id)
        if refusal is not None:
            return refusal, {}
    activity = stats.message_activity()
    actions = stats.recent_moderation_actions()
    return None, {"activity": _activity_data(activity), "moderation": _moderation_data(actions)}


async def _from_store(name: str, read):
    try:
        async with asyncio.timeout(settings.OPS_READY_TIMEOUT):
            return await read()
    except Exception as error:
        logger.warning("Dashboard: %s unavailable: %s: %s", name, type(error).__name__, error)
        return None


async def _people_online() -> int | None:
    return await _from_store("people online", get_presence().users_online)


async def _processes() -> list[dict] | None:
    live = await _from_store("processes", get_processes().live)
    return None if live is None else [_process_data(beat) for beat in live]


async def snapshot(
    *, session_key: str | None = None, user_id: int | None = None
) -> tuple[int | None, dict | None]:
    """Return (refusal, frame): the close code if the staff member's access ended (when a
    session is given), else None and the snapshot frame. Database errors are raised."""
    database = database_sync_to_async(_from_database)(session_key=session_key, user_id=user_id)
    (refusal, data), people, processes = await asyncio.gather(
        database, _people_online(), _processes()
    )
    if refusal is not None:
        return refusal, None
    frame = {
        "type": SNAPSHOT,
        "at": _iso(time.time()),
        "interval": settings.OPS_DASHBOARD_INTERVAL,
        "people_online": people,
        "sockets_open": None if processes is None else sum(p["sockets_total"] for p in processes),
        "processes": processes,
        **data,
    }
    return None, frame
