"""A server process's connections to PostgreSQL and Redis stay few under a burst.

One real daphne process (as in test_scale_out.py) takes a burst of socket opens, typing
and page loads, while a thread samples, from /proc, the process's own TCP connections to
PostgreSQL and to Redis. The database is reached through Django's connection pool
(DATABASE_POOL_*), Redis through bounded pools (REDIS_MAX_CONNECTIONS,
chat/redis_pools.py): a burst waits for a connection instead of opening more, and
nothing is left open beyond the pools' sizes afterwards.

Then this (the test) process's own pool: across a restart of PostgreSQL, and in a forked
child (myproject/postgresql/base.py); and Django's cache objects sharing one Redis client.

PostgreSQL and Redis only (`eval "$(.ci/services.sh start)"`); elsewhere they skip.
"""

import asyncio
import contextlib
import json
import os
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import redis
import websockets
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import caches
from django.db import connection, connections
from django.test import Client, SimpleTestCase, TransactionTestCase

from chat import services
from ops.processes import HEARTBEAT_CONNECTIONS

from .processes import (
    DaphneProcess,
    PostgresService,
    daphne_env,
    missing_requirement,
    skip_or_fail,
)

# The pools' sizes given to the process under test: small, so that a burst exceeds them.
POOL_MAX = 3
REDIS_CAP = 4
# The process's Redis pools: the channel layer's (two instances: the hub receives on
# one of its own), presence's (async and sync), the cache's, and the heartbeat's.
REDIS_POOLS_BOUND = 5 * REDIS_CAP + HEARTBEAT_CONNECTIONS
REDIS_CLIENT_NAMES = {
    "chat-layer": 2 * REDIS_CAP,
    "chat-presence": 2 * REDIS_CAP,
    "chat-cache": REDIS_CAP,
    "chat-heartbeat": HEARTBEAT_CONNECTIONS,
}
USERS = 10
SOCKETS = 240
PAGE_LOADS = 60
CONCURRENCY = 80


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            link = fd.readlink().as_posix()
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    return inodes


def tcp_connections(pid: int, remote_port: int) -> set[int]:
    """Return the local ports of the process's established TCP connections to a port."""
    inodes = _socket_inodes(pid)
    ports = set()
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
                if (
                    state == "01"
                    and inode in inodes
                    and int(remote.rsplit(":")[1], 16) == (remote_port)
                ):
                    ports.add(int(local.rsplit(":")[1], 16))
    return ports


class ConnectionSampler:
    """Sample a process's connections to some ports in a thread: the most at once, and
    every connection seen (by its local port)."""

    def __init__(self, pid: int, ports: dict[str, int], every: float = 0.005):
        self.pid, self.ports, self.every = pid, ports, every
        self.most = dict.fromkeys(ports, 0)
        self.seen: dict[str, set[int]] = {name: set() for name in ports}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self):
        while not self._stop.is_set():
            for name, port in self.ports.items():
                now = tcp_connections(self.pid, port)
                self.most[name] = max(self.most[name], len(now))
                self.seen[name] |= now
            self._stop.wait(self.every)


