"""A channel layer that loses, repeats and reorders group messages, for tests.

The real layers are best-effort too (a full channel drops, a Redis restart loses
everything in flight); this one misbehaves on purpose, from a seeded schedule,
so that tests can show the protocol repairs whatever the layer does.
"""

import asyncio
import random
from collections import Counter

from channels.layers import InMemoryChannelLayer


class FaultyChannelLayer(InMemoryChannelLayer):
    """An in-memory layer whose group_send drops, duplicates and delays per recipient."""

    def __init__(self, drop=0.0, duplicate=0.0, delay=0.0, max_delay=0.05, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.configure(drop=drop, duplicate=duplicate, delay=delay, max_delay=max_delay, seed=seed)

    def configure(self, *, drop=0.0, duplicate=0.0, delay=0.0, max_delay=0.05, seed=0):
        """Set a new fault schedule and reset the counters."""
        self.drop, self.duplicate, self.delay, self.max_delay = drop, duplicate, delay, max_delay
        self.random = random.Random(seed)
        self.counts = Counter()
        self._delayed: set[asyncio.Task] = set()

    async def group_send(self, group, message):
        self.require_valid_group_name(group)
        for channel in list(self.groups.get(group, {})):
            self.counts["addressed"] += 1
            if self.random.random() < self.drop:
                self.counts["dropped"] += 1
                continue
            copies = 2 if self.random.random() < self.duplicate else 1
            self.counts["duplicated"] += copies - 1
            for _ in range(copies):
                if self.random.random() < self.delay:
                    self.counts["delayed"] += 1
                    wait = self.random.uniform(0, self.max_delay)
                    task = asyncio.create_task(self._send_later(wait, channel, message))
                    self._delayed.add(task)
                    task.add_done_callback(self._delayed.discard)
                else:
                    await self._send_quietly(channel, message)

    async def _send_later(self, wait, channel, message):
        await asyncio.sleep(wait)
        await self._send_quietly(channel, message)

    async def _send_quietly(self, channel, message):
        try:
            await self.send(channel, message)
        except Exception:  # a full channel drops, as the real layers do
            self.counts["dropped_full"] += 1

    async def settle(self):
        """Wait until every delayed message has been delivered."""
        while self._delayed:
            await asyncio.gather(*list(self._delayed), return_exceptions=True)
