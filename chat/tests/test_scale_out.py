"""Scale-out: two real daphne processes sharing PostgreSQL and Redis, and their faults.

Each test starts two `daphne myproject.asgi:application` processes (A and B) on
loopback ports, against the test database and the Redis of REDIS_URL, and drives
them with protocol-following clients over real WebSockets (chat/tests/live_client.py).
The fault tests kill a process, restart Redis, or stop PostgreSQL while the clients
talk, then check that nothing acknowledged was lost or stored twice and that every
client's view equals the database.

They run only on PostgreSQL with REDIS_URL set (`eval "$(.ci/services.sh start)"`);
elsewhere they skip, unless CHAT_SCALE_OUT_REQUIRED is set, which makes that a failure.
"""

import asyncio
import functools
import re
import sys
import time
from collections import Counter

import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connections
from django.test import Client, TransactionTestCase

from chat import services
from chat.models import Message

from .live_client import LiveClient
from .processes import (
    DaphneProcess,
    PostgresService,
    RedisService,
    daphne_env,
    missing_requirement,
    skip_or_fail,
)

# Presence in the daphne processes (processes.daphne_env): TTL 3 s, heartbeat and sweep 1 s.
PRESENCE_DEADLINE = 10
# Loggers through which the application reports the failures it handles (with a traceback).
APP_LOGGERS = ("chat.",)
# channels_redis receives a message, then removes it from its backup queue in a task whose
# failure nobody awaits (channels_redis/core.py, receive_single): when Redis goes away at
# that moment, asyncio logs "Task exception was never retrieved". Harmless noise.
CHANNELS_REDIS_CLEANER = re.compile(
    r"ERROR asyncio: Task exception was never retrieved\n.*RedisChannelLayer\._clean_receive_backup"
)


def _session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def closes_clients(test):
    """Close every live client of the test, whatever happens; show the logs if it fails."""

    @functools.wraps(test)
    async def wrapper(self):
        try:
            await test(self)
        except BaseException:
            self.failed = True
            for server in self.servers.values():
                print(
                    f"\n--- daphne {server.name} log (end; all of it in {server.log_file.name})"
                    f" ---\n{server.log()[-8000:]}",
                    file=sys.__stderr__,
                )
            raise
        finally:
            await asyncio.gather(*(client.close() for client in self.clients))

    return wrapper


