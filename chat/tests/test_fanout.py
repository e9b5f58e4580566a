"""The room hub: one channel-layer message per process, fanned out to its sockets."""

import asyncio
import json
import threading
from unittest import IsolatedAsyncioTestCase, mock

from asgiref.sync import async_to_sync, sync_to_async
from autobahn.exception import Disconnected
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import InMemoryChannelLayer, channel_layers, get_channel_layer
from django.conf import settings
from django.test import SimpleTestCase, override_settings

from chat import fanout, selectors, services
from chat.fanout import RoomHub, get_hub, publish
from chat.protocol import frame_event, room_group_name

from .processes import skip_or_fail
from .test_consumers import SocketTestCase


class Listener:
    """A socket as the hub sees it: records what it is handed."""

    def __init__(self, channel_name: str, *, error: Exception | None = None):
        self.channel_name = channel_name
        self.error = error
        self.frames: list[str] = []

    async def chat_frame(self, event):
        if self.error is not None:
            raise self.error
        self.frames.append(event["text"])


class StuckLayer(InMemoryChannelLayer):
    """A layer whose receive outlives its cancellation, and whose sends fail."""

    def __init__(self):
        super().__init__()
        self.released = asyncio.Event()

    async def receive(self, channel):
        while not self.released.is_set():
            try:
                await self.released.wait()
            except asyncio.CancelledError:
                continue
        raise asyncio.CancelledError

    async def send(self, channel, message):
        raise ConnectionError("down")

    async def release(self):
        self.released.set()
        await asyncio.sleep(0)


async def group_members(layer, group: str) -> list[str]:
    """List a group's channels, in the in-process layer or in Redis."""
    if isinstance(layer, InMemoryChannelLayer):
        return list(layer.groups.get(group, {}))
    connection = layer.connection(layer.consistent_hash(group))
    return [member.decode() for member in await connection.zrange(layer._group_key(group), 0, -1)]


def frame(room_id: int, text: str) -> dict:
    return frame_event({"type": "typing", "user": text, "active": True}, room_id=room_id)


