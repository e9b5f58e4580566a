"""The heartbeat task ends when its loop cancels it, even when the store swallows the
cancellation (redis-py turns one inside a command into a ConnectionError)."""

import asyncio
from unittest import mock

from django.test import SimpleTestCase

from ops import processes


class SwallowingStore:
    """A store whose publish hangs until cancelled, then raises what redis-py raises."""

    def __init__(self):
        self.published = 0

    async def publish(self, beat):
        self.published += 1
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise ConnectionError("Connection closed by server.") from None


class HeartbeatCancellationTests(SimpleTestCase):
    def test_a_cancelled_heartbeat_ends_even_if_the_store_swallows_it(self):
        store = SwallowingStore()

        async def run():
            keeper = processes.HeartbeatKeeper()
            keeper.ensure_running()
            [task] = keeper._tasks.values()
            await asyncio.sleep(0.05)  # inside publish, waiting
            task.cancel()
            await asyncio.wait_for(asyncio.shield(task), timeout=2)
            return task

        with (
            mock.patch.object(processes, "get_processes", return_value=store),
            self.assertLogs("ops.processes", "WARNING"),
        ):
            task = asyncio.run(run())
        self.assertTrue(task.done())
        self.assertEqual(store.published, 1)
