"""A server process's connections to Redis: few, bounded, and shared.

redis-py's default pool opens a connection for every command that finds none free, up
to its cap (then it raises "Too many connections"), and keeps every connection it ever
opened. A burst of socket opens, each running a presence script and joining a group at
once, thus left a server process holding hundreds of idle connections. Here each pool is
a `BlockingConnectionPool`: at most `max_connections` (REDIS_MAX_CONNECTIONS), and a
command that finds them all busy waits up to `timeout` seconds (REDIS_POOL_TIMEOUT) for
one, then fails with ConnectionError as when Redis is away.

Each pool names its connections (CLIENT SETNAME), so that Redis's CLIENT LIST shows
which part of a process holds them: chat-layer, chat-presence, chat-cache,
chat-heartbeat.
"""

import threading

import redis
import redis.asyncio
from channels_redis.core import RedisChannelLayer
from django.core.cache.backends.redis import RedisCache
from django.utils.functional import cached_property


def async_pool(
    url: str, *, max_connections: int, timeout: float, **connection_options
) -> redis.asyncio.BlockingConnectionPool:
    """Return a bounded pool for redis.asyncio clients (of one event loop)."""
    return redis.asyncio.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=timeout, **connection_options
    )


def sync_pool(
    url: str, *, max_connections: int, timeout: float, **connection_options
) -> redis.BlockingConnectionPool:
    """Return a bounded pool for synchronous clients (shared by threads)."""
    return redis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=timeout, **connection_options
    )


class BoundedRedisChannelLayer(RedisChannelLayer):
    """channels_redis's layer on bounded pools.

    channels_redis makes one pool per host and event loop, with redis-py's default pool;
    here it is a blocking one. A host given by "address" takes "max_connections" and
    "timeout" (the wait for a free connection) besides redis-py's connection options.
    The layer's blocking pop holds one connection for up to `brpop_timeout` seconds: the
    cap must leave room for it.
    """

    def create_pool(self, index: int):
        host = dict(self.hosts[index])
        if "address" not in host:
            # Sentinel hosts: channels_redis's own pool.
            return super().create_pool(index)
        address = host.pop("address")
        return async_pool(
            address,
            max_connections=host.pop("max_connections"),
            timeout=host.pop("timeout"),
            **host,
        )


class SharedRedisCache(RedisCache):
    """Django's Redis cache with one client, and so one pool, per process.

    Django makes a cache object per thread and per asyncio task (`caches` is context-local,
    as most cache clients are not thread-safe), and each object makes a redis-py client
    with a pool of its own: every socket that touched the cache (a typing gate, a rate
    limit) held a Redis connection of its own while it was open. redis-py's synchronous
    clients are thread-safe: here every cache object of the process shares one. Give it a
    bounded pool in OPTIONS ("pool_class": "redis.BlockingConnectionPool").
    """

    _clients: dict[tuple, object] = {}
    _clients_lock = threading.Lock()

    @cached_property
    def _cache(self):
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with self._clients_lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = self._class(self._servers, **self._options)
                # Made now, under the lock: made on first use, two threads could each
                # make one and one pool would be dropped with its connections.
                client._get_connection_pool(write=True)
        return client
