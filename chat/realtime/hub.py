"""Event fan-out, one per server process rather than one per socket.

Each process has one hub per event loop. Sockets listen to topics: `room:<id>` for the
rooms they show, `user:<id>` for their user's own events, `all` for what everyone hears.
The hub's channel is the only member, for its process, of each topic's channel-layer
group; it receives each event once, encodes its frame once (chat.realtime.protocol), and
hands both to every socket of the process listening to that topic. The layer carries one
message per process instead of one per socket, and no socket task wakes up to forward it.

An event that changes who may see a room (`room.access`) is checked here, with one
query per process for all its sockets in the room, before the sockets hear of it.

A socket is held back while it is being admitted: broadcasts that arrive before its
`hello` and catch-up are queued and sent right after them, in order (PROTOCOL.md,
"Opening"). Loss is still possible (the layers are best-effort); clients repair it by
revision, as they always have.
"""

import asyncio
import logging
import os
import sys
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from asgiref.sync import SyncToAsync, async_to_sync
from autobahn.exception import Disconnected
from channels.db import database_sync_to_async
from channels.layers import channel_layers, get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.conf import settings

from ops import metrics

from .. import events, selectors
from . import protocol

logger = logging.getLogger(__name__)

# What a send raises when the client has just gone and disconnect() has not run yet:
# autobahn's error under daphne, an OSError under servers that follow the ASGI spec.
# Routine in a reconnect storm (thousands of them); the client catches up by revision.
SOCKET_GONE = (Disconnected, OSError)


# Sent by the hub to its own channel to end its receive.
HUB_STOP = "room_hub.stop"
HUB_STOP_TIMEOUT = 5


# The channel-layer message type of an event on its way to the hubs.
EVENT_TYPE = "chat.event"


def topic_group(topic: str) -> str:
    """Return the channel-layer group of a topic ("room:5" -> "chat.room.5")."""
    return "chat." + topic.replace(":", ".")


def room_topic(room_id: int) -> str:
    # Interned: every socket of the room keeps its topic, and one string serves them all.
    return sys.intern(f"room:{int(room_id)}")


def user_topic(user_id: int) -> str:
    return sys.intern(f"user:{int(user_id)}")


EVERYONE_TOPIC = "all"


class Listener(Protocol):
    channel_name: str
    user_id: int

    async def on_event(self, event: dict) -> None: ...

    async def on_layer_failure(self) -> None: ...


