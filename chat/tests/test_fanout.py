"""The hub: one channel-layer message per process and topic, fanned out to its sockets."""

import asyncio
import json
import threading
from unittest import IsolatedAsyncioTestCase, mock

from asgiref.sync import async_to_sync, sync_to_async
from autobahn.exception import Disconnected
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import InMemoryChannelLayer, channel_layers, get_channel_layer
from django.conf import settings
from django.db import DatabaseError
from django.test import SimpleTestCase, TransactionTestCase, override_settings

from chat import events, selectors, services
from chat.realtime import hub as fanout
from chat.realtime.hub import (
    EVENT_TYPE,
    Hub,
    get_hub,
    publish,
    publish_event,
    room_topic,
    topic_group,
    user_topic,
)

from .factories import add_member, make_room, make_user
from .processes import skip_or_fail
from .test_consumers import TIMEOUT, SocketTestCase


class Listener:
    """A socket as the hub sees it: records the encoded frames it is handed."""

    def __init__(self, channel_name: str, *, user_id: int = 1, error: Exception | None = None):
        self.channel_name = channel_name
        self.user_id = user_id
        self.error = error
        self.frames: list[str] = []
        self.events: list[dict] = []

    async def on_event(self, event):
        if self.error is not None:
            raise self.error
        self.events.append(event)
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


def room(room_id: int) -> list[str]:
    """The topics a socket of one room listens to, as far as these tests go."""
    return [room_topic(room_id)]


def group(room_id: int) -> str:
    return topic_group(room_topic(room_id))


def layer_message(event: events.Event) -> tuple[str, dict]:
    """Return the (group, channel-layer message) that carries a one-topic event."""
    [(group_name, message)] = fanout._layer_messages(event)
    return group_name, message


def typing_event(room_id: int, text: str) -> events.Event:
    data = {"user": text, "active": True}
    return events.Event(events.TYPING, data, events.to_room(room_id))