class ConnectionBoundsTests(TransactionTestCase):
    @classmethod
    def setUpClass(cls):
        reason = missing_requirement()
        if reason:
            skip_or_fail(f"connection bound tests {reason}")
        super().setUpClass()

    def setUp(self):
        self.accounts = [User.objects.create_user(f"user{n}") for n in range(USERS)]
        self.cookies = [self._session_cookie(user) for user in self.accounts]
        self.room = services.room_create(name="Burst", created_by=self.accounts[0])
        env = daphne_env(
            DATABASE_POOL="1",
            DATABASE_POOL_MIN="1",
            DATABASE_POOL_MAX=str(POOL_MAX),
            REDIS_MAX_CONNECTIONS=str(REDIS_CAP),
            CHAT_MAX_SOCKETS_PER_USER="1000",
            CHAT_RATE_JOINS="100000",
        )
        self.server = DaphneProcess(name="bounds", env=env).start()
        self.addCleanup(self.server.stop)
        self.server.wait_ready()
        self.failed = True  # until the test ends well: then its log is removed

    def tearDown(self):
        self.server.stop()
        if not self.failed:
            self.server.remove_log()

    @staticmethod
    def _session_cookie(user) -> str:
        client = Client()
        client.force_login(user)
        return client.cookies["sessionid"].value

    def _ports(self) -> dict[str, int]:
        return {
            "postgresql": int(connection.settings_dict["PORT"] or 5432),
            "redis": urlsplit(settings.REDIS_URL).port or 6379,
        }

    # --- the burst ------------------------------------------------------------------------

    async def _open(self, number: int) -> websockets.ClientConnection:
        """Open a tab (even numbers) or a room socket (odd), wait for its hello; a room
        socket also says it is typing."""
        port = self.server.port
        path = "/ws/" if number % 2 == 0 else f"/ws/rooms/{self.room.slug}/"
        cookie = self.cookies[number % USERS]
        ws = await websockets.connect(
            f"ws://127.0.0.1:{port}{path}",
            additional_headers={
                "Origin": f"http://127.0.0.1:{port}",
                "Cookie": f"sessionid={cookie}",
            },
            open_timeout=30,
        )
        first = json.loads(await asyncio.wait_for(ws.recv(), 30))
        self.assertEqual(first["type"], "hello", first)
        if path != "/ws/":
            await ws.send(json.dumps({"type": "typing", "active": True}))
        return ws

    def _load_page(self, number: int) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.server.port}/",
            headers={"Cookie": f"sessionid={self.cookies[number % USERS]}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return response.status

    async def _burst(self) -> list[int]:
        """Open SOCKETS sockets, CONCURRENCY at a time, while PAGE_LOADS pages load
        from threads; close them all; return the pages' statuses."""
        gate = asyncio.Semaphore(CONCURRENCY)

        async def open_one(number):
            async with gate:
                return await self._open(number)

        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=CONCURRENCY // 2) as threads:
            pages = [
                loop.run_in_executor(threads, self._load_page, number)
                for number in range(PAGE_LOADS)
            ]
            sockets = await asyncio.gather(*(open_one(number) for number in range(SOCKETS)))
            statuses = await asyncio.gather(*pages)
        await asyncio.sleep(0.5)  # the typing gates, on their way
        await asyncio.gather(*(ws.close() for ws in sockets))
        return statuses

    def _redis_clients_of_server(self) -> list[dict]:
        ports = tcp_connections(self.server.pid, self._ports()["redis"])
        client = redis.Redis.from_url(settings.REDIS_URL)
        try:
            return [
                entry
                for entry in client.client_list()
                if int(entry["addr"].rsplit(":", 1)[1]) in ports
            ]
        finally:
            client.close()

    # --- the tests --------------------------------------------------------------------------

    async def test_bursts_use_at_most_the_pools_connections_and_keep_no_more(self):
        ports = self._ports()
        with ConnectionSampler(self.server.pid, ports) as sampler:
            for _burst in range(2):
                statuses = await self._burst()
                self.assertEqual(statuses, [200] * PAGE_LOADS)
                await asyncio.sleep(1)  # every socket's goodbye: presence, groups
            kept = tcp_connections(self.server.pid, ports["postgresql"])

        # PostgreSQL: never more at once than the pool's size, and the same few reused
        # from one burst to the next (without the pool each call of a socket, and each
        # request, opens a connection; with persistent connections each thread keeps one).
        self.assertLessEqual(sampler.most["postgresql"], POOL_MAX, sampler.most)
        self.assertLessEqual(len(sampler.seen["postgresql"]), POOL_MAX, sampler.seen)
        self.assertGreaterEqual(len(kept), 1, "the pool keeps its min_size open")

        # Redis: within the pools' caps during the bursts, and after them.
        self.assertLessEqual(sampler.most["redis"], REDIS_POOLS_BOUND, sampler.most)
        after = await asyncio.to_thread(self._redis_clients_of_server)
        self.assertLessEqual(len(after), REDIS_POOLS_BOUND, after)
        by_name: dict[str, int] = {}
        for entry in after:
            by_name[entry["name"]] = by_name.get(entry["name"], 0) + 1
        for name, count in by_name.items():
            self.assertIn(name, REDIS_CLIENT_NAMES, f"an unnamed pool: {after}")
            self.assertLessEqual(count, REDIS_CLIENT_NAMES[name], by_name)
        print(
            f"\nconnections at most {sampler.most}, PostgreSQL's seen "
            f"{len(sampler.seen['postgresql'])}, Redis's after {by_name}"
        )
        self.assertEqual(self.server.problems(), [], self.server.log()[-20000:])
        self.failed = False


class PoolOfThisProcessTests(TransactionTestCase):
    """The pool of this (the test) process: across a restart of PostgreSQL, and in a
    forked child (myproject/postgresql/base.py)."""

    IDLE = 4

    def setUp(self):
        reason = missing_requirement()
        if reason:
            skip_or_fail(f"the pool restart test {reason}")
        if connection.pool is None:
            self.skipTest("the connection pool is off (DATABASE_POOL=0)")

    def _fill_pool(self):
        """Leave IDLE connections idle in the pool: as many threads each take one at once."""
        together = threading.Barrier(self.IDLE)

        def hold():
            try:
                connection.ensure_connection()
                together.wait(timeout=10)
            finally:
                connection.close()

        threads = [threading.Thread(target=hold) for _ in range(self.IDLE)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        connections.close_all()
        self.assertGreaterEqual(connection.pool.get_stats()["pool_available"], self.IDLE)

    def test_the_first_query_after_a_restart_gets_a_live_connection_at_once(self):
        service = PostgresService()
        if reason := service.missing():
            skip_or_fail(reason)
        self.addCleanup(service.ensure_running)
        self._fill_pool()
        service.stop()
        service.start()
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            self.assertEqual(cursor.fetchone(), (1,))
        took = time.monotonic() - started
        connection.close()
        # Django's own check would try the dead idle connections one by one, sleeping
        # 0, 1, 2 s between them: past the pool's timeout with this many.
        self.assertLess(took, 1.0)

    @staticmethod
    def _backend_pids() -> set[int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            pids = {pid for (pid,) in cursor.fetchall()}
        connection.close()
        return pids

    def test_a_forked_child_makes_its_own_pool_and_leaves_the_parents_alone(self):
        self._fill_pool()
        parents = self._backend_pids()
        self.assertGreaterEqual(len(parents), self.IDLE)
        reading, writing = os.pipe()
        child = os.fork()
        if child == 0:  # the child: one query, its backend's pid to the parent, no cleanup
            code = 1
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    os.write(writing, str(cursor.fetchone()[0]).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(writing)
        with os.fdopen(reading) as answer:
            childs = answer.read()
        _pid, status = os.waitpid(child, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        # A connection of its own, not one of the parent's idle ones...
        self.assertNotIn(int(childs), parents)
        # ...and the parent's all still serve it: none was found broken and replaced.
        self._fill_pool()
        self.assertEqual(self._backend_pids() - {int(childs)}, parents)


class SharedCacheTests(SimpleTestCase):
    """Django makes a cache object per thread and per asyncio task: with Redis they all
    share one client, and so one bounded pool (chat/redis_pools.py, SharedRedisCache)."""

    def setUp(self):
        if not settings.REDIS_URL:
            self.skipTest("the cache is Redis only with REDIS_URL")

    def test_tasks_and_threads_share_one_redis_client(self):
        async def client_of_a_task(number):
            await caches["default"].aset(f"shared-cache-test:{number}", number, timeout=5)
            return caches["default"], caches["default"]._cache

        async def tasks():
            return await asyncio.gather(*(client_of_a_task(n) for n in range(20)))

        def client_of_a_thread(_number):
            return caches["default"], caches["default"]._cache

        # In a thread of its own: its tasks start from an empty context, with no cache
        # object yet.
        with ThreadPoolExecutor(max_workers=1) as thread:
            in_tasks = thread.submit(asyncio.run, tasks()).result()
        with ThreadPoolExecutor(max_workers=5) as threads:
            in_threads = list(threads.map(client_of_a_thread, range(5)))
        # Django's cache objects are many, as ever...
        self.assertEqual(len({id(cache) for cache, _client in in_tasks}), 20)
        # ...their client one.
        clients = {id(client) for _cache, client in in_tasks + in_threads}
        self.assertEqual(len(clients), 1)