class Hub:
    """Fan events out to this event loop's sockets, by topic."""

    def __init__(self, layer, receiver=None):
        self.layer = layer
        # The layer the hub's own channel lives on (see receiving_layer()).
        self.receiver = receiver or layer
        self.channel_name: str | None = None
        # topic -> channel name -> socket
        self.topics: dict[str, dict[str, Listener]] = {}
        # Topics whose group this hub's channel is in.
        self.subscribed: set[str] = set()
        self._membership = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []
        self._stopping: asyncio.Future | None = None

    async def join(self, topics: list[str], listener: Listener) -> None:
        """Start handing a socket the events of `topics`.

        Return only once the hub is in every topic's group, so that nothing sent after
        the caller reads the room's revision can be missed.
        """
        for topic in topics:
            self.topics.setdefault(topic, {})[listener.channel_name] = listener
        try:
            async with self._membership:
                if not self._tasks:
                    await self._start()
                for topic in topics:
                    if topic not in self.subscribed:
                        await self.receiver.group_add(topic_group(topic), self.channel_name)
                        self.subscribed.add(topic)
        except BaseException:
            await self.leave(topics, listener)
            raise

    async def leave(self, topics: list[str], listener: Listener) -> None:
        """Stop handing a socket these topics' events; with no socket left, stop the hub.

        An emptied topic's group is left by the next upkeep, unless a socket came back.
        """
        for topic in topics:
            sockets = self.topics.get(topic)
            if sockets is not None:
                sockets.pop(listener.channel_name, None)
                if not sockets:
                    del self.topics[topic]
        if not self.topics:
            # Kept: the loop holds only a weak reference to a task.
            stopping = self._stopping = asyncio.ensure_future(self._stop_if_idle())
            if asyncio.current_task() in self._tasks:
                # A socket left while the hub was handing it an event (a ban closes it):
                # the stop waits for this very task to end, so it must run on its own.
                return
            # Shielded: a consumer cancelled while closing must not leave a receive behind.
            await asyncio.shield(stopping)

    async def _start(self):
        # A fresh channel each time: a broadcast that reached the previous one after it
        # stopped receiving must not be delivered to the sockets admitted since.
        self.channel_name = await self.receiver.new_channel()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._receive()), loop.create_task(self._upkeep())]

    async def _stop_if_idle(self):
        async with self._membership:
            if self.topics or not self._tasks:
                return
            receiving, upkeep = self._tasks
            self._tasks = []
            upkeep.cancel()
            try:
                await self._sync_groups()
            except Exception:
                # The memberships expire by themselves (group_expiry).
                metrics.layer_error("subscribe")
                logger.warning("Room hub: could not leave the groups.", exc_info=True)
            self.subscribed.clear()
            # The receive is ended by a message rather than cancelled: a cancelled
            # channels_redis receive can leave its locks held and a message to redeliver.
            try:
                await self.receiver.send(self.channel_name, {"type": HUB_STOP})
                await asyncio.wait({receiving}, timeout=HUB_STOP_TIMEOUT)
            except Exception:
                metrics.layer_error("send")
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
        """Join the groups of the topics with sockets again; leave those without.

        Re-joining refreshes the membership's expiry and restores it after the layer lost
        it (a Redis restart without persistence).
        """
        async with self._membership:
            await self._sync_groups()

    async def _sync_groups(self):
        if self.channel_name is None:
            return
        for topic in sorted(self.subscribed | set(self.topics)):
            group = topic_group(topic)
            if self.topics.get(topic):
                await self.receiver.group_add(group, self.channel_name)
                self.subscribed.add(topic)
            else:
                self.subscribed.discard(topic)
                await self.receiver.group_discard(group, self.channel_name)

    async def deliver(self, event: dict) -> None:
        """Encode an event's frame once and hand both to each socket of its topic."""
        sockets = self.topics.get(event.get("topic"))
        if not sockets:
            return
        text = event["text"] = protocol.encode_event(event)
        if text is not None:
            # One ASGI message for every socket of the topic (base.send_message).
            event["message"] = {"type": "websocket.send", "text": text}
        if event["kind"] == events.ROOM_ACCESS:
            await self._check_access(event, sockets)
        for listener in list(sockets.values()):
            try:
                await listener.on_event(event)
            except SOCKET_GONE:
                pass  # its disconnect() is on its way and takes it out of the room
            except Exception:
                logger.warning("Could not forward a frame to a socket.", exc_info=True)

    async def _check_access(self, event: dict, sockets: dict[str, Listener]) -> None:
        """Tell the sockets, in `event["allowed"]`, which of their users may still see the room.

        None when the database could not say: the sockets then close with 4503, and their
        clients reconnect and are checked again on opening.
        """
        user_ids = sorted({listener.user_id for listener in sockets.values()})
        try:
            allowed = await database_sync_to_async(selectors.room_viewer_ids)(
                room_id=event["data"]["room_id"], user_ids=user_ids
            )
        except Exception as error:
            logger.warning("Room hub: could not re-check access: %s", error)
            allowed = None
        event["allowed"] = allowed

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
                # The layer is away (Redis restarting): its sockets are closed with 4503,
                # to reconnect and catch up; the hub keeps going for those that come back.
                metrics.layer_error("receive")
                logger.warning("Room hub: the channel layer failed; retrying.", exc_info=True)
                failed = True
                await self._layer_failed()
                await asyncio.sleep(1)
                continue
            metrics.broadcast_received(event.get("sent_at"))
            await self.deliver(event)

    async def _layer_failed(self) -> None:
        """Tell each socket listening here that the channel layer failed under it."""
        listeners = {
            id(listener): listener
            for sockets in self.topics.values()
            for listener in sockets.values()
        }
        for listener in listeners.values():
            try:
                await listener.on_layer_failure()
            except SOCKET_GONE:
                pass  # its disconnect() is on its way
            except Exception:
                logger.warning("Could not close a socket after a layer failure.", exc_info=True)

    async def _upkeep(self):
        while True:
            await asyncio.sleep(settings.CHAT_HUB_RESUBSCRIBE)
            try:
                await self.resubscribe()
            except Exception:
                metrics.layer_error("subscribe")
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