class RoomHubTests(IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        self.layer = InMemoryChannelLayer()
        self.hub = RoomHub(self.layer)

    async def asyncTearDown(self):
        await self.hub.close()

    async def broadcast(self, room_id: int, text: str):
        await self.layer.group_send(room_group_name(room_id), frame(room_id, text))

    async def settle(self):
        for _ in range(20):
            await asyncio.sleep(0.01)

    async def test_one_group_member_per_process_whatever_the_sockets(self):
        sockets = [Listener(f"s.{i}") for i in range(50)]
        for socket in sockets:
            await self.hub.join(1, socket)
        self.assertEqual(list(self.layer.groups[room_group_name(1)]), [self.hub.channel_name])
        await self.broadcast(1, "one")
        await self.settle()
        self.assertTrue(all(len(socket.frames) == 1 for socket in sockets))

    async def test_rooms_are_kept_apart(self):
        general, other = Listener("s.1"), Listener("s.2")
        await self.hub.join(1, general)
        await self.hub.join(2, other)
        await self.broadcast(1, "for general")
        await self.settle()
        self.assertEqual(len(general.frames), 1)
        self.assertEqual(other.frames, [])

    async def test_a_broken_socket_does_not_stop_the_others(self):
        broken, fine = Listener("s.1", error=RuntimeError("broken")), Listener("s.2")
        await self.hub.join(1, broken)
        await self.hub.join(1, fine)
        with self.assertLogs("chat.fanout", "WARNING"):
            await self.broadcast(1, "x")
            await self.settle()
        self.assertEqual(len(fine.frames), 1)

    async def test_a_socket_whose_client_has_just_gone_is_skipped_without_a_log(self):
        # daphne raises this until the socket's disconnect() has run: thousands of times
        # in a reconnect storm, each one a traceback in the log before.
        gone = Listener("s.1", error=Disconnected("Attempt to send on a closed protocol"))
        fine = Listener("s.2")
        await self.hub.join(1, gone)
        await self.hub.join(1, fine)
        with self.assertNoLogs("chat.fanout"):
            await self.broadcast(1, "x")
            await self.settle()
        self.assertEqual(len(fine.frames), 1)

    async def test_upkeep_leaves_empty_rooms_and_restores_lost_memberships(self):
        stays, goes = Listener("s.1"), Listener("s.2")
        await self.hub.join(1, stays)
        await self.hub.join(2, goes)
        await self.hub.leave(2, goes)
        # The layer lost the membership (a Redis restart does that).
        await self.layer.group_discard(room_group_name(1), self.hub.channel_name)
        await self.hub.resubscribe()
        self.assertIn(self.hub.channel_name, self.layer.groups.get(room_group_name(1), {}))
        self.assertNotIn(self.hub.channel_name, self.layer.groups.get(room_group_name(2), {}))
        self.assertEqual(self.hub.subscribed, {1})
        await self.broadcast(1, "after")
        await self.settle()
        self.assertEqual(len(stays.frames), 1)

    async def test_the_last_socket_out_stops_the_hub_and_the_next_one_restarts_it(self):
        socket = Listener("s.1")
        await self.hub.join(1, socket)
        await self.hub.leave(1, socket)
        self.assertEqual(self.hub._tasks, [])
        self.assertNotIn(self.hub.channel_name, self.layer.groups.get(room_group_name(1), {}))
        await self.hub.join(1, socket)
        await self.broadcast(1, "again")
        await self.settle()
        self.assertEqual(len(socket.frames), 1)

    async def test_upkeep_runs_by_itself(self):
        socket = Listener("s.1")
        with override_settings(CHAT_HUB_RESUBSCRIBE=0.05):
            await self.hub.join(1, socket)
            await self.layer.group_discard(room_group_name(1), self.hub.channel_name)
            await asyncio.sleep(0.2)
        self.assertIn(self.hub.channel_name, self.layer.groups.get(room_group_name(1), {}))

    async def test_a_failed_group_join_leaves_no_socket_behind(self):
        socket = Listener("s.1")
        with (
            mock.patch.object(self.layer, "group_add", side_effect=ConnectionError("down")),
            self.assertRaises(ConnectionError),
        ):
            await self.hub.join(1, socket)
        self.assertEqual(self.hub.rooms, {})
        self.assertEqual(self.hub.subscribed, set())

    async def test_a_receive_that_ignores_its_cancel_does_not_hold_later_sockets(self):
        # A cancelled channels_redis receive can hang for good while Redis is down.
        stuck = StuckLayer()
        hub = RoomHub(self.layer, stuck)
        self.addAsyncCleanup(stuck.release)
        first, second = Listener("s.1"), Listener("s.2")
        await hub.join(1, first)
        with (
            mock.patch.object(fanout, "HUB_STOP_TIMEOUT", 0.1),
            self.assertLogs("chat.fanout", "WARNING") as logs,
        ):
            await asyncio.wait_for(hub.leave(1, first), 2)
        self.assertIn("a cancelled receive did not end", "\n".join(logs.output))
        # The next socket is admitted at once, and receives on a sound layer.
        await asyncio.wait_for(hub.join(1, second), 1)
        self.assertIs(hub.receiver, self.layer)
        await self.broadcast(1, "after")
        await self.settle()
        self.assertEqual(len(second.frames), 1)
        await hub.close()

    async def test_one_hub_per_event_loop_and_layer(self):
        layer = get_channel_layer()
        hub = get_hub(layer)
        self.assertIs(get_hub(layer), hub)
        self.assertIsNot(get_hub(InMemoryChannelLayer()), hub)


class RoomHubSocketTests(SocketTestCase):
    async def test_a_room_is_one_group_member_for_all_its_sockets(self):
        alice, _ = await self.join(self.alice)
        bob, _ = await self.join(self.bob, others=[alice])
        layer = get_channel_layer()
        members = await group_members(layer, room_group_name(self.room.pk))
        self.assertEqual(members, [get_hub(layer).channel_name])
        await self.send(alice, type="message.send", client_id="c-1", body="hi")
        await self.expect(alice, "message.new")
        frame = await self.expect(bob, "message.new")
        self.assertEqual(frame["message"]["body"], "hi")

    async def test_a_broadcast_during_admission_comes_after_hello(self):
        alice, _ = await self.join(self.alice)
        real_room_opening = selectors.room_opening

        def read_then_a_message(**kwargs):
            # Bob's socket is in the hub but has not had its hello: a message lands now.
            opening = real_room_opening(**kwargs)
            services.message_send(
                room=self.room, author=self.alice, body="in between", client_id="c-9"
            )
            return opening

        with mock.patch.object(selectors, "room_opening", side_effect=read_then_a_message):
            bob = await self.connect(self.bob)
            hello = await self.expect(bob, "hello")
            self.assertEqual(hello["rev"], 0)
            held = await self.expect(bob, "message.new")
            await self.expect(bob, "presence", user="bob")
        self.assertEqual(held["message"]["body"], "in between")
        self.assertEqual(held["message"]["rev"], 1)
        await self.expect(alice, "message.new")
        await self.expect(alice, "presence", user="bob")


class RoomEventTests(SimpleTestCase):
    def test_events_name_their_room(self):
        event = frame_event({"type": "typing"}, room_id=7, skip_user_id=3)
        self.assertEqual(event["room"], 7)
        self.assertEqual(event["skip_user_id"], 3)
        self.assertEqual(json.loads(event["text"]), {"type": "typing"})


class PublishTests(SimpleTestCase):
    async def test_a_worker_thread_hands_over_and_the_loop_sends_in_order(self):
        gate = threading.Event()
        sent, waits = [], []

        class GatedLayer:
            async def group_send(self, group, event):
                # Held until the worker has returned: a publish() that waited for this
                # send would dead-lock here until the timeout.
                waits.append(await asyncio.to_thread(gate.wait, 5))
                sent.append(event["n"])

        def worker():
            for n in range(3):
                publish("room-1", {"type": "chat.frame", "n": n})
            gate.set()

        with mock.patch.object(fanout, "get_channel_layer", return_value=GatedLayer()):
            await sync_to_async(worker)()
            for _ in range(100):
                if len(sent) == 3:
                    break
                await asyncio.sleep(0.02)
        self.assertEqual(sent, [0, 1, 2])
        self.assertEqual(waits, [True, True, True])

    def test_without_a_server_loop_it_sends_before_returning(self):
        layer = get_channel_layer()
        channel = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)("room-2", channel)
        publish("room-2", {"type": "chat.frame", "n": 1})
        self.assertEqual(async_to_sync(layer.receive)(channel)["n"], 1)


class RedisLayerTests(SimpleTestCase):
    """The configured Redis layer (skipped without REDIS_URL, a failure when required)."""

    def setUp(self):
        if not settings.REDIS_URL:
            skip_or_fail('Redis layer tests need REDIS_URL (eval "$(.ci/services.sh start)")')
        self.layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)

    async def test_an_idle_receive_outlasts_the_blocking_pop(self):
        # The layer blocks on Redis for brpop_timeout seconds at a time; a read timeout
        # no longer than that makes every idle socket fail (redis-py 8 defaults to 5 s).
        pool = self.layer.connection(0).connection_pool
        self.assertGreater(pool.connection_kwargs["socket_timeout"], self.layer.brpop_timeout)

        channel = await self.layer.new_channel()
        receiving = asyncio.ensure_future(self.layer.receive(channel))
        try:
            await asyncio.sleep(self.layer.brpop_timeout + 1)
            self.assertFalse(receiving.done() and receiving.exception())
            await self.layer.send(channel, {"type": "chat.frame", "n": 1})
            self.assertEqual((await asyncio.wait_for(receiving, 5))["n"], 1)
        finally:
            receiving.cancel()
            await asyncio.gather(receiving, return_exceptions=True)
            await self.layer.flush()
