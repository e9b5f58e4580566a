"""The in-process channel layer, for a single server process (no REDIS_URL)."""

import time

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer

from ops import metrics


class LocalChannelLayer(InMemoryChannelLayer):
    """channels' in-memory layer, without its per-call sweep.

    The stock layer walks every channel and every group membership on each receive and
    each group send, so its cost per message grows with the sockets open in the process.
    Expiry is measured in seconds (`expiry`, `group_expiry`): sweeping at most once per
    `sweep_interval` seconds keeps it as exact as anyone can observe.
    """

    def __init__(self, *args, sweep_interval: float = 1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.sweep_interval = sweep_interval
        self._next_sweep = 0.0

    def _clean_expired(self):
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.sweep_interval
        super()._clean_expired()

    async def group_send(self, group, message):
        """Send to each channel of the group; a full channel misses this message only."""
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        # send() never waits (put_nowait): no task per member is needed.
        for channel in list(self.groups.get(group, ())):
            try:
                await self.send(channel, message)
            except ChannelFull:
                metrics.layer_error("full")
