"""The Python client (client/chat_client), its CLI and the example bot, against a live daphne.

One daphne process (`python -m myproject.serve`) on a loopback port serves the test
database; the client signs in with an API token. The tests restart the server in the
middle of a tail, SIGSTOP it to check the heartbeat, and revoke a token under an open
socket. Every wait is bounded.
"""

import asyncio
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.test import Client as DjangoClient
from django.test import TransactionTestCase, override_settings

from api import services as token_services
from chat import services
from chat.models import Message

from . import processes
from .test_serve import served_database_url

CLIENT_DIR = Path(__file__).resolve().parents[2] / "client"
if str(CLIENT_DIR) not in sys.path:
    sys.path.insert(0, str(CLIENT_DIR))

from chat_client import (  # noqa: E402 (found through the path set above)
    AuthenticationError,
    Backoff,
    Client,
    Connected,
    Disconnected,
    MessageEvent,
    MessageNew,
    MessageUpdated,
    RoomNotFound,
    Settings,
)

# Quick heartbeats and reconnects, so that the tests stay short.
FAST = {"ping_interval": 0.5, "pong_timeout": 1.0, "open_timeout": 2.0, "gap_wait": 0.3}


def fast_settings() -> Settings:
    return Settings(**FAST, backoff=Backoff(base=0.1, cap=0.5))


class LiveServerTestCase(TransactionTestCase):
    """A daphne serving the test database, a room, and tokens for alice and bob."""

    def setUp(self):
        env = processes.daphne_env(
            DATABASE_URL=served_database_url(),
            # A token revoked in the database (no broadcast reaches this process from the
            # test's) is found by the periodic login check.
            CHAT_SESSION_CHECK_INTERVAL="0.5",
        )
        self.server = processes.DaphneProcess(name="client", env=env).start()
        self.addCleanup(self.server.remove_log)
        self.addCleanup(self.server.stop)
        self.alice = User.objects.create_user("alice")
        self.bob = User.objects.create_user("bob")
        self.room = services.room_create(name="General", created_by=self.alice)
        self.tokens = {
            user.username: token_services.token_create(user=user, name="tests", scope="write")
            for user in (self.alice, self.bob)
        }
        self.server.wait_ready()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def chat_client(self, username: str = "alice") -> Client:
        return Client(self.url, token=self.tokens[username][1], settings=fast_settings())

    def restart_server(self, *, while_down=None):
        """Stop the server, run `while_down`, start it again on the same port."""
        port = self.server.port
        self.server.stop()
        if while_down is not None:
            while_down()
        self.server = processes.DaphneProcess(name="client-2", env=self.server.env, port=port)
        self.server.start()
        self.addCleanup(self.server.remove_log)
        self.addCleanup(self.server.stop)
        self.server.wait_ready()

    def stored(self) -> list[tuple[int, str]]:
        return list(Message.objects.filter(room=self.room).order_by("id").values_list("id", "body"))


async def collect_until(room, predicate, within: float) -> list:
    """Read events until `predicate(events)` holds; fail after `within` seconds."""
    events = []
    deadline = time.monotonic() + within
    while not predicate(events):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out; events so far: {events}")
        try:
            events.append(await room.next_event(within=remaining))
        except TimeoutError:
            continue
    return events


def new_bodies(events) -> list[str]:
    return [event.message.body for event in events if isinstance(event, MessageNew)]


