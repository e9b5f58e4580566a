"""A socket's own allowance of expensive requests, kept in the socket (no shared state)."""

import time


class RequestBucket:
    """A socket's allowance of expensive requests (sync, history): a small token bucket.

    A client that asks faster than it reads would otherwise make the server build
    answers without bound; past the allowance it gets `rate_limited` and no query runs.
    """

    __slots__ = ("burst", "per_second", "stamp", "tokens")  # one per socket

    def __init__(self, *, burst: int, per_second: float):
        self.burst, self.per_second = burst, per_second
        self.tokens, self.stamp = float(burst), time.monotonic()

    def take(self) -> float:
        """Take a token; return 0 when allowed, else the seconds until one is available."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.per_second)
        self.stamp = now
        if self.tokens < 1:
            return round((1 - self.tokens) / self.per_second, 3)
        self.tokens -= 1
        return 0.0
