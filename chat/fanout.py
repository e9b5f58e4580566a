"""Room broadcasts, one per server process rather than one per socket.

Each process has one hub per event loop. The hub's channel is the only member, for its
process, of a room's channel-layer group; it receives each broadcast once and hands the
already-encoded frame to every socket of the process in that room. The layer carries one
message per process instead of one per socket, and no socket task wakes up to forward it.

A socket is held back while it is being admitted: broadcasts that arrive before its
`hello` and catch-up are queued and sent right after them, in order (PROTOCOL.md,
"Opening"). Loss is still possible (the layers are best-effort); clients repair it by
revision, as they always have.
"""

import asyncio
import logging
import os
from collections import deque
from typing import Protocol

from asgiref.sync import SyncToAsync, async_to_sync
from autobahn.exception import Disconnected
from channels.layers import channel_layers, get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.conf import settings

from .protocol import room_group_name

logger = logging.getLogger(__name__)

# What a send raises when the client has just gone and disconnect() has not run yet:
# autobahn's error under daphne, an OSError under servers that follow the ASGI spec.
# Routine in a reconnect storm (thousands of them); the client catches up by revision.
SOCKET_GONE = (Disconnected, OSError)


# Sent by the hub to its own channel to end its receive.
HUB_STOP = "room_hub.stop"
HUB_STOP_TIMEOUT = 5


class Listener(Protocol):
    channel_name: str

    async def chat_frame(self, event: dict) -> None: ...


class RoomHub:
    """Fan room broadcasts out to this event loop's sockets."""

    def __init__(self, layer, receiver=None):
        self.layer = layer
        # The layer the hub's own channel lives on (see receiving_layer()).
        self.receiver = receiver or layer
        self.channel_name: str | None = None
        # room id -> channel name -> socket
        self.rooms: dict[int, dict[str, Listener]] = {}
        # Rooms whose group this hub's channel is in.
        self.subscribed: set[int] = set()
        self._membership = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []

    async def join(self, room_id: int, listener: Listener) -> None:
        """Start forwarding a room's broadcasts to a socket.

        Return only once the hub is in the room's group, so that nothing broadcast after
        the caller reads the room's revision can be missed.
        """
        self.rooms.setdefault(room_id, {})[listener.channel_name] = listener
        try:
            async with self._membership:
                if not self._tasks:
                    await self._start()
                if room_id not in self.subscribed:
                    await self.receiver.group_add(room_group_name(room_id), self.channel_name)
                    self.subscribed.add(room_id)
        except BaseException:
            await self.leave(room_id, listener)
            raise

    async def leave(self, room_id: int, listener: Listener) -> None:
        """Stop forwarding to a socket; with no socket left, stop the hub.

        An emptied room's group is left by the next upkeep, unless a socket came back.
        """
        sockets = self.rooms.get(room_id)
        if sockets is not None:
            sockets.pop(listener.channel_name, None)
            if not sockets:
                del self.rooms[room_id]
        if not self.rooms:
            # Shielded: a consumer cancelled while closing must not leave a receive behind.
            await asyncio.shield(self._stop_if_idle())

    async def _start(self):
        # A fresh channel each time: a broadcast that reached the previous one after it
        # stopped receiving must not be delivered to the sockets admitted since.
        self.channel_name = await self.receiver.new_channel()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._receive()), loop.create_task(self._upkeep())]

    async def _stop_if_idle(self):
        async with self._membership:
            if self.rooms or not self._tasks:
                return
            receiving, upkeep = self._tasks
            self._tasks = []
            upkeep.cancel()
            try:
                await self._sync_groups()
            except Exception:
                # The memberships expire by themselves (group_expiry).
                logger.warning("Room hub: could not leave the groups.", exc_info=True)
            self.subscribed.clear()
            # The receive is ended by a message rather than cancelled: a cancelled
            # channels_redis receive can leave its locks held and a message to redeliver.
            try:
                await self.receiver.send(self.channel_name, {"type": HUB_STOP})
                await asyncio.wait({receiving}, timeout=HUB_STOP_TIMEOUT)
            except Exception:
                logger.warning("Room hub: could not stop the receive; cancelling.", exc_info=True)
            receiving.cancel()
            done, stuck = await asyncio.wait({receiving, upkeep}, timeout=HUB_STOP_TIMEOUT)
            for task in done:
                if not task.cancelled():
                    task.exception()  # retrieved: it was logged where it happened
            if stuck:
                # A cancelled channels_redis receive can hang for good (seen with Redis
                # down); waiting for it would hold every later join, and so every new
                # socket of the process. It is left behind, and the next receive uses a
                # layer instance of its own: the stuck one may still hold its locks.
                logger.warning("Room hub: a cancelled receive did not end; leaving it behind.")
                self.receiver = receiving_layer(self.layer)

    async def resubscribe(self) -> None:
        """Join the groups of the rooms with sockets again; leave those without.

        Re-joining refreshes the membership's expiry and restores it after the layer lost
        it (a Redis restart without persistence).
        """
        async with self._membership:
            await self._sync_groups()

    async def _sync_groups(self):
        if self.channel_name is None:
            return
        for room_id in sorted(self.subscribed | set(self.rooms)):
            group = room_group_name(room_id)
            if self.rooms.get(room_id):
                await self.receiver.group_add(group, self.channel_name)
                self.subscribed.add(room_id)
            else:
                self.subscribed.discard(room_id)
                await self.receiver.group_discard(group, self.channel_name)

    async def deliver(self, event: dict) -> None:
        """Hand a broadcast to each socket of its room."""
        sockets = self.rooms.get(event.get("room"))
        if not sockets:
            return
        for listener in list(sockets.values()):
            try:
                await listener.chat_frame(event)
            except SOCKET_GONE:
                pass  # its disconnect() is on its way and takes it out of the room
            except Exception:
                logger.warning("Could not forward a frame to a socket.", exc_info=True)

    async def _receive(self):
        failed = False
        while True:
            try:
                if failed:
                    await self.resubscribe()
                    failed = False
                event = await self.receiver.receive(self.channel_name)
                if event.get("type") == HUB_STOP:
                    return
            except Exception:
                # The layer is away (Redis restarting): its sockets are being closed
                # with 4503; the hub keeps going for those that stay or come back.
                logger.warning("Room hub: the channel layer failed; retrying.", exc_info=True)
                failed = True
                await asyncio.sleep(1)
                continue
            await self.deliver(event)

    async def _upkeep(self):
        while True:
            await asyncio.sleep(settings.CHAT_HUB_RESUBSCRIBE)
            try:
                await self.resubscribe()
            except Exception:
                logger.warning("Room hub: resubscribing failed; retrying.", exc_info=True)

    def _cancel(self) -> list[asyncio.Task]:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        return tasks

    async def close(self) -> None:
        """Stop the hub's tasks (tests)."""
        await asyncio.gather(*self._cancel(), return_exceptions=True)