class ClientLibraryTests(LiveServerTestCase):
    @override_settings(CHAT_RATE_MESSAGES=1000)
    async def test_rooms_and_history_pages_with_a_token(self):
        for number in range(120):
            await sync_to_async(services.message_send)(
                room=self.room, author=self.bob, body=f"old {number}"
            )
        client = self.chat_client()
        rooms = await client.rooms()
        self.assertEqual([room["slug"] for room in rooms], ["general"])

        pages = [page async for page in client.history_pages("general", page_size=50)]
        self.assertEqual([len(page) for page in pages], [50, 50, 20])
        newest_first = [message.body async for message in client.history("general")]
        self.assertEqual(newest_first, [f"old {number}" for number in reversed(range(120))])
        limited = [message.body async for message in client.history("general", limit=3)]
        self.assertEqual(limited, ["old 119", "old 118", "old 117"])

    async def test_sending_the_same_client_id_twice_stores_one_message(self):
        client = self.chat_client()
        first = await client.send("general", "over http", client_id="same-1")
        again = await client.send("general", "over http, again", client_id="same-1")
        self.assertEqual(again.id, first.id)
        self.assertEqual(again.body, "over http")

        async with client.room("general") as room:
            sent = await asyncio.wait_for(room.send("on the socket", client_id="same-2"), 5)
        async with self.chat_client().room("general") as room:
            # A resend after a lost acknowledgement: the server answers with what it stored.
            repeat = await asyncio.wait_for(room.send("resent", client_id="same-2"), 5)
        self.assertEqual(repeat.id, sent.id)
        self.assertEqual(repeat.body, "on the socket")
        bodies = [body for _id, body in await sync_to_async(self.stored)()]
        self.assertEqual(bodies, ["over http", "on the socket"])

    async def test_a_tail_survives_a_server_restart_without_losing_or_repeating(self):
        bobs = self.chat_client("bob")
        async with self.chat_client().room("general") as room:
            await bobs.send("general", "before")
            events = await collect_until(room, lambda e: "before" in new_bodies(e), 5)

            def write_while_down():
                # Another path than the server: straight into the database.
                message, _ = services.message_send(room=self.room, author=self.bob, body="during 1")
                services.message_send(room=self.room, author=self.bob, body="during 2")
                services.message_edit(
                    room=self.room, user=self.bob, message_id=message["id"], body="during 1, edited"
                )

            await sync_to_async(self.restart_server)(while_down=write_while_down)
            # Written by this client while it may still be reconnecting: the outbox resends it.
            mine = room.send_nowait("from the tail's outbox")
            await bobs.send("general", "after")
            events += await collect_until(
                room,
                lambda e: "after" in new_bodies(e) and "from the tail's outbox" in new_bodies(e),
                20,
            )
            await asyncio.wait_for(asyncio.shield(mine.done), 5)

        self.assertTrue(any(isinstance(event, Disconnected) for event in events))
        self.assertTrue(any(isinstance(e, Connected) and e.reconnect for e in events))
        stored = await sync_to_async(self.stored)()
        news = [event.message for event in events if isinstance(event, MessageNew)]
        # Every stored message arrived once: nothing lost, nothing repeated. (In revision
        # order: "during 1" was edited after "during 2" was sent, so it comes after it.)
        ids = [message.id for message in news]
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(sorted(ids), [row[0] for row in stored])
        self.assertEqual(sorted(new_bodies(events)[1:3]), ["during 1, edited", "during 2"])
        self.assertEqual(
            len({(e.message.id, e.message.rev) for e in events if isinstance(e, MessageEvent)}),
            len([e for e in events if isinstance(e, MessageEvent)]),
        )
        revs = [e.message.rev for e in events if isinstance(e, MessageEvent)]
        self.assertEqual(revs, sorted(revs))
        self.assertEqual(len(stored), 5)

    async def test_a_live_edit_reaches_the_tail_as_an_update(self):
        client = self.chat_client()
        async with client.room("general") as room:
            message = await asyncio.wait_for(room.send("typo"), 5)
            await room.edit(message.id, "fixed")
            events = await collect_until(
                room, lambda e: any(isinstance(x, MessageUpdated) for x in e), 5
            )
        [updated] = [event for event in events if isinstance(event, MessageUpdated)]
        self.assertEqual((updated.message.id, updated.message.body), (message.id, "fixed"))

    async def test_a_revoked_token_stops_the_client_with_a_clear_error(self):
        client = self.chat_client()
        room = await client.room("general").start(within=5)
        try:
            token = self.tokens["alice"][0]
            await sync_to_async(token_services.token_revoke)(token=token, by=self.alice)
            with self.assertRaises(AuthenticationError) as caught:
                await collect_until(room, lambda e: False, 10)
            self.assertEqual(caught.exception.code, 4401)
            await asyncio.sleep(1)  # no retry: still one connection, the loop ended
            self.assertEqual(room.connections, 1)
            self.assertTrue(room._task.done())
        finally:
            await room.close()
        started = time.monotonic()
        with self.assertRaises(AuthenticationError):
            await client.room("general").start(within=10)
        self.assertLess(time.monotonic() - started, 5)
        with self.assertRaises(AuthenticationError):
            await client.rooms()

    async def test_a_room_that_does_not_exist_is_a_clear_error(self):
        with self.assertRaises(RoomNotFound):
            await self.chat_client().room("nowhere").start(within=10)

    async def test_the_heartbeat_notices_a_server_that_stopped_answering(self):
        async with self.chat_client().room("general") as room:
            os.kill(self.server.pid, signal.SIGSTOP)
            self.addCleanup(os.kill, self.server.pid, signal.SIGCONT)
            stopped = time.monotonic()
            events = await collect_until(
                room, lambda e: any(isinstance(x, Disconnected) for x in e), 10
            )
            noticed = time.monotonic() - stopped
            [gone] = [event for event in events if isinstance(event, Disconnected)]
            self.assertTrue(gone.dead)
            # Within a ping interval and the pong's timeout (and the watch's tick).
            self.assertLess(noticed, FAST["ping_interval"] + FAST["pong_timeout"] + 1)
            os.kill(self.server.pid, signal.SIGCONT)
            await collect_until(
                room, lambda e: any(isinstance(x, Connected) and x.reconnect for x in e), 15
            )


