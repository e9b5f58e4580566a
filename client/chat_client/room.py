"""A followed room: one room socket (protocol 1, /ws/rooms/<slug>/) kept alive over time.

It connects (moving on to the client's next server when one cannot be reached),
reconnects with backoff and full jitter (always with ?since=R), resends the outbox after
every hello until each message is acknowledged, sends heartbeats and drops a connection
that stops answering, asks for a sync when revisions show a gap, and stops for good on a
final close (4401, 4403, 4404, ...), raising a clear exception to the consumer.
"""

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from .connection import ConnectAttempt, Connection, Servers, socket_base
from .errors import ChatError, ConnectionUnavailable, final_close_error
from .events import (
    MESSAGE_EVENTS,
    Connected,
    Disconnected,
    Event,
    Message,
    RoomClosed,
    other_event,
)
from .outbox import Outbox, OutboxEntry, new_client_id
from .timeline import Timeline

if TYPE_CHECKING:
    from .client import Client

# Observers, for logs and tests: each frame as received or as sent (parsed), and how each
# attempt to connect ended. They run in the connection loop: quick, and never raising.
FrameObserver = Callable[[Literal["received", "sent"], dict[str, Any]], None]
AttemptObserver = Callable[[ConnectAttempt], None]
_END = object()


class Room:
    """Follow one room. Use `async with client.room("general") as room:`, then
    `async for event in room:`; send with `await room.send("hello")`."""

    def __init__(
        self,
        client: "Client",
        slug: str,
        *,
        since: int | None = None,
        on_frame: FrameObserver | None = None,
        on_attempt: AttemptObserver | None = None,
    ) -> None:
        self.client = client
        self.slug = slug
        self.timeline = Timeline(slug, since)
        self.outbox = Outbox(slug)
        self.servers = Servers(client.urls)
        self.on_frame = on_frame
        self.on_attempt = on_attempt
        self.me: dict[str, Any] = {}
        self.hello: dict[str, Any] | None = None
        self.connections = 0  # hellos received
        self.failure: ChatError | None = None
        self._events: asyncio.Queue[Any] = asyncio.Queue()
        self._live: Connection | None = None
        self._greeted = asyncio.Event()
        self._stopped = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._helpers: set[asyncio.Task[None]] = set()
        self._pings = itertools.count(1)
        self._room_closed: RoomClosed | None = None

    # --- life cycle ---------------------------------------------------------------------

    async def start(self, *, within: float | None = None) -> "Room":
        """Connect; return once greeted. Raise the final error if the server refuses."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
        await self.wait_connected(within)
        return self

    async def wait_connected(self, within: float | None = None) -> None:
        """Wait until a socket is greeted; raise the failure if the room stopped for good."""
        greeted = asyncio.ensure_future(self._greeted.wait())
        stopped = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait({greeted, stopped}, timeout=within, return_when="FIRST_COMPLETED")
        finally:
            greeted.cancel()
            stopped.cancel()
        if self.failure is not None:
            raise self.failure
        if not self._greeted.is_set():
            raise ConnectionUnavailable(f"no connection to #{self.slug} within {within} s")

    async def close(self) -> None:
        """Close the socket and stop; the event iterator ends."""
        self._closing = True
        live = self._live
        if live is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(live.ws.close(), 2)
        for task in [self._task, *self._helpers]:
            if task is not None and not task.done():
                task.cancel()
        for task in [self._task, *self._helpers]:
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._stop(None)

    async def __aenter__(self) -> "Room":
        try:
            return await self.start()
        except BaseException:
            await self.close()
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def connected(self) -> bool:
        return self._greeted.is_set()

    @property
    def server(self) -> str | None:
        """The server the socket is open to (scheme://host[:port]); None while closed."""
        live = self._live
        return None if live is None else live.server

    @property
    def rev(self) -> int | None:
        """R: the revision up to which every change of the room has been delivered."""
        return self.timeline.rev

    # --- events -------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Event]:
        return self.events()

    async def events(self) -> AsyncIterator[Event]:
        """Yield every event of the room once, in order; raise the final error, if any."""
        while True:
            item = await self._events.get()
            if item is _END:
                self._events.put_nowait(_END)  # for any other reader
                if self.failure is not None:
                    raise self.failure
                return
            yield item

    @property
    def queued_events(self) -> int:
        """How many events wait to be read (the END marker included, once stopped)."""
        return self._events.qsize()

    async def next_event(self, within: float | None = None) -> Event:
        """Return the next event (raising TimeoutError after `within` seconds)."""
        iterator = self.events()
        return await asyncio.wait_for(anext(iterator), within)

    def _emit(self, event: Event) -> None:
        self._events.put_nowait(event)

    # --- sending ------------------------------------------------------------------------

    def send_nowait(
        self, body: str, *, client_id: str | None = None, reply_to: int | None = None
    ) -> OutboxEntry:
        """Put a message in the outbox (sent now if connected, else after the next hello)."""
        if self.failure is not None:
            raise self.failure
        entry, new = self.outbox.add(
            body, client_id=client_id or new_client_id(), reply_to=reply_to
        )
        if new:
            self._spawn(self.send_frame(entry.frame()))
        return entry

    async def send(
        self,
        body: str,
        *,
        client_id: str | None = None,
        reply_to: int | None = None,
    ) -> Message:
        """Send a message; return it once the server has stored it (acknowledged).

        Resent after every reconnect until then, with the same client_id: the server
        stores it once. Raise SendRefused when refused for good, the room's failure when
        the room stops. Bound the wait with asyncio.timeout: the message stays in the
        outbox."""
        entry = self.send_nowait(body, client_id=client_id, reply_to=reply_to)
        return await asyncio.shield(entry.done)

    async def edit(self, message_id: int, body: str) -> None:
        """Ask to edit a message (the answer comes as a MessageUpdated event)."""
        await self._command({"type": "message.edit", "id": message_id, "body": body})

    async def delete(self, message_id: int) -> None:
        """Ask to delete a message (the answer comes as a MessageDeleted event)."""
        await self._command({"type": "message.delete", "id": message_id})

    async def react(self, message_id: int, emoji: str, *, add: bool = True) -> None:
        """Add (or take back) a reaction; idempotent on the server."""
        kind = "reaction.add" if add else "reaction.remove"
        await self._command({"type": kind, "id": message_id, "emoji": emoji})

    async def typing(self, active: bool = True) -> None:
        """Tell the room this user is typing (again every couple of seconds), or stopped."""
        await self.send_frame({"type": "typing", "active": active})

    async def mark_read(self, rev: int | None = None) -> dict[str, Any]:
        """Move the read marker to `rev` (default: everything delivered so far)."""
        target = rev if rev is not None else (self.timeline.rev or 0)
        return await self.client.mark_read(self.slug, target)

    async def _command(self, frame: dict[str, Any], within: float | None = 30) -> None:
        await self.wait_connected(within)
        if not await self.send_frame(frame):
            raise ConnectionUnavailable(f"#{self.slug}: the socket closed before sending")

    async def send_frame(self, frame: dict[str, Any]) -> bool:
        """Send a frame as it is (e.g. one this library does not model) on the greeted
        socket; return False when there is none: nothing is kept to send later."""
        live = self._live
        if live is None or live.greeted_at is None:
            return False  # a message waits in the outbox for the next hello
        return await self._send_on(live, frame)

    async def _send_on(self, live: Connection, frame: dict[str, Any]) -> bool:
        if self.on_frame is not None:
            self.on_frame("sent", frame)
        try:
            await live.ws.send(json.dumps(frame))
        except ConnectionClosed:
            return False
        return True

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._helpers.add(task)
        task.add_done_callback(self._helpers.discard)

    # --- the connection loop ------------------------------------------------------------

    def _socket_url(self, server: str) -> str:
        url = f"{socket_base(server)}/ws/rooms/{quote(self.slug)}/"
        if self.timeline.rev is not None:
            url += f"?since={self.timeline.rev}"
        return url

    async def _run(self) -> None:
        attempt = 0
        settings = self.client.settings
        try:
            while not self._closing:
                ended = await self._connect(self.servers.current)
                if ended.greeted:
                    self._emit(Disconnected(room=self.slug, code=ended.close_code, dead=ended.dead))
                if self.on_attempt is not None:
                    self.on_attempt(ended)
                if not ended.opened:
                    self.servers.fail_over(ended.server)
                if ended.final_code is not None:
                    closed = self._room_closed
                    detail = closed.detail if closed else (ended.error or "")
                    self._stop(final_close_error(ended.final_code, detail))
                    return
                if self._closing:
                    return
                if not settings.reconnect:
                    why = f"#{self.slug}: {ended.describe()}, and reconnecting is off"
                    self._stop(ConnectionUnavailable(why))
                    return
                # A socket that stayed up a while starts the backoff again from the start; one
                # greeted and then closed at once (a server whose database is away) does not.
                if (ended.up_for or 0.0) >= settings.stable_after:
                    attempt = 0
                await asyncio.sleep(settings.backoff.delay(attempt))
                attempt += 1
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a bug here must reach the consumer, not vanish
            self._stop(ChatError(f"#{self.slug}: the connection loop failed: {error!r}"))
            raise

    async def _connect(self, server: str) -> ConnectAttempt:
        """Open a socket to `server` and follow it until it closes; say how it ended."""
        settings = self.client.settings
        live: Connection | None = None
        refusal = ConnectAttempt(server=server, opened=False, error="no socket")
        try:
            async with connect(
                self._socket_url(server),
                additional_headers=self.client.socket_headers(server),
                open_timeout=settings.open_timeout,
                close_timeout=2,
                ping_interval=None,  # protocol pings instead: their pong carries rev
                max_size=2**22,
                compression=None,
            ) as ws:
                live = self._live = Connection(server=server, ws=ws)
                await self._read(live)
        except ConnectionClosed:
            pass
        except InvalidStatus as error:
            status = error.response.status_code
            why = f"the handshake was refused with HTTP {status}"
            refusal = ConnectAttempt(server, opened=False, error=why, handshake_status=status)
        except (OSError, InvalidHandshake, TimeoutError) as error:
            refusal = ConnectAttempt(server=server, opened=False, error=repr(error))
        finally:
            self._live = None
            self._greeted.clear()
        return refusal if live is None else live.ended()

    def _stop(self, failure: ChatError | None) -> None:
        if self._stopped.is_set():
            return
        self.failure = failure
        self._stopped.set()
        self.outbox.fail_all(failure or ChatError(f"#{self.slug} was closed"))
        self._events.put_nowait(_END)

    async def _read(self, live: Connection) -> None:
        watch = asyncio.get_running_loop().create_task(self._watch(live))
        try:
            async for raw in live.ws:
                live.last_frame = time.monotonic()
                live.ping_sent = None
                try:
                    frame = json.loads(raw)
                except ValueError:
                    continue
                if not isinstance(frame, dict):
                    continue
                if self.on_frame is not None:
                    self.on_frame("received", frame)
                await self._handle(live, frame)
        finally:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch

    async def _watch(self, live: Connection) -> None:
        """Heartbeat and gaps: ping when quiet, drop a silent connection, sync a gap."""
        settings = self.client.settings
        while True:
            await asyncio.sleep(min(0.1, settings.ping_interval / 4))
            now = time.monotonic()
            if live.ping_sent is not None and now - live.ping_sent >= settings.pong_timeout:
                live.dead = True
                live.ws.transport.abort()  # no closing handshake with a peer that is gone
                return
            if live.ping_sent is None and now - live.last_frame >= settings.ping_interval:
                live.ping_sent = now
                await self._send_on(live, {"type": "ping", "t": next(self._pings)})
            if not self.timeline.has_gap():
                live.gap_since = None
            elif live.gap_since is None:
                live.gap_since = now
            elif now - live.gap_since >= settings.gap_wait:
                live.gap_since = now
                await self._ask_sync(live, force=True)

    async def _ask_sync(self, live: Connection, *, force: bool = False) -> None:
        since = self.timeline.rev or 0
        if live.sync_asked_for == since and not force:
            return
        live.sync_asked_for = since
        await self._send_on(live, {"type": "sync", "since": since})

    async def _handle(self, live: Connection, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "hello":
            await self._greet(live, frame)
        elif kind in MESSAGE_EVENTS:
            message = frame.get("message") or {}
            self.outbox.acknowledge(message, self.me)
            for event in self.timeline.live(str(kind), message):
                self._emit(event)
        elif kind == "sync":
            for message in frame.get("messages") or []:
                self.outbox.acknowledge(message, self.me)
            for event in self.timeline.sync(frame):
                self._emit(event)
            if not frame.get("complete", True):
                await self._send_on(live, {"type": "sync", "since": frame["rev"]})
            else:
                live.sync_asked_for = None
        elif kind == "pong":
            if self.timeline.pong_is_ahead(frame.get("rev")):
                await self._ask_sync(live)
        elif kind == "error" and frame.get("client_id") in self.outbox:
            self._refused(frame)
        elif kind == "history":
            pass  # this client reads history over HTTP
        else:
            other = other_event(self.slug, frame)
            if isinstance(other, RoomClosed):
                self._room_closed = other
            self._emit(other)

    async def _greet(self, live: Connection, frame: dict[str, Any]) -> None:
        self.hello = frame
        self.me = dict(frame.get("me") or {})
        reconnect = self.connections > 0
        self.connections += 1
        self.timeline.greet(int(frame.get("rev") or 0))
        live.greeted_at = time.monotonic()
        self._greeted.set()
        self._emit(
            Connected(
                room=self.slug,
                rev=int(frame.get("rev") or 0),
                me=self.me,
                online=list(frame.get("online") or []),
                reconnect=reconnect,
            )
        )
        for entry in list(self.outbox.values()):
            await self._send_on(live, entry.frame())

    def _refused(self, frame: dict[str, Any]) -> None:
        entry = self.outbox.refuse(frame)
        if entry is None:
            return  # refused for good: its sender got SendRefused
        # Nothing was stored: send again later (the next hello resends it anyway).
        delay = frame.get("retry_after")
        if not isinstance(delay, int | float):
            delay = self.client.settings.backoff.delay(entry.retries)

        async def resend() -> None:
            await asyncio.sleep(float(delay))
            if entry.client_id in self.outbox:
                await self.send_frame(entry.frame())

        self._spawn(resend())
