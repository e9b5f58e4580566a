"""What every chat socket shares, whatever its protocol: channels' WebSocket consumer made
to survive its services failing and its clients leaving, without a traceback; signed-in
users only; events from the hub held back while the socket is admitted; logins that end
close it. Each socket's opening and end are counted (ops.metrics) and logged, one line
each, on the "chat.sockets" logger."""

import asyncio
import contextlib
import logging
import time
from collections import deque

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from redis.exceptions import RedisError

from ops import metrics

from . import protocol
from .allowance import RequestBucket
from .auth import API_TOKEN, AUTH_UNAVAILABLE
from .backpressure import CLOSE_OUTPUT_BACKLOG
from .hub import SOCKET_GONE
from .output import SocketOutput
from .protocol import MALFORMED_CODES, ProtocolError
from .sessions import session_watch

logger = logging.getLogger(__name__)
sockets_log = logging.getLogger("chat.sockets")

# The codes this server closes with, counted by number; a client's own are "other".
metrics.count_close_codes(
    (
        protocol.CLOSE_TOO_MANY_BAD_FRAMES,
        protocol.CLOSE_UNAUTHENTICATED,
        protocol.CLOSE_FORBIDDEN,
        protocol.CLOSE_NOT_FOUND,
        CLOSE_OUTPUT_BACKLOG,
        protocol.CLOSE_TOO_MANY_SOCKETS,
        protocol.CLOSE_UNAVAILABLE,
    )
)
# No close frame at all: the application ended without the socket saying why.
CLOSE_ABNORMAL = 1006

# Failures of the services a socket depends on: Redis, the database, the network to them.
SERVICE_ERRORS = (RedisError, DatabaseError, OSError)


def log_failure(error: Exception, message: str, *args) -> None:
    """Log a failed frame: an outage in one line (there are many), anything else in full."""
    if isinstance(error, SERVICE_ERRORS):
        logger.warning(f"{message}: %s: %s", *args, type(error).__name__, error)
    else:
        logger.exception(message, *args)