class SeveralServersTests(LiveServerTestCase):
    """A client given the URLs of a deployment's processes, the first of them down."""

    async def test_sockets_and_requests_go_on_to_the_server_that_answers(self):
        dead = f"http://127.0.0.1:{processes.free_port()}"
        client = Client([dead, self.url], token=self.tokens["alice"][1], settings=fast_settings())
        self.assertEqual([room["slug"] for room in await client.rooms()], ["general"])
        frames, attempts = [], []
        room = client.room(
            "general",
            on_frame=lambda direction, frame: frames.append((direction, frame)),
            on_attempt=attempts.append,
        )
        async with room:
            self.assertEqual(room.server, self.url)
            stored = await asyncio.wait_for(room.send("through the second"), 5)
        self.assertEqual((attempts[0].server, attempts[0].opened), (dead, False))
        self.assertEqual((attempts[1].server, attempts[1].greeted), (self.url, True))
        received = [frame["type"] for direction, frame in frames if direction == "received"]
        self.assertEqual(received[0], "hello")
        self.assertIn("message.new", received)
        [sent] = [frame for direction, frame in frames if direction == "sent"]
        self.assertEqual((sent["type"], sent["body"]), ("message.send", "through the second"))
        self.assertEqual(sent["client_id"], stored.client_id)

    async def test_a_browser_session_sends_each_server_its_own_origin(self):
        page = DjangoClient()
        await sync_to_async(page.force_login)(self.alice)
        dead = f"http://127.0.0.1:{processes.free_port()}"
        cookie = page.cookies["sessionid"].value
        client = Client([dead, self.url], session_cookie=cookie, settings=fast_settings())
        # An Origin of the first server would be refused (HTTP 403: a final refusal).
        async with client.room("general") as room:
            self.assertEqual(room.server, self.url)
            self.assertEqual(room.me["username"], "alice")


