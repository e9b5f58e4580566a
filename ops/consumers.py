"""The staff dashboard's socket, /ws/ops/dashboard/ (docs/operations.md, "Staff dashboard").

Staff only: anyone signed out is closed with 4401, anyone else with 4403. A snapshot
goes out at once and then every OPS_DASHBOARD_INTERVAL seconds while the socket is open;
each one first checks again that the session still signs in a staff member. The client
may send `ping` (answered with `pong`); nothing else.
"""

import asyncio
import contextlib
import logging

import orjson
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from chat.realtime.auth import AUTH_UNAVAILABLE
from chat.realtime.base import SERVICE_ERRORS
from chat.realtime.hub import SOCKET_GONE
from chat.realtime.protocol import (
    CLOSE_FORBIDDEN,
    CLOSE_UNAUTHENTICATED,
    CLOSE_UNAVAILABLE,
    encode,
)

from . import dashboard
from .processes import heartbeat

logger = logging.getLogger(__name__)

# The WebSocket standard's "internal error": something unforeseen failed; clients retry.
CLOSE_SERVER_ERROR = 1011
PING_ONLY = {
    "type": "error",
    "code": "bad_frame",
    "detail": 'This socket only answers {"type": "ping"}.',
}


def refusal(scope) -> int | None:
    """Return the close code that refuses this handshake, or None for a staff member."""
    if scope.get(AUTH_UNAVAILABLE):
        return CLOSE_UNAVAILABLE
    user = scope["user"]
    if not user.is_authenticated:
        return CLOSE_UNAUTHENTICATED
    if not user.is_staff:
        return CLOSE_FORBIDDEN
    return None


class DashboardConsumer(AsyncWebsocketConsumer):
    """Send a staff member the dashboard's snapshots until the socket closes."""

    # No channel layer: the dashboard hears nothing from other processes, so it keeps no
    # channel of the layer open (no Redis receive per dashboard, and no failure of one).
    channel_layer_alias = None
    sender: asyncio.Task | None = None

    async def connect(self):
        """Called when the handshake arrives: accept, then refuse or start the snapshots."""
        # Accepted first in any case: only an accepted socket can say why it closes.
        await self.accept()
        code = refusal(self.scope)
        if code is not None:
            await self.close(code)
            return
        heartbeat.ensure_running()
        self.sender = asyncio.create_task(self.send_snapshots())

    async def disconnect(self, code):
        """Called when the socket closes: stop sending."""
        if self.sender is not None:
            self.sender.cancel()
            self.sender = None

    async def receive(self, text_data=None, bytes_data=None):
        """Called with each frame from the client: answer a ping; refuse anything else."""
        try:
            frame = orjson.loads(text_data) if text_data is not None else None
        except orjson.JSONDecodeError:
            frame = None
        if isinstance(frame, dict) and frame.get("type") == "ping":
            moment = frame.get("t")
            pong = {"type": "pong"}
            if isinstance(moment, int | float) and not isinstance(moment, bool):
                pong["t"] = moment
            await self.send_frame(pong)
        else:
            await self.send_frame(PING_ONLY)

    async def send_snapshots(self):
        """Send a snapshot now and every OPS_DASHBOARD_INTERVAL seconds; close when the
        staff member's access has ended, or with 4503 when the database fails."""
        session_key = self.scope["session"].session_key
        user_id = self.scope["user"].pk
        try:
            while True:
                code, frame = await dashboard.snapshot(session_key=session_key, user_id=user_id)
                if code is not None:
                    await self.close(code)
                    return
                await self.send_frame(frame)
                await asyncio.sleep(settings.OPS_DASHBOARD_INTERVAL)
        except asyncio.CancelledError:
            raise
        except SOCKET_GONE:
            return  # the client went; its disconnect is on its way
        except SERVICE_ERRORS as error:
            logger.warning("Dashboard closed: %s: %s", type(error).__name__, error)
            await self.close_quietly(CLOSE_UNAVAILABLE)
        except Exception:
            logger.exception("Dashboard snapshot failed.")
            await self.close_quietly(CLOSE_SERVER_ERROR)

    async def send_frame(self, frame: dict):
        await self.send(text_data=encode(frame))

    async def close_quietly(self, code: int):
        with contextlib.suppress(*SOCKET_GONE):
            await self.close(code)
