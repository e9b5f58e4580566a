"""A token bucket kept in Django's cache, so every process that shares the cache
shares the bucket.

On Redis the bucket is updated by one Lua script, atomic across processes and
timed by the Redis server's clock. Other caches (the in-process default) have no
compare-and-set, so a lock makes the update atomic within the process.
"""

import logging
import math
import threading
import time

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

from .errors import RateLimited

logger = logging.getLogger(__name__)

_lock = threading.Lock()

# KEYS[1] bucket; ARGV capacity, refill rate per second, key ttl.
# Returns "0" when a token was taken, else the seconds until one is available.
_TAKE_TOKEN = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or capacity
local stamp = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - stamp) * rate)
if tokens < 1 then
  return tostring((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'stamp', tostring(now))
redis.call('EXPIRE', KEYS[1], ARGV[3])
return '0'
"""


def take_token(*, key: str, capacity: int, period: float) -> float:
    """Take one token from the bucket `key`; return 0 when allowed, else seconds to wait.

    The bucket holds `capacity` tokens and refills at `capacity / period` per second.
    """
    rate = capacity / period
    cache = caches["default"]
    cache_key = f"ratelimit:{key}"
    ttl = int(period) + 1
    if isinstance(cache, RedisCache):
        redis_key = cache.make_and_validate_key(cache_key)
        try:
            client = cache._cache.get_client(redis_key, write=True)
            wait = float(client.eval(_TAKE_TOKEN, 1, redis_key, capacity, rate, ttl))
        except RedisError:
            # Fail open: while Redis is away, sending matters more than throttling.
            logger.warning("Rate limit unavailable; allowing %s.", key, exc_info=True)
            return 0.0
        return round(wait, 3)
    now = time.monotonic()
    with _lock:
        tokens, stamp = cache.get(cache_key) or (float(capacity), now)
        tokens = min(float(capacity), tokens + (now - stamp) * rate)
        if tokens < 1:
            return round((1 - tokens) / rate, 3)
        cache.set(cache_key, (tokens - 1, now), timeout=ttl)
        return 0.0


def wait_in_words(seconds: float) -> str:
    """Say a wait in whole minutes, rounded up: "1 minute", "15 minutes"."""
    minutes = max(1, math.ceil(seconds / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def require_token(*, key: str, capacity: int, period: float, refusal: str) -> None:
    """Take one token from the bucket `key`, or raise RateLimited saying `refusal`, in
    which `{wait}` becomes the wait in words."""
    retry_after = take_token(key=key, capacity=capacity, period=period)
    if retry_after:
        detail = refusal.format(wait=wait_in_words(retry_after))
        raise RateLimited(detail, retry_after=retry_after)