class ScaleOutTestCase(TransactionTestCase):
    """Two daphne processes, A and B, and the helpers to talk to them."""

    users = ("alice", "bob", "carol", "dave")

    @classmethod
    def setUpClass(cls):
        reason = missing_requirement()
        if reason:
            skip_or_fail(f"scale-out tests {reason}")
        super().setUpClass()

    def setUp(self):
        self._forget_presence()
        env = daphne_env()
        self.servers = {name: DaphneProcess(name=name, env=env) for name in ("A", "B")}
        for server in self.servers.values():
            server.start()
            self.addCleanup(server.stop)
        for server in self.servers.values():
            server.wait_ready()
        self.accounts = {name: User.objects.create_user(name) for name in self.users}
        self.cookies = {name: _session_cookie(user) for name, user in self.accounts.items()}
        self.room = services.room_create(
            name=self._testMethodName[5:40], created_by=self.accounts["alice"]
        )
        self.clients: list[LiveClient] = []
        self.failed = False  # set when the test fails: then its logs are kept

    def tearDown(self):
        for server in self.servers.values():
            server.stop()
            if not self.failed:
                server.remove_log()

    @staticmethod
    def _forget_presence():
        # Room ids start again in every new test database: presence entries left in
        # Redis by an earlier run would otherwise be swept, and announced, in this one.
        client = redis.Redis.from_url(settings.REDIS_URL)
        try:
            keys = list(client.scan_iter("chat:presence:*"))
            if keys:
                client.delete(*keys)
        finally:
            client.close()

    # --- clients ----------------------------------------------------------------------

    def port(self, server: str) -> int:
        return self.servers[server].port

    async def connect(self, username: str, server: str, **options) -> LiveClient:
        """Open a client on a server; it falls back to the other one when this one is down."""
        other = "B" if server == "A" else "A"
        client = LiveClient(
            username=username,
            cookie=self.cookies[username],
            slug=self.room.slug,
            ports=[self.port(server), self.port(other)],
            **options,
        )
        self.clients.append(client)
        return await client.start()

    @staticmethod
    async def converse(clients: list[LiveClient], *, per_client: int, interval: float):
        """Every client sends `per_client` messages, one every `interval` seconds."""

        async def talk(client: LiveClient):
            for number in range(per_client):
                await client.send(f"{client.username} says {number}")
                await asyncio.sleep(interval)

        await asyncio.gather(*(talk(client) for client in clients))

    @staticmethod
    async def wait_sent(clients: list[LiveClient], count: int, within: float = 10):
        deadline = time.monotonic() + within
        while sum(len(client.sent) for client in clients) < count:
            assert time.monotonic() < deadline, f"fewer than {count} messages sent in time"
            await asyncio.sleep(0.02)

    # --- checks -----------------------------------------------------------------------

    def _stored(self) -> list[dict]:
        return list(
            Message.objects.filter(room=self.room).values(
                "id", "rev", "body", "deleted_at", "client_id", "author__username"
            )
        )

    async def check_nothing_lost(self, label: str, clients: list[LiveClient], **extra) -> dict:
        """Settle every client, then compare them all with the database; print the figures."""
        # All writes first (every outbox empty), then each client catches up with them all.
        await asyncio.gather(
            *(
                client.wait_until(lambda client=client: not client.view.outbox, 30, "acks")
                for client in clients
            )
        )
        await asyncio.gather(*(client.settle(within=30) for client in clients))
        rows = await sync_to_async(self._stored)()
        database = {
            row["id"]: (
                row["rev"],
                "" if row["deleted_at"] else row["body"],
                bool(row["deleted_at"]),
            )
            for row in rows
        }
        stored_ids = Counter((row["author__username"], row["client_id"]) for row in rows)
        figures = {
            "sent": sum(len(client.sent) for client in clients),
            "acknowledged": sum(len(client.view.acknowledged) for client in clients),
            "stored": len(rows),
            "delivered": min(
                len(database.keys() & client.view.messages.keys()) for client in clients
            ),
        }
        print(
            f"\n{label}: messages sent {figures['sent']} / acknowledged {figures['acknowledged']}"
            f" / stored {figures['stored']} / delivered {figures['delivered']}"
            + "".join(f"; {key} {value}" for key, value in extra.items()),
            file=sys.__stderr__,
        )
        self.assertEqual([key for key, count in stored_ids.items() if count > 1], [])
        for client in clients:
            self.assertEqual(client.view.outbox, {}, f"{client.username}: never acknowledged")
            for client_id in client.view.acknowledged:
                self.assertEqual(
                    stored_ids[(client.username, client_id)],
                    1,
                    f"{client.username}: acknowledged {client_id} is not stored once",
                )
            snapshot = client.view.snapshot()
            missing = sorted(database.keys() - snapshot.keys())
            self.assertEqual(
                snapshot,
                database,
                f"{client.username}'s view (rev {client.view.rev}) lacks {missing}",
            )
        self.assertEqual(figures["sent"], figures["acknowledged"])
        self.assertEqual(figures["acknowledged"], figures["stored"])
        self.assertEqual(figures["delivered"], figures["stored"])
        return figures

    def assert_clean_logs(self, **allowances):
        """No unhandled exception in any process; handled ones only where allowed."""
        for server in self.servers.values():
            problems = server.problems(**allowances)
            self.assertEqual(
                problems, [], f"daphne {server.name} logged failures:\n{server.log()[-20000:]}"
            )

    def handled_failures(self) -> str:
        """Count, per process, the failures the application logged as handled."""
        return ", ".join(
            f"{name} {server.count_records(loggers=APP_LOGGERS)}"
            for name, server in self.servers.items()
        )


