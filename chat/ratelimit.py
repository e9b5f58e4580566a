"""A token bucket kept in Django's cache, so every process that shares the cache
shares the bucket."""

import threading
import time

from django.core.cache import cache

# The cache has no compare-and-set; within one process this lock makes the
# read-modify-write atomic.
_lock = threading.Lock()


def take_token(*, key: str, capacity: int, period: float, now: float | None = None) -> float:
    """Take one token from the bucket `key`; return 0 when allowed, else seconds to wait.

    The bucket holds `capacity` tokens and refills at `capacity / period` per second.
    """
    now = time.time() if now is None else now
    rate = capacity / period
    cache_key = f"ratelimit:{key}"
    with _lock:
        tokens, stamp = cache.get(cache_key) or (float(capacity), now)
        tokens = min(float(capacity), tokens + (now - stamp) * rate)
        if tokens < 1:
            return round((1 - tokens) / rate, 3)
        cache.set(cache_key, (tokens - 1, now), timeout=int(period) + 1)
        return 0.0