class ChatWebsocketConsumer(AsyncWebsocketConsumer):
    """A socket that closes with 4503 when a service it needs fails, never raises to a
    client that has gone, dispatches without channels' hop to the database thread, and
    closes with 4400 a client that sends too many malformed frames."""

    # channels' groups to join at the opening: none (the hub listens for every socket of
    # the process). A tuple: channels would give each socket a list of its own.
    groups = ()
    # When the recent malformed frames came (monotonic); None until the first.
    bad_frames: deque | None = None
    # Events held back (while the socket is admitted, a view opens, a room is joined);
    # None while none is. `holds` counts the holders: the last to release hands them on.
    held: list[dict] | None = None
    holds = 0
    # Each consumer's protocol number (metrics and logs tell the two apart).
    protocol_version: int
    # When the handshake was accepted (monotonic), and by whom; None until then.
    opened_at: float | None = None
    opened_by: int | None = None
    # The code of whichever side closed first: this one's (close()), or the client's.
    closed_with: int | None = None
    client_closed_with: int | None = None
    # The API token's id when one opened the socket (None: the session did), whether the
    # socket may change anything (a read-only token's may not), and the timer that closes
    # it when the token expires (a timer, not a task sleeping until then).
    api_token_id: int | None = None
    may_write = True
    token_expiry: asyncio.TimerHandle | None = None
    expired: asyncio.Task | None = None

    async def __call__(self, scope, receive, send):
        """Run the socket: dispatch the client's messages, one at a time, as channels'
        AsyncConsumer does, but without a receive on the channel layer. When Redis or the
        database fails under it, close it (4503).

        Nothing is sent to a socket's own channel: the hub hands it its events
        (on_event) and the layer's failures (on_layer_failure), and the session watch
        calls it (sessions.py). channels would keep, per
        socket, a task waiting on the layer, another on the client, the layer's queue for
        the channel and a wait on both; here the server's task for the socket is the only
        one. The channel name stays what the hub, presence and the watch know it by.

        A failure escaping a handler would otherwise end as "Exception inside application"
        and skip disconnect(): the socket would then stay in the presence store, refreshed
        by this process's heartbeat, online for good.
        """
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        # Every frame, accept and close go through it, in order; none waits on the client.
        self.base_send = SocketOutput(
            send, limit=settings.CHAT_SOCKET_OUTPUT_MAX, on_overflow=self.output_overflowed
        )
        try:
            self.channel_name = await self.channel_layer.new_channel()
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass
        except SERVICE_ERRORS:
            logger.warning("Closing a socket: a service it needs failed.", exc_info=True)
            with contextlib.suppress(Exception):
                await self.close(protocol.CLOSE_UNAVAILABLE)
        finally:
            if self.token_expiry is not None:
                self.token_expiry.cancel()
            self.socket_ended()
            await self.disconnect(protocol.CLOSE_UNAVAILABLE)  # does nothing if it already ran
            self.base_send.cancel()

    async def dispatch(self, message):
        """Run the event's handler at once, without channels' hop to the database thread.

        channels closes stale database connections before every event, on the one
        thread that does all database work: a ping, a typing frame or a bad frame waited
        behind every query in the process. Each database call here runs through
        database_sync_to_async, which closes stale connections around the call itself.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self, message):
        """Leave, as channels does, without its hop to the database thread (see dispatch)."""
        self.client_closed_with = message["code"]
        await self.disconnect(message["code"])
        raise StopConsumer

    async def send(self, text_data=None, bytes_data=None, close=False):
        """Send, unless the client has already gone (its disconnect is on its way)."""
        if text_data is not None and bytes_data is None and not close:
            await self.send_message({"type": "websocket.send", "text": text_data})
            return
        with contextlib.suppress(*SOCKET_GONE):
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)

    async def send_message(self, message: dict) -> None:
        """Send a `websocket.send` text message as it is (the hub makes one for all the
        sockets of a topic: servers only read it), unless the client has gone."""
        try:
            await self.base_send(message)
        except SOCKET_GONE:
            return
        metrics.frame_sent(message["text"])

    async def close(self, code=None, reason=None):
        """Close, unless the client has already gone."""
        if self.closed_with is None and self.client_closed_with is None:
            # channels closes with 1000 when no code (or True) is given.
            self.closed_with = code if isinstance(code, int) and code is not True else 1000
        with contextlib.suppress(*SOCKET_GONE):
            await super().close(code=code, reason=reason)

    def output_overflowed(self, unsent: int) -> None:
        """Called when the client stopped reading past the bound: it is being closed (4408)."""
        if self.closed_with is None and self.client_closed_with is None:
            self.closed_with = CLOSE_OUTPUT_BACKLOG
        logger.warning(
            "Gave up on a WebSocket whose client stopped reading (4408): %d bytes waiting, "
            "over CHAT_SOCKET_OUTPUT_MAX (%d); path %s",
            unsent,
            settings.CHAT_SOCKET_OUTPUT_MAX,
            self.scope.get("path"),
        )

    # --- helpers -----------------------------------------------------------------------

    async def send_frame(self, frame: dict):
        await self.send(text_data=protocol.encode(frame))

    async def send_error(self, error: ProtocolError):
        await self.send_frame(error.as_frame())
        if error.code in MALFORMED_CODES and self.note_bad_frame():
            await self.close(protocol.CLOSE_TOO_MANY_BAD_FRAMES)

    def note_bad_frame(self) -> bool:
        """Count a malformed frame; return True when the client is past the limit."""
        now = time.monotonic()
        if self.bad_frames is None:
            self.bad_frames = deque()
        self.bad_frames.append(now)
        while self.bad_frames and now - self.bad_frames[0] > settings.CHAT_BAD_FRAMES_WINDOW:
            self.bad_frames.popleft()
        return len(self.bad_frames) > settings.CHAT_BAD_FRAMES_MAX

    # --- the signed-in user --------------------------------------------------------------

    async def accept_user(self) -> bool:
        """Accept the handshake; close it (4503, 4401) unless a signed-in user opened it."""
        await self.accept()
        self.socket_opened()
        if self.scope.get(AUTH_UNAVAILABLE):
            await self.close(protocol.CLOSE_UNAVAILABLE)
            return False
        user = self.scope["user"]
        if not user.is_authenticated:
            await self.close(protocol.CLOSE_UNAUTHENTICATED)
            return False
        self.user = user
        self.user_id = user.pk  # what the hub and the event checks ask for
        token = self.scope.get(API_TOKEN)
        if token is not None:
            self.api_token_id, self.may_write = token.pk, token.may_write
            if token.expires_at is not None:
                delay = (token.expires_at - timezone.now()).total_seconds()
                self.token_expiry = asyncio.get_running_loop().call_later(
                    max(0.0, delay), self.token_expired
                )
        self.requests = RequestBucket(
            burst=settings.CHAT_SOCKET_REQUEST_BURST,
            per_second=settings.CHAT_SOCKET_REQUESTS_PER_SECOND,
        )
        return True

    # --- counted and logged: one line at the opening, one at the end -------------------

    def log_room(self) -> str:
        """Return the room a socket was opened for, or "tab" for a tab socket (protocol 2)."""
        return self.scope.get("url_route", {}).get("kwargs", {}).get("slug", "tab")

    def socket_opened(self):
        """Called once the handshake is accepted: count the socket and log who opened it."""
        self.opened_at = time.monotonic()
        if not self.scope.get(AUTH_UNAVAILABLE):
            self.opened_by = getattr(self.scope.get("user"), "pk", None)
        version, room = str(self.protocol_version), self.log_room()
        metrics.socket_opened(version)
        sockets_log.info(
            "Socket opened: user %s, room %s, protocol %s",
            self.opened_by,
            room,
            version,
            extra={"user_id": self.opened_by, "room": room, "protocol": version},
        )

    def socket_ended(self):
        """Called once the consumer ends: count the close by its code, log it with the
        socket's duration. Does nothing for a socket never accepted, or a second time."""
        if self.opened_at is None:
            return
        duration = round(time.monotonic() - self.opened_at, 3)
        self.opened_at = None
        code = self.closed_with if self.closed_with is not None else self.client_closed_with
        code = CLOSE_ABNORMAL if code is None else code
        version, room = str(self.protocol_version), self.log_room()
        metrics.socket_closed(version, code)
        sockets_log.info(
            "Socket closed: user %s, room %s, protocol %s, code %s, %s s",
            self.opened_by,
            room,
            version,
            code,
            duration,
            extra={
                "user_id": self.opened_by,
                "room": room,
                "protocol": version,
                "code": code,
                "duration": duration,
            },
        )

    def watch_login(self):
        """Called once admitted: have the session watch re-check the socket's login (its
        token's, when a token opened it)."""
        by_token = self.api_token_id is not None
        session_watch.add(
            channel_name=self.channel_name,
            user_id=self.user_id,
            session_key=None if by_token else self.scope["session"].session_key,
            token_id=self.api_token_id,
            listener=self,
        )

    def token_expired(self):
        """Called when the socket's API token expires: close the socket (4401)."""
        # Kept: the loop holds only a weak reference to a task.
        self.expired = asyncio.ensure_future(self.close(protocol.CLOSE_UNAUTHENTICATED))

    async def check_session(self, data: dict):
        """A login of the user ended somewhere: close if it was this socket's.

        A token socket ends with its token (revoked: `ended_token`), never with a session
        (a logout elsewhere, a new password); a deactivated account ends every socket.
        """
        if self.api_token_id is not None:
            ended = data.get("ended_token") == self.api_token_id
        else:
            ended = data.get("ended_session") == self.scope["session"].session_key
        if data.get("inactive") or ended:
            await self.close(protocol.CLOSE_UNAUTHENTICATED)
        elif "ended_token" not in data:
            session_watch.check_soon(self.channel_name)

    async def chat_signed_out(self, event):
        """Called when this socket's session no longer signs its user in."""
        await self.close(protocol.CLOSE_UNAUTHENTICATED)

    # --- events from the hub -------------------------------------------------------------

    async def on_event(self, event: dict):
        """Called by the hub with an event of one of this socket's topics."""
        if event.get("origin_channel") == self.channel_name:
            return  # this socket was already answered directly
        if event.get("skip_user_id") == self.user_id:
            return
        if self.held is not None:
            self.held.append(event)
            return
        await self.handle_event(event)

    async def on_layer_failure(self):
        """Called by the hub when the channel layer failed under it: close (4503). The
        client reconnects, with backoff, and catches up by revision."""
        if self.closed_with is None:
            await self.close(protocol.CLOSE_UNAVAILABLE)

    def hold(self):
        """Hold the hub's events back until the matching release_held()."""
        self.holds += 1
        if self.held is None:
            self.held = []

    async def release_held(self):
        """Release a hold; the last one handles the events held back, in order."""
        self.holds = max(0, self.holds - 1)
        # A hold taken while they are handled (a room joined) stops the handing on.
        while self.held and not self.holds:
            await self.handle_event(self.held.pop(0))
        if not self.holds:
            self.held = None

    async def handle_event(self, event: dict):
        raise NotImplementedError