class TwoProcessTests(ScaleOutTestCase):
    @closes_clients
    async def test_a_message_sent_through_one_process_reaches_a_client_of_the_other(self):
        alice = await self.connect("alice", "A")
        bob = await self.connect("bob", "B")
        self.assertEqual((alice.port, bob.port), (self.port("A"), self.port("B")))

        for sender, receiver in ((alice, bob), (bob, alice)):
            client_id = await sender.send(f"hello from {sender.username}")
            await sender.wait_until(
                lambda sender=sender, client_id=client_id: client_id in sender.view.acknowledged,
                5,
                "the acknowledgement",
            )
            (acknowledgement,) = [
                frame
                for frame in sender.frames_of("message.new")
                if frame["message"]["client_id"] == client_id
            ]
            message_id = acknowledgement["message"]["id"]
            await receiver.wait_until(
                lambda receiver=receiver, message_id=message_id: receiver.received_live(message_id),
                5,
                f"{sender.username}'s message, live",
            )
        await self.check_nothing_lost("two processes", [alice, bob])
        self.assert_clean_logs()

    @closes_clients
    async def test_presence_is_shared_by_the_two_processes(self):
        alice = await self.connect("alice", "A")
        bob = await self.connect("bob", "B")
        self.assertEqual(bob.hello["online"], ["alice", "bob"])
        await alice.wait_until(
            lambda: alice.frames_of("presence", user="bob", status="online"),
            5,
            "bob online",
        )
        self.assertEqual(
            alice.frames_of("presence", user="bob", status="online")[0]["online"], ["alice", "bob"]
        )
        await bob.close()
        await alice.wait_until(
            lambda: alice.frames_of("presence", user="bob", status="offline"),
            5,
            "bob offline",
        )
        self.assertEqual(
            alice.frames_of("presence", user="bob", status="offline")[0]["online"], ["alice"]
        )
        self.assert_clean_logs()


class ProcessDeathTests(ScaleOutTestCase):
    @closes_clients
    async def test_kill_9_of_a_process_loses_nothing_and_its_users_go_offline(self):
        alice = await self.connect("alice", "A")
        carol = await self.connect("carol", "A")
        bob = await self.connect("bob", "B")
        # dave is only ever on A and does not come back: B must notice that he left.
        dave = await self.connect("dave", "A", reconnect=False)
        await bob.wait_until(
            lambda: bob.frames_of("presence", user="dave", status="online"), 5, "dave online"
        )
        talkers = [alice, carol, bob]
        conversation = asyncio.ensure_future(self.converse(talkers, per_client=20, interval=0.15))
        try:
            await self.wait_sent(talkers, 20)
            self.servers["A"].kill()
            killed_at = time.monotonic()
            await asyncio.wait_for(asyncio.shield(conversation), 30)
        finally:
            conversation.cancel()
        await bob.wait_until(
            lambda: bob.frames_of("presence", user="dave", status="offline"),
            PRESENCE_DEADLINE - (time.monotonic() - killed_at),
            "dave offline after A died",
        )
        offline_at = next(
            at
            for at, _conn, frame in bob.frames
            if frame.get("type") == "presence"
            and (frame["user"], frame["status"]) == ("dave", "offline")
        )
        figures = await self.check_nothing_lost(
            "kill -9 of process A",
            talkers,
            **{
                "dave offline after": f"{offline_at - killed_at:.1f} s",
                "reconnects": sum(len(client.closes) for client in talkers),
                "recovered by sync": sum(client.view.recovered for client in talkers),
            },
        )
        self.assertGreater(figures["stored"], 0)
        # A's clients moved to B; the users who came back never looked offline.
        self.assertEqual({alice.port, carol.port}, {self.port("B")})
        self.assertIsNone(dave.port)
        for username in ("alice", "carol"):
            self.assertEqual(bob.frames_of("presence", user=username, status="offline"), [])
        self.assert_clean_logs()


