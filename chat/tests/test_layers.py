"""The in-process channel layer: channels' semantics, without a sweep on every call."""

from unittest import IsolatedAsyncioTestCase, mock

from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.conf import settings
from django.test import SimpleTestCase

from chat.realtime.layers import LocalChannelLayer


class LocalChannelLayerTests(IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        self.layer = LocalChannelLayer(expiry=60, capacity=2)
        self.clock = 1000.0
        patcher = mock.patch("chat.realtime.layers.time.monotonic", side_effect=lambda: self.clock)
        patcher.start()
        self.addCleanup(patcher.stop)

    async def test_sweeps_at_most_once_per_interval(self):
        channels = [await self.layer.new_channel() for _ in range(3)]
        for channel in channels:
            await self.layer.group_add("room", channel)
        with mock.patch.object(InMemoryChannelLayer, "_clean_expired", autospec=True) as sweep:
            for n in range(50):
                await self.layer.group_send("room", {"type": "chat.frame", "n": n % 2})
                await self.layer.receive(channels[0])
            self.assertEqual(sweep.call_count, 1)
            self.clock += 1.5
            await self.layer.group_send("room", {"type": "chat.frame"})
            self.assertEqual(sweep.call_count, 2)

    async def test_expired_messages_and_memberships_still_go(self):
        channel = await self.layer.new_channel()
        await self.layer.group_add("room", channel)
        await self.layer.send(channel, {"type": "old"})
        with mock.patch("channels.layers.time.time", return_value=10**10):
            self.clock += 1.5
            self.layer._clean_expired()
        self.assertNotIn(channel, self.layer.channels)
        self.assertNotIn(channel, self.layer.groups.get("room", {}))

    async def test_group_send_reaches_every_member_and_skips_full_ones(self):
        members = [await self.layer.new_channel() for _ in range(3)]
        for channel in members:
            await self.layer.group_add("room", channel)
        full = members[0]
        await self.layer.send(full, {"type": "a"})
        await self.layer.send(full, {"type": "b"})  # capacity 2: now full
        await self.layer.group_send("room", {"type": "c"})
        self.assertEqual([(await self.layer.receive(full))["type"] for _ in range(2)], ["a", "b"])
        for channel in members[1:]:
            self.assertEqual((await self.layer.receive(channel))["type"], "c")

    async def test_each_member_gets_its_own_copy(self):
        first, second = await self.layer.new_channel(), await self.layer.new_channel()
        for channel in (first, second):
            await self.layer.group_add("room", channel)
        await self.layer.group_send("room", {"type": "x", "data": {"seen": []}})
        (await self.layer.receive(first))["data"]["seen"].append(1)
        self.assertEqual((await self.layer.receive(second))["data"]["seen"], [])


class DefaultLayerTests(SimpleTestCase):
    def test_the_layer_follows_redis_url(self):
        expected = RedisChannelLayer if settings.REDIS_URL else LocalChannelLayer
        self.assertIsInstance(get_channel_layer(), expected)
