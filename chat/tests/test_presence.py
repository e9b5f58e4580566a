"""Presence: a user is online while one of their sockets is open, in every process."""

import asyncio
from types import SimpleNamespace
from unittest import mock

import redis.asyncio
from channels.layers import get_channel_layer
from django.test import SimpleTestCase, override_settings

from chat import events
from chat.realtime.hub import get_hub, room_topic, topic_group
from chat.realtime.presence import LocalPresence, RedisPresence, broadcast_presence

from .servers import RedisServer


class LocalPresenceTests(SimpleTestCase):
    async def test_second_tab_is_not_a_second_join_and_last_tab_leaves(self):
        presence = LocalPresence()
        joined = await presence.join(room_id=1, user_id=7, username="alice", channel_name="tab-1")
        self.assertEqual(joined, (True, ["alice"], 1))
        joined = await presence.join(room_id=1, user_id=7, username="alice", channel_name="tab-2")
        self.assertEqual(joined, (False, ["alice"], 2))
        self.assertEqual(
            await presence.leave(room_id=1, user_id=7, channel_name="tab-1"), (False, ["alice"])
        )
        self.assertEqual(
            await presence.leave(room_id=1, user_id=7, channel_name="tab-2"), (True, [])
        )

    async def test_rooms_are_separate_and_lists_sorted(self):
        presence = LocalPresence()
        await presence.join(room_id=1, user_id=2, username="zoe", channel_name="a")
        joined = await presence.join(room_id=1, user_id=1, username="bob", channel_name="b")
        self.assertEqual(joined.online, ["bob", "zoe"])
        joined = await presence.join(room_id=2, user_id=3, username="cy", channel_name="c")
        self.assertEqual(joined.online, ["cy"])

    async def test_leaving_twice_is_not_a_second_leave(self):
        presence = LocalPresence()
        await presence.join(room_id=1, user_id=7, username="alice", channel_name="tab-1")
        self.assertEqual(
            (await presence.leave(room_id=1, user_id=7, channel_name="tab-1"))[0], True
        )
        self.assertEqual(
            (await presence.leave(room_id=1, user_id=7, channel_name="tab-1"))[0], False
        )


@override_settings(CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}})
class BroadcastPresenceTests(SimpleTestCase):
    async def test_presence_is_an_event_to_the_room_sent_at_once(self):
        with events.captured_events() as sent:
            await broadcast_presence(room_id=4, username="alice", status="online", online=["alice"])
        self.assertEqual(
            sent,
            [
                events.Event(
                    events.PRESENCE,
                    {"user": "alice", "status": "online", "online": ["alice"]},
                    events.to_room(4),
                )
            ],
        )


@override_settings(CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}})
class RedisPresenceTests(SimpleTestCase):
    """Two RedisPresence stores stand for two server processes sharing one Redis."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.redis = RedisServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.redis.stop()
        super().tearDownClass()

    def process(self, ttl: float = 60) -> RedisPresence:
        # A long heartbeat: the tests call refresh and sweep themselves.
        return RedisPresence(self.redis.url, ttl=ttl, heartbeat=3600, sweep=0)

    async def flush_redis(self):
        client = redis.asyncio.Redis.from_url(self.redis.url)
        await client.flushall()
        await client.aclose()

    async def listen(self, room_id: int) -> str:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(topic_group(room_topic(room_id)), channel)
        return channel

    def assertPresence(self, event: dict, *, user: str, status: str, online: list[str]):
        """A presence event on its way to the hubs of the room's topic."""
        self.assertEqual((event["type"], event["topic"]), ("chat.event", "room:1"))
        self.assertEqual(event["kind"], events.PRESENCE)
        self.assertEqual(event["data"], {"user": user, "status": status, "online": online})

    async def test_a_user_on_process_a_is_listed_for_process_b(self):
        await self.flush_redis()
        process_a, process_b = self.process(), self.process()
        await process_a.join(room_id=1, user_id=1, username="alice", channel_name="a.1")
        first, online, _sockets = await process_b.join(
            room_id=1, user_id=2, username="bob", channel_name="b.1"
        )
        self.assertTrue(first)
        self.assertEqual(online, ["alice", "bob"])
        self.assertEqual(await process_a.online(room_id=1), ["alice", "bob"])

    async def test_second_tab_on_another_process_is_not_a_second_join(self):
        await self.flush_redis()
        process_a, process_b = self.process(), self.process()
        joined = await process_a.join(room_id=1, user_id=1, username="alice", channel_name="a.1")
        self.assertTrue(joined.first)
        joined = await process_b.join(room_id=2, user_id=1, username="alice", channel_name="b.2")
        # Sockets are counted per user across rooms and processes.
        self.assertEqual(joined.user_sockets, 2)
        joined = await process_b.join(room_id=1, user_id=1, username="alice", channel_name="b.1")
        self.assertFalse(joined.first)
        self.assertEqual(joined.user_sockets, 3)
        await process_b.leave(room_id=2, user_id=1, channel_name="b.2")
        last, online = await process_a.leave(room_id=1, user_id=1, channel_name="a.1")
        self.assertEqual((last, online), (False, ["alice"]))
        last, online = await process_b.leave(room_id=1, user_id=1, channel_name="b.1")
        self.assertEqual((last, online), (True, []))

    async def test_users_of_a_dead_process_are_swept_offline_and_announced(self):
        await self.flush_redis()
        dead, alive = self.process(ttl=0.3), self.process()
        await dead.join(room_id=1, user_id=1, username="alice", channel_name="a.1")
        await alive.join(room_id=1, user_id=2, username="bob", channel_name="b.1")
        listener = await self.listen(1)
        # The dead process refreshes nothing any more: its entry expires.
        await asyncio.sleep(0.4)
        await alive.sweep_rooms()
        event = await asyncio.wait_for(get_channel_layer().receive(listener), 1)
        self.assertPresence(event, user="alice", status="offline", online=["bob"])
        self.assertEqual(await alive.online(room_id=1), ["bob"])
        # A second sweep (another process) announces nothing more.
        await alive.sweep_rooms()
        with self.assertRaises(asyncio.TimeoutError):
            await asyncio.wait_for(get_channel_layer().receive(listener), 0.2)

    async def test_refresh_restores_entries_after_redis_lost_them(self):
        await self.flush_redis()
        process = self.process()
        await process.join(room_id=1, user_id=1, username="alice", channel_name="a.1")
        layer = get_channel_layer()
        hub = get_hub(layer)
        socket = SimpleNamespace(channel_name="a.1", user_id=1, on_event=mock.AsyncMock())
        await hub.join([room_topic(1)], socket)
        try:
            listener = await self.listen(1)
            # A restart of Redis without persistence loses presence and group memberships.
            await self.flush_redis()
            await layer.group_discard(topic_group(room_topic(1)), hub.channel_name)
            self.assertEqual(await process.online(room_id=1), [])
            await process.refresh()
            self.assertEqual(await process.online(room_id=1), ["alice"])
            self.assertIn(hub.channel_name, layer.groups[topic_group(room_topic(1))])
            event = await asyncio.wait_for(get_channel_layer().receive(listener), 1)
            self.assertPresence(event, user="alice", status="online", online=["alice"])
        finally:
            await hub.leave([room_topic(1)], socket)
