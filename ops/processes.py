"""Which server processes are up, and how many sockets each one holds.

Every process publishes a heartbeat every OPS_HEARTBEAT_INTERVAL seconds: its name
(host:pid), its open sockets by protocol (ops.metrics' gauge), the queue of its database
thread, when it began publishing and when it last did. With Redis the heartbeats go in
one hash that every process reads; without it, in this process's memory (the only
process there is). A process silent for STALE_HEARTBEATS heartbeats is left out, and
removed by whoever reads: it stopped, or it can't reach the store.

Daphne sends an application no startup event (no ASGI lifespan), so a process starts
publishing with the first connection it serves: HeartbeatMiddleware wraps the ASGI
application. The compose health checks make that first connection within seconds.
"""

import asyncio
import logging
import os
import socket
import time
from dataclasses import asdict, dataclass

import orjson
from django.conf import settings

from . import metrics

logger = logging.getLogger(__name__)

STALE_HEARTBEATS = 3
# Connections of a process's heartbeat client to Redis, at most.
HEARTBEAT_CONNECTIONS = 4


@dataclass(frozen=True)
class Heartbeat:
    """One process's state as it last published it (times: Unix seconds)."""

    process: str
    sockets: dict[str, int]
    database_queue: int
    started_at: float
    updated_at: float

    @property
    def sockets_total(self) -> int:
        return sum(self.sockets.values())

    @classmethod
    def from_json(cls, raw: bytes | str) -> "Heartbeat":
        data = orjson.loads(raw)
        return cls(
            process=str(data["process"]),
            sockets={str(name): int(count) for name, count in data["sockets"].items()},
            database_queue=int(data["database_queue"]),
            started_at=float(data["started_at"]),
            updated_at=float(data["updated_at"]),
        )

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))


def process_name() -> str:
    """Return this process's name: host and pid (asked each time: the pid changes in a fork)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _gauge_values(gauge, label: str) -> dict[str, int]:
    return {
        sample.labels[label]: int(sample.value)
        for family in gauge.collect()
        for sample in family.samples
        if label in sample.labels
    }


def _gauge_value(gauge) -> int:
    return int(sum(sample.value for family in gauge.collect() for sample in family.samples))


# When each pid (a fork is a new process) published its first heartbeat.
_started_at: dict[int, float] = {}


def this_process(now: float | None = None) -> Heartbeat:
    """Return this process's heartbeat as of now."""
    now = time.time() if now is None else now
    return Heartbeat(
        process=process_name(),
        sockets=_gauge_values(metrics.SOCKETS_OPEN, "protocol"),
        database_queue=_gauge_value(metrics.DATABASE_QUEUE),
        started_at=_started_at.setdefault(os.getpid(), now),
        updated_at=now,
    )


def split_stale(
    heartbeats: list[Heartbeat], *, now: float, interval: float
) -> tuple[list[Heartbeat], list[Heartbeat]]:
    """Split heartbeats into (live, stale): stale when older than STALE_HEARTBEATS intervals.
    The live ones are sorted by process name."""
    oldest = now - STALE_HEARTBEATS * interval
    live = sorted((beat for beat in heartbeats if beat.updated_at >= oldest), key=_by_name)
    stale = [beat for beat in heartbeats if beat.updated_at < oldest]
    return live, stale


def _by_name(beat: Heartbeat) -> str:
    return beat.process


# --- where heartbeats are kept ------------------------------------------------------------


class LocalProcesses:
    """Heartbeats in this process's memory: without Redis there is one process."""

    def __init__(self):
        self.heartbeats: dict[str, Heartbeat] = {}

    async def publish(self, beat: Heartbeat) -> None:
        self.heartbeats[beat.process] = beat

    async def live(self, *, now: float | None = None) -> list[Heartbeat]:
        """Return the live processes' heartbeats; forget the stale ones."""
        now = time.time() if now is None else now
        live, stale = split_stale(
            list(self.heartbeats.values()), now=now, interval=settings.OPS_HEARTBEAT_INTERVAL
        )
        for beat in stale:
            self.heartbeats.pop(beat.process, None)
        return live