class CommandLineTests(LiveServerTestCase):
    def run_cli(
        self, *args: str, token: str | None = None, within: float = 20, stdin: str | None = None
    ):
        env = {
            **os.environ,
            "PYTHONPATH": str(CLIENT_DIR),
            "CHAT_URL": self.url,
            "CHAT_TOKEN": token if token is not None else self.tokens["alice"][1],
        }
        return subprocess.run(
            [sys.executable, "-m", "chat_client.cli", *args],
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=within,
            check=False,
        )

    def test_send_exits_0_only_when_stored(self):
        result = self.run_cli("send", "general", "hello from the shell")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual([body for _id, body in self.stored()], ["hello from the shell"])

        refused = self.run_cli("send", "nowhere", "lost")
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("not_found", refused.stderr)
        empty = self.run_cli("send", "general", "   ")
        self.assertNotEqual(empty.returncode, 0)
        self.assertIn("empty", empty.stderr)
        bad_token = self.run_cli("send", "general", "lost", token="chat_nope")
        self.assertNotEqual(bad_token.returncode, 0)
        self.assertIn("token", bad_token.stderr)
        self.assertEqual(len(self.stored()), 1)

    def test_history_as_json(self):
        for number in range(5):
            services.message_send(room=self.room, author=self.bob, body=f"line {number}")
        result = self.run_cli("history", "general", "--limit", "3", "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        messages = json.loads(result.stdout)
        self.assertEqual([m["body"] for m in messages], ["line 2", "line 3", "line 4"])
        self.assertEqual(messages[0]["author"]["username"], "bob")

    def test_the_interactive_mode_sends_the_lines_typed(self):
        result = self.run_cli("general", "-n", "0", stdin="first line\n\nsecond line\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual([body for _id, body in self.stored()], ["first line", "second line"])
        self.assertIn("alice: first line", result.stdout)

    def test_rooms(self):
        result = self.run_cli("rooms")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("general", result.stdout)

    def test_tail_prints_messages_as_they_arrive(self):
        services.message_send(room=self.room, author=self.bob, body="earlier")
        env = {
            **os.environ,
            "PYTHONPATH": str(CLIENT_DIR),
            "CHAT_URL": self.url,
            "CHAT_TOKEN": self.tokens["alice"][1],
        }
        tail = subprocess.Popen(
            [sys.executable, "-m", "chat_client.cli", "tail", "general", "-n", "1"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.addCleanup(tail.wait, 10)
        self.addCleanup(tail.kill)
        out, err = LineReader(tail.stdout), LineReader(tail.stderr)
        self.assertIn("earlier", out.next(15))
        self.assertIn("following #general", err.next(15))
        bob = self.chat_client("bob")
        asyncio.run(bob.send("general", "live one"))
        line = out.next(10)
        self.assertIn("bob", line)
        self.assertIn("live one", line)

        # A restart: what was written meanwhile, and after, is printed once each, in order.
        self.restart_server(
            while_down=lambda: services.message_send(
                room=self.room, author=self.bob, body="while it was down"
            )
        )
        asyncio.run(bob.send("general", "after the restart"))
        lines = [out.next(30), out.next(30)]
        self.assertIn("while it was down", lines[0])
        self.assertIn("after the restart", lines[1])
        self.assertEqual(tail.poll(), None)


class BotTests(LiveServerTestCase):
    def bot_says(self, predicate, within: float) -> list[str]:
        deadline = time.monotonic() + within
        while True:
            said = list(
                Message.objects.filter(room=self.room, author=self.alice)
                .order_by("id")
                .values_list("body", flat=True)
            )
            if predicate(said):
                return said
            if time.monotonic() > deadline:
                raise AssertionError(f"the bot said only {said}\n{self.server.log()[-3000:]}")
            time.sleep(0.05)

    def test_the_bot_answers_ping_and_reminds(self):
        env = {
            **os.environ,
            "PYTHONPATH": str(CLIENT_DIR),
            "CHAT_URL": self.url,
            "CHAT_TOKEN": self.tokens["alice"][1],
        }
        bot = subprocess.Popen(
            [sys.executable, str(CLIENT_DIR / "examples" / "bot.py"), "general"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.addCleanup(bot.wait, 10)
        self.addCleanup(bot.kill)
        self.assertIn("listening in #general", LineReader(bot.stderr).next(15))
        bob = self.chat_client("bob")

        asyncio.run(bob.send("general", "!ping"))
        self.assertEqual(self.bot_says(lambda said: said, 10), ["pong"])

        asyncio.run(bob.send("general", "!remind soon stretch"))
        said = self.bot_says(lambda said: len(said) == 2, 10)
        self.assertTrue(said[1].startswith("Usage: !remind"), said)

        asked = time.monotonic()
        asyncio.run(bob.send("general", "!remind 1s stretch"))
        said = self.bot_says(lambda said: len(said) == 4, 15)
        self.assertGreaterEqual(time.monotonic() - asked, 1)
        self.assertEqual(said[2], "@bob okay, I will remind you in 1 second.")
        self.assertEqual(said[3], "⏰ @bob: stretch")


class LineReader:
    """The lines of a child's pipe, read by a thread (a selector on the pipe would miss
    lines already in the stream's buffer)."""

    def __init__(self, stream):
        self.lines: queue.Queue[str] = queue.Queue()
        thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        thread.start()

    def _pump(self, stream):
        for line in stream:
            self.lines.put(line)

    def next(self, within: float) -> str:
        """Return the next line, failing after `within` seconds."""
        try:
            return self.lines.get(timeout=within)
        except queue.Empty:
            raise AssertionError(f"no line within {within} s") from None