class RoomHubTests(IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        self.layer = InMemoryChannelLayer()
        self.hub = Hub(self.layer)

    async def asyncTearDown(self):
        await self.hub.close()

    async def broadcast(self, room_id: int, text: str):
        await self.layer.group_send(*layer_message(typing_event(room_id, text)))

    async def settle(self):
        for _ in range(20):
            await asyncio.sleep(0.01)

    async def test_one_group_member_per_process_whatever_the_sockets(self):
        sockets = [Listener(f"s.{i}") for i in range(50)]
        for socket in sockets:
            await self.hub.join(room(1), socket)
        self.assertEqual(list(self.layer.groups[group(1)]), [self.hub.channel_name])
        await self.broadcast(1, "one")
        await self.settle()
        self.assertTrue(all(len(socket.frames) == 1 for socket in sockets))

    async def test_rooms_are_kept_apart(self):
        general, other = Listener("s.1"), Listener("s.2")
        await self.hub.join(room(1), general)
        await self.hub.join(room(2), other)
        await self.broadcast(1, "for general")
        await self.settle()
        self.assertEqual(len(general.frames), 1)
        self.assertEqual(other.frames, [])

    async def test_a_broken_socket_does_not_stop_the_others(self):
        broken, fine = Listener("s.1", error=RuntimeError("broken")), Listener("s.2")
        await self.hub.join(room(1), broken)
        await self.hub.join(room(1), fine)
        with self.assertLogs("chat.realtime.hub", "WARNING"):
            await self.broadcast(1, "x")
            await self.settle()
        self.assertEqual(len(fine.frames), 1)

    async def test_a_socket_whose_client_has_just_gone_is_skipped_without_a_log(self):
        # daphne raises this until the socket's disconnect() has run: thousands of times
        # in a reconnect storm, each one a traceback in the log before.
        gone = Listener("s.1", error=Disconnected("Attempt to send on a closed protocol"))
        fine = Listener("s.2")
        await self.hub.join(room(1), gone)
        await self.hub.join(room(1), fine)
        with self.assertNoLogs("chat.realtime.hub"):
            await self.broadcast(1, "x")
            await self.settle()
        self.assertEqual(len(fine.frames), 1)

    async def test_upkeep_leaves_empty_rooms_and_restores_lost_memberships(self):
        stays, goes = Listener("s.1"), Listener("s.2")
        await self.hub.join(room(1), stays)
        await self.hub.join(room(2), goes)
        await self.hub.leave(room(2), goes)
        # The layer lost the membership (a Redis restart does that).
        await self.layer.group_discard(group(1), self.hub.channel_name)
        await self.hub.resubscribe()
        self.assertIn(self.hub.channel_name, self.layer.groups.get(group(1), {}))
        self.assertNotIn(self.hub.channel_name, self.layer.groups.get(group(2), {}))
        self.assertEqual(self.hub.subscribed, {"room:1"})
        await self.broadcast(1, "after")
        await self.settle()
        self.assertEqual(len(stays.frames), 1)

    async def test_the_last_socket_out_stops_the_hub_and_the_next_one_restarts_it(self):
        socket = Listener("s.1")
        await self.hub.join(room(1), socket)
        await self.hub.leave(room(1), socket)
        self.assertEqual(self.hub._tasks, [])
        self.assertNotIn(self.hub.channel_name, self.layer.groups.get(group(1), {}))
        await self.hub.join(room(1), socket)
        await self.broadcast(1, "again")
        await self.settle()
        self.assertEqual(len(socket.frames), 1)

    async def test_upkeep_runs_by_itself(self):
        socket = Listener("s.1")
        with override_settings(CHAT_HUB_RESUBSCRIBE=0.05):
            await self.hub.join(room(1), socket)
            await self.layer.group_discard(group(1), self.hub.channel_name)
            await asyncio.sleep(0.2)
        self.assertIn(self.hub.channel_name, self.layer.groups.get(group(1), {}))

    async def test_a_failed_group_join_leaves_no_socket_behind(self):
        socket = Listener("s.1")
        with (
            mock.patch.object(self.layer, "group_add", side_effect=ConnectionError("down")),
            self.assertRaises(ConnectionError),
        ):
            await self.hub.join(room(1), socket)
        self.assertEqual(self.hub.topics, {})
        self.assertEqual(self.hub.subscribed, set())

    async def test_a_receive_that_ignores_its_cancel_does_not_hold_later_sockets(self):
        # A cancelled channels_redis receive can hang for good while Redis is down.
        stuck = StuckLayer()
        hub = Hub(self.layer, stuck)
        self.addAsyncCleanup(stuck.release)
        first, second = Listener("s.1"), Listener("s.2")
        await hub.join(room(1), first)
        with (
            mock.patch.object(fanout, "HUB_STOP_TIMEOUT", 0.1),
            self.assertLogs("chat.realtime.hub", "WARNING") as logs,
        ):
            await asyncio.wait_for(hub.leave(room(1), first), 2)
        self.assertIn("a cancelled receive did not end", "\n".join(logs.output))
        # The next socket is admitted at once, and receives on a sound layer.
        await asyncio.wait_for(hub.join(room(1), second), 1)
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
        members = await group_members(layer, group(self.room.pk))
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
            # Both follow the hello; over Redis, bob's own presence may overtake the message.
            after = [await bob.receive_json_from(timeout=TIMEOUT) for _ in range(2)]
        by_type = {frame["type"]: frame for frame in after}
        self.assertEqual(set(by_type), {"message.new", "presence"}, msg=after)
        self.assertEqual(by_type["presence"]["user"], "bob")
        held = by_type["message.new"]
        self.assertEqual(held["message"]["body"], "in between")
        self.assertEqual(held["message"]["rev"], 1)
        seen = [await alice.receive_json_from(timeout=TIMEOUT) for _ in range(2)]
        self.assertEqual({frame["type"] for frame in seen}, {"message.new", "presence"})


class RoomEventTests(SimpleTestCase):
    def test_events_name_their_topic_and_routing(self):
        event = events.Event(
            events.TYPING,
            {"user": "bob", "active": True},
            events.to_room(7),
            origin_channel="specific.abc!def",
            skip_user_id=3,
        )
        group_name, message = layer_message(event)
        self.assertEqual(group_name, "chat.room.7")
        # When it left, for the broadcast latency each hub observes (ops.metrics).
        self.assertIsInstance(message.pop("sent_at"), float)
        self.assertEqual(
            message,
            {
                "type": EVENT_TYPE,
                "topic": "room:7",
                "kind": "typing",
                "data": {"user": "bob", "active": True},
                "origin_channel": "specific.abc!def",
                "skip_user_id": 3,
            },
        )
        # The frame is encoded by each process's hub, not carried by the layer.
        self.assertNotIn("text", message)

    def test_routing_fields_are_left_out_when_unset(self):
        _group, message = layer_message(typing_event(7, "bob"))
        self.assertNotIn("origin_channel", message)
        self.assertNotIn("skip_user_id", message)

    def test_an_event_for_users_goes_to_each_user_s_group_once(self):
        event = events.Event(events.SESSION_CHECK, {}, events.to_users([5, 2, 5]))
        messages = fanout._layer_messages(event)
        self.assertEqual([group for group, _ in messages], ["chat.user.2", "chat.user.5"])
        self.assertEqual([message["topic"] for _, message in messages], ["user:2", "user:5"])
        [(group_name, message)] = fanout._layer_messages(
            events.Event(events.ROOMS_UPDATED, {}, events.EVERYONE)
        )
        self.assertEqual((group_name, message["topic"]), ("chat.all", "all"))


class TopicTests(IsolatedAsyncioTestCase):
    """Sockets listen to their room, their user and everyone; each topic is one group."""

    async def asyncSetUp(self):
        self.layer = InMemoryChannelLayer()
        self.hub = Hub(self.layer)

    async def asyncTearDown(self):
        await self.hub.close()

    async def settle(self):
        for _ in range(20):
            await asyncio.sleep(0.01)

    async def send(self, event: events.Event):
        for group_name, message in fanout._layer_messages(event):
            await self.layer.group_send(group_name, message)

    async def test_a_socket_hears_its_room_its_user_and_everyone_and_nothing_else(self):
        alice = Listener("s.1", user_id=1)
        bob = Listener("s.2", user_id=2)
        await self.hub.join([room_topic(1), user_topic(1), "all"], alice)
        await self.hub.join([room_topic(2), user_topic(2), "all"], bob)
        for topic in ["room:1", "room:2", "user:1", "user:2", "all"]:
            self.assertEqual(list(self.layer.groups[topic_group(topic)]), [self.hub.channel_name])
        await self.send(typing_event(1, "in room 1"))
        await self.send(events.Event(events.SESSION_CHECK, {"n": 1}, events.to_users([2])))
        await self.send(
            events.Event(events.ROOMS_UPDATED, {"room": {"slug": "x"}}, events.EVERYONE)
        )
        await self.settle()
        self.assertEqual(
            [(event["topic"], event["kind"]) for event in alice.events],
            [("room:1", "typing"), ("all", "rooms.updated")],
        )
        self.assertEqual(
            [(event["topic"], event["kind"]) for event in bob.events],
            [("user:2", "session.check"), ("all", "rooms.updated")],
        )

    async def test_the_frame_is_encoded_once_per_process_for_all_its_sockets(self):
        sockets = [Listener(f"s.{i}") for i in range(20)]
        for socket in sockets:
            await self.hub.join(room(1), socket)
        real_encode = fanout.protocol.encode_event
        with mock.patch.object(
            fanout.protocol, "encode_event", side_effect=real_encode
        ) as encode_event:
            await self.send(typing_event(1, "bob"))
            await self.settle()
        self.assertEqual(encode_event.call_count, 1)
        texts = {socket.frames[0] for socket in sockets}
        self.assertEqual(len(texts), 1)
        self.assertEqual(json.loads(texts.pop()), {"type": "typing", "user": "bob", "active": True})

    async def test_an_event_without_a_frame_reaches_sockets_with_no_text(self):
        socket = Listener("s.1", user_id=1)
        await self.hub.join([user_topic(1)], socket)
        await self.send(
            events.Event(events.SESSION_CHECK, {"ended_session": "k"}, events.to_users([1]))
        )
        await self.settle()
        [event] = socket.events
        self.assertIsNone(event["text"])
        self.assertEqual(event["data"], {"ended_session": "k"})

    async def test_leaving_some_topics_keeps_the_others(self):
        socket = Listener("s.1", user_id=1)
        await self.hub.join([room_topic(1), user_topic(1)], socket)
        await self.hub.leave([room_topic(1)], socket)
        self.assertEqual(list(self.hub.topics), ["user:1"])
        await self.send(typing_event(1, "gone"))
        await self.send(events.Event(events.SESSION_CHECK, {}, events.to_users([1])))
        await self.settle()
        self.assertEqual([event["kind"] for event in socket.events], ["session.check"])


class AccessCheckTests(TransactionTestCase):
    """A `room.access` event: the hub asks once, for all its sockets, who may still see."""

    def setUp(self):
        self.room = make_room("Secret", is_private=True)
        self.member, self.outsider, self.banned = (
            make_user("member"),
            make_user("outsider"),
            make_user("banned"),
        )
        add_member(self.room, self.member)
        add_member(self.room, self.banned, banned=True)
        self.event = {
            "type": EVENT_TYPE,
            "topic": room_topic(self.room.pk),
            "kind": events.ROOM_ACCESS,
            "data": {"room_id": self.room.pk, "reason": "private"},
        }

    async def deliver(self, hub, sockets):
        for socket in sockets:
            await hub.join(room(self.room.pk), socket)
        try:
            await hub.deliver(dict(self.event))
        finally:
            for socket in sockets:
                await hub.leave(room(self.room.pk), socket)
            await hub.close()

    async def test_the_sockets_are_told_who_may_still_see_the_room(self):
        sockets = [
            Listener("s.1", user_id=self.member.pk),
            Listener("s.2", user_id=self.member.pk),
            Listener("s.3", user_id=self.outsider.pk),
            Listener("s.4", user_id=self.banned.pk),
        ]
        real_viewer_ids = selectors.room_viewer_ids
        with mock.patch.object(
            selectors, "room_viewer_ids", side_effect=real_viewer_ids
        ) as viewer_ids:
            await self.deliver(Hub(InMemoryChannelLayer()), sockets)
        # One check for the process, whatever its sockets.
        viewer_ids.assert_called_once_with(
            room_id=self.room.pk,
            user_ids=sorted({self.member.pk, self.outsider.pk, self.banned.pk}),
        )
        for socket in sockets:
            [event] = socket.events
            self.assertEqual(event["allowed"], [self.member.pk])
            self.assertIsNone(event["text"])  # no frame: each socket decides

    async def test_when_the_database_can_t_say_nobody_is_allowed_for_sure(self):
        socket = Listener("s.1", user_id=self.member.pk)
        with (
            mock.patch.object(
                selectors, "room_viewer_ids", side_effect=DatabaseError("database away")
            ),
            self.assertLogs("chat.realtime.hub", "WARNING"),
        ):
            await self.deliver(Hub(InMemoryChannelLayer()), [socket])
        [event] = socket.events
        self.assertIsNone(event["allowed"])


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
                publish("room-1", {"type": EVENT_TYPE, "n": n})
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
        publish("room-2", {"type": EVENT_TYPE, "n": 1})
        self.assertEqual(async_to_sync(layer.receive)(channel)["n"], 1)

    def test_publish_event_sends_the_layer_message_of_each_topic(self):
        layer = get_channel_layer()
        channel = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)(group(3), channel)
        publish_event(typing_event(3, "bob"))
        message = async_to_sync(layer.receive)(channel)
        self.assertIsInstance(message.pop("sent_at"), float)
        self.assertEqual(
            message,
            {
                "type": EVENT_TYPE,
                "topic": "room:3",
                "kind": "typing",
                "data": {"user": "bob", "active": True},
            },
        )


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
            await self.layer.send(channel, {"type": EVENT_TYPE, "n": 1})
            self.assertEqual((await asyncio.wait_for(receiving, 5))["n"], 1)
        finally:
            receiving.cancel()
            await asyncio.gather(receiving, return_exceptions=True)
            await self.layer.flush()