class RedisProcesses:
    """Heartbeats in one Redis hash, a field per process, seen by every process."""

    KEY = "ops:processes"

    def __init__(self, url: str):
        self.url = url
        self._clients = {}

    def _client(self):
        # A redis.asyncio client belongs to the event loop that created it.
        import redis.asyncio

        from chat.redis_pools import async_pool

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            # One pipeline per heartbeat and a read per dashboard snapshot: a few
            # connections, bounded (chat/redis_pools.py).
            client = redis.asyncio.Redis.from_pool(
                async_pool(
                    self.url,
                    max_connections=HEARTBEAT_CONNECTIONS,
                    timeout=settings.REDIS_POOL_TIMEOUT,
                    client_name="chat-heartbeat",
                    socket_timeout=settings.OPS_READY_TIMEOUT,
                    socket_keepalive=True,
                )
            )
            self._clients = {k: v for k, v in self._clients.items() if not k.is_closed()}
            self._clients[loop] = client
        return client

    async def publish(self, beat: Heartbeat) -> None:
        # The hash outlives its fields by a while, and goes once every process has stopped.
        key_ttl = max(60, int(STALE_HEARTBEATS * settings.OPS_HEARTBEAT_INTERVAL * 4))
        async with self._client().pipeline(transaction=False) as pipe:
            pipe.hset(self.KEY, beat.process, beat.to_json())
            pipe.expire(self.KEY, key_ttl)
            await pipe.execute()

    async def live(self, *, now: float | None = None) -> list[Heartbeat]:
        """Return the live processes' heartbeats; remove the stale ones from the hash."""
        now = time.time() if now is None else now
        client = self._client()
        heartbeats = []
        for field, raw in (await client.hgetall(self.KEY)).items():
            try:
                heartbeats.append(Heartbeat.from_json(raw))
            except (ValueError, KeyError, TypeError, AttributeError):
                # Not a heartbeat of this code (an older version's): drop it.
                await client.hdel(self.KEY, field)
        live, stale = split_stale(heartbeats, now=now, interval=settings.OPS_HEARTBEAT_INTERVAL)
        if stale:
            await client.hdel(self.KEY, *(beat.process for beat in stale))
        return live


_store = None


def get_processes():
    """Return the process's heartbeat store: Redis when configured, else memory."""
    global _store
    if _store is None:
        _store = RedisProcesses(settings.REDIS_URL) if settings.REDIS_URL else LocalProcesses()
    return _store


# --- publishing -----------------------------------------------------------------------------


class HeartbeatKeeper:
    """Publish this process's heartbeat every OPS_HEARTBEAT_INTERVAL, on each event loop
    that serves (uvicorn and daphne run one)."""

    def __init__(self):
        self._tasks: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}

    def ensure_running(self) -> None:
        """Start publishing on the running loop, unless it already does."""
        loop = asyncio.get_running_loop()
        task = self._tasks.get(loop)
        if task is None or task.done():
            self._tasks = {k: v for k, v in self._tasks.items() if not k.is_closed()}
            self._tasks[loop] = loop.create_task(self._keep())

    async def _keep(self):
        task = asyncio.current_task()
        # redis-py may turn a cancellation inside a command into a ConnectionError, which
        # publish_now logs: the task asks whether it was cancelled, or a loop closing
        # (each test's, or a server's at exit) would wait for it for ever.
        while not task.cancelling():
            await publish_now()
            if task.cancelling():
                return
            await asyncio.sleep(settings.OPS_HEARTBEAT_INTERVAL)


async def publish_now() -> None:
    """Publish this process's heartbeat; a store out of reach is logged, not raised."""
    try:
        await get_processes().publish(this_process())
    except Exception as error:
        logger.warning("Heartbeat not published: %s: %s", type(error).__name__, error)


heartbeat = HeartbeatKeeper()


class HeartbeatMiddleware:
    """ASGI middleware: make sure the process publishes its heartbeat, from its first
    connection on (HTTP or WebSocket)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        heartbeat.ensure_running()
        return await self.app(scope, receive, send)