_hubs: dict = {}


def _forget_closed_loops(registry: dict) -> None:
    """Drop the entries of event loops that have closed (tests run one loop per test)."""
    for loop in [loop for loop in registry if loop.is_closed()]:
        del registry[loop]


def receiving_layer(layer):
    """Return a layer instance of the hub's own to receive on, when the layer needs one.

    channels_redis multiplexes all the process channels of one instance over a single
    Redis key, under locks shared by every receive; the hub stops its receive by
    cancelling it, which can leave those locks counted and bound to the event loop
    (channels_redis, ChannelLock.acquire). An instance of its own, made from the same
    settings, keeps the sockets' receives clear of that and carries the room broadcasts
    on a key of their own. Groups live in Redis, so both instances see the same ones.
    """
    if isinstance(layer, RedisChannelLayer):
        for alias, configured in list(channel_layers.backends.items()):
            if configured is layer:
                return channel_layers.make_backend(alias)
    return layer


def get_hub(layer) -> RoomHub:
    """Return the hub of the running event loop for this channel layer."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None or hub.layer is not layer:
        if hub is not None:
            hub._cancel()
        _forget_closed_loops(_hubs)
        hub = _hubs[loop] = RoomHub(layer, receiving_layer(layer))
    return hub


# --- publishing from synchronous code ----------------------------------------------------


class _Outbox:
    """Group sends handed over by worker threads, sent in order by one task on the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.pending: deque[tuple[str, dict]] = deque()
        self.task: asyncio.Task | None = None

    def put(self, group: str, event: dict) -> None:
        self.pending.append((group, event))  # deque.append is thread-safe
        self.loop.call_soon_threadsafe(self._ensure_sending)

    def _ensure_sending(self):
        if self.task is None or self.task.done():
            self.task = self.loop.create_task(self._send_all())

    async def _send_all(self):
        layer = get_channel_layer()
        while self.pending:
            group, event = self.pending.popleft()
            try:
                await layer.group_send(group, event)
            except Exception:
                # The database is the source of truth: clients catch up by revision.
                logger.warning(
                    "Broadcast to %s failed; clients will catch up.", group, exc_info=True
                )


_outboxes: dict[asyncio.AbstractEventLoop, _Outbox] = {}


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """Return the event loop this worker thread serves (sync_to_async), if any."""
    local = SyncToAsync.threadlocal
    loop = getattr(local, "main_event_loop", None)
    if loop is None or getattr(local, "main_event_loop_pid", None) != os.getpid():
        return None
    return loop if loop.is_running() else None


def publish(group: str, event: dict) -> None:
    """Send an event to a group from synchronous code.

    From a worker thread of the server's event loop, hand it over and return at once:
    the database thread never waits for the loop, and the loop sends in commit order.
    Elsewhere (a management command, a test), send it before returning.
    """
    loop = _server_loop()
    if loop is None:
        try:
            async_to_sync(get_channel_layer().group_send)(group, event)
        except Exception:
            logger.warning("Broadcast to %s failed; clients will catch up.", group, exc_info=True)
        return
    outbox = _outboxes.get(loop)
    if outbox is None:
        _forget_closed_loops(_outboxes)
        outbox = _outboxes[loop] = _Outbox(loop)
    outbox.put(group, event)