class RedisRestartTests(ScaleOutTestCase):
    @closes_clients
    async def test_redis_restart_loses_nothing_and_live_delivery_comes_back(self):
        service = RedisService(settings.REDIS_URL)
        if reason := service.missing():
            skip_or_fail(reason)
        service.remember_command()
        self.addCleanup(service.ensure_running)
        alice = await self.connect("alice", "A")
        carol = await self.connect("carol", "A")
        bob = await self.connect("bob", "B")
        talkers = [alice, carol, bob]
        conversation = asyncio.ensure_future(self.converse(talkers, per_client=24, interval=0.15))
        try:
            await self.wait_sent(talkers, 15)
            await asyncio.to_thread(service.stop)
            await asyncio.sleep(2)
            await asyncio.to_thread(service.start)
            await asyncio.wait_for(asyncio.shield(conversation), 30)
        finally:
            conversation.cancel()
        await self.check_nothing_lost(
            "Redis restart",
            talkers,
            **{
                "closes": sum(len(client.closes) for client in talkers),
                "server errors": sum(len(client.frames_of("error")) for client in talkers),
                "recovered by sync": sum(client.view.recovered for client in talkers),
                "handled failures logged": self.handled_failures(),
                "channels_redis cleaner noise": sum(
                    server.count_records(pattern=CHANNELS_REDIS_CLEANER)
                    for server in self.servers.values()
                ),
            },
        )
        for server in self.servers.values():
            self.assertTrue(server.alive(), f"daphne {server.name} died")
        # The same processes deliver live again: A to B, B to A, and A to A.
        await self.assert_live_again(talkers)
        # Presence is right again: no socket from before the restart lingers as online.
        mark = len(alice.frames)
        await bob.close()
        await alice.wait_until(
            lambda: alice.frames_of("presence", since=mark, user="bob", status="offline"),
            PRESENCE_DEADLINE,
            "bob offline once his last socket closed",
        )
        self.assert_clean_logs(allowed_loggers=APP_LOGGERS, tolerated=(CHANNELS_REDIS_CLEANER,))

    async def assert_live_again(self, clients: list[LiveClient]):
        """Each client sends a message; every other one receives it live (not by sync)."""
        for client in clients:
            await client.wait_until(lambda client=client: client.ready, 10, "a connection")
        self.assertEqual(
            [client.port for client in clients],
            [self.port("A"), self.port("A"), self.port("B")],
            "the clients are back on their own processes",
        )
        for sender in clients:
            client_id = await sender.send(f"live again from {sender.username}")
            await sender.wait_until(
                lambda sender=sender, client_id=client_id: client_id in sender.view.acknowledged,
                10,
                "the acknowledgement",
            )
            message_id = next(
                message["id"]
                for message in sender.view.messages.values()
                if message["client_id"] == client_id
            )
            for receiver in clients:
                if receiver is not sender:
                    await receiver.wait_until(
                        lambda receiver=receiver, message_id=message_id: receiver.received_live(
                            message_id
                        ),
                        10,
                        f"{sender.username}'s message, live",
                    )


class DatabaseOutageTests(ScaleOutTestCase):
    @closes_clients
    async def test_database_outage_refuses_sends_then_loses_nothing(self):
        service = PostgresService()
        if reason := service.missing():
            skip_or_fail(reason)
        self.addCleanup(connections.close_all)
        self.addCleanup(service.ensure_running)
        alice = await self.connect("alice", "A")
        carol = await self.connect("carol", "A")
        bob = await self.connect("bob", "B")
        talkers = [alice, carol, bob]
        conversation = asyncio.ensure_future(self.converse(talkers, per_client=24, interval=0.15))
        try:
            await self.wait_sent(talkers, 15)
            await asyncio.to_thread(service.stop)
            down_at = time.monotonic()
            await asyncio.sleep(3)
            up_at = time.monotonic()
            await asyncio.to_thread(service.start)
            await asyncio.wait_for(asyncio.shield(conversation), 30)
        finally:
            conversation.cancel()
        # This process's connection died with the server.
        await sync_to_async(connections.close_all)()
        refused = [
            frame
            for client in talkers
            for frame in client.frames_of("error", code="server_error")
            if "client_id" in frame
        ]
        # While the database was away nothing was stored, so nothing was acknowledged
        # (half a second for answers already on their way when it stopped).
        during = [
            frame
            for client in talkers
            for at, _conn, frame in client.frames
            if down_at + 0.5 < at < up_at and frame.get("type") == "message.new"
        ]
        await self.check_nothing_lost(
            "PostgreSQL outage",
            talkers,
            **{
                "refused with server_error": len(refused),
                "closes": sum(len(client.closes) for client in talkers),
                "handled failures logged": self.handled_failures(),
            },
        )
        self.assertGreater(len(refused), 0, "no send was refused during the outage")
        self.assertEqual(during, [], "message.new arrived while the database was down")
        self.assert_clean_logs(allowed_loggers=APP_LOGGERS)