def get_hub(layer=None) -> Hub:
    """Return the hub of the running event loop for this channel layer (the default one)."""
    layer = layer or get_channel_layer()
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None or hub.layer is not layer:
        if hub is not None:
            hub._cancel()
        _forget_closed_loops(_hubs)
        hub = _hubs[loop] = Hub(layer, receiving_layer(layer))
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
                metrics.layer_error("send")
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


def _layer_messages(event: "events.Event") -> list[tuple[str, dict]]:
    """Return the (group, channel-layer message) pairs that carry an event to its topics.

    Each is stamped with the wall-clock time it leaves (on commit, for a write): every
    process's hub observes the broadcast's latency on receipt (ops.metrics).
    """
    messages = []
    sent_at = time.time()
    for topic in event.audience.topics():
        message = {
            "type": EVENT_TYPE,
            "topic": topic,
            "kind": event.kind,
            "data": event.data,
            "sent_at": sent_at,
        }
        if event.origin_channel:
            message["origin_channel"] = event.origin_channel
        if event.skip_user_id is not None:
            message["skip_user_id"] = event.skip_user_id
        messages.append((topic_group(topic), message))
    return messages


def publish_event(event: "events.Event") -> None:
    """Send a domain event to the hubs of every process, from synchronous code."""
    for group, message in _layer_messages(event):
        publish(group, message)


async def apublish_event(event: "events.Event") -> None:
    """Send a domain event to the hubs of every process; a layer failure loses only it."""
    layer = get_channel_layer()
    for group, message in _layer_messages(event):
        try:
            await layer.group_send(group, message)
        except Exception:
            metrics.layer_error("send")
            logger.warning("Send of %s to %s failed.", event.kind, group, exc_info=True)


class ChannelLayerTransport:
    """What carries domain events to the hubs: the channel layer (chat.events' transport)."""

    def send(self, event: "events.Event") -> None:
        publish_event(event)

    async def asend(self, event: "events.Event") -> None:
        await apublish_event(event)


def _send_now(group: str, event: dict) -> None:
    send = async_to_sync(get_channel_layer().group_send)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        send(group, event)
        return
    # This thread runs an event loop of its own under synchronous code (a sync API that
    # drives one, such as a browser driver's): AsyncToSync refuses to run here.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(send, group, event).result()


def publish(group: str, event: dict) -> None:
    """Send a channel-layer message to a group from synchronous code.

    From a worker thread of the server's event loop, hand it over and return at once:
    the database thread never waits for the loop, and the loop sends in commit order.
    Elsewhere (a management command, a test), send it before returning.
    """
    loop = _server_loop()
    if loop is None:
        try:
            _send_now(group, event)
        except Exception:
            metrics.layer_error("send")
            logger.warning("Broadcast to %s failed; clients will catch up.", group, exc_info=True)
        return
    outbox = _outboxes.get(loop)
    if outbox is None:
        _forget_closed_loops(_outboxes)
        outbox = _outboxes[loop] = _Outbox(loop)
    outbox.put(group, event)
