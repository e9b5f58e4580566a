"""What an open, idle socket keeps in its server process: no task of its own besides the
one the server runs it in, and no queue in the channel layer (the process's hub listens
for every socket; the login watch calls the socket itself). The hub, then, is what tells
the sockets that the layer failed under them."""

import asyncio
from unittest import mock

from channels.layers import InMemoryChannelLayer, get_channel_layer

from chat.realtime.hub import get_hub

from .test_tab_socket import TabTestCase


class IdleSocketTests(TabTestCase):
    async def open_tab(self, user):
        """Open a tab socket; return it (its hello checked and read)."""
        tab, _hello = await super().open_tab(user)
        return tab

    async def settled_tasks(self) -> int:
        """Count the event loop's tasks once what the last frames started has ended."""
        await asyncio.sleep(0.05)
        return len(asyncio.all_tasks())

    async def test_each_idle_socket_adds_only_the_task_that_runs_it(self):
        # The first sockets start what the process shares: the hub, the login watch.
        first, _ = await self.join(self.alice)
        await self.open_tab(self.alice)
        before = await self.settled_tasks()

        bob, _ = await self.join(self.bob, others=(first,))
        sockets = [
            bob,
            await self.open_tab(self.bob),
            (await self.join(self.alice, "/ws/rooms/random/"))[0],
            await self.open_tab(self.bob),
        ]
        await self.assertQuiet(first, *sockets)

        # The communicator runs each socket's application in a task, as a server does.
        self.assertEqual(await self.settled_tasks() - before, len(sockets))

    async def test_idle_sockets_have_no_queue_in_the_channel_layer(self):
        first, _ = await self.join(self.alice)
        await self.join(self.bob, others=(first,))
        await self.open_tab(self.alice)
        await self.open_tab(self.bob)
        await self.settled_tasks()

        layer = get_channel_layer()
        # The queues of the channels received on: the in-process layer's, or Redis's.
        queues = layer.channels if isinstance(layer, InMemoryChannelLayer) else layer.receive_buffer
        self.assertLessEqual(set(queues), {get_hub(layer).channel_name})

    async def test_a_layer_failure_under_the_hub_closes_its_sockets_with_4503(self):
        room_socket, _ = await self.join(self.alice)
        tab = await self.open_tab(self.bob)
        hub = get_hub(get_channel_layer())
        layer = hub.receiver  # the layer instance the hub receives on
        receive = layer.receive
        failures = iter([ConnectionError("the layer is away")])

        async def failing_once(channel):
            for error in failures:
                raise error
            return await receive(channel)

        # Watched from before the send: over Redis the hub can fail while the send awaits.
        with (
            mock.patch.object(layer, "receive", failing_once),
            self.assertLogs("chat.realtime.hub", "WARNING"),
        ):
            # The hub's pending receive takes this, and its next one fails.
            await layer.send(hub.channel_name, {"type": "chat.event", "topic": "none"})
            await self.assertClosed(room_socket, 4503)
            await self.assertClosed(tab, 4503)
