"""The room WebSocket, driven through the real ASGI application (origin check,
session authentication, routing) with channels' WebsocketCommunicator."""

import asyncio
import contextlib
import functools
import inspect
import json
import threading
from unittest import mock

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError
from django.test import Client, TransactionTestCase, override_settings

from chat import services
from chat.models import Membership, Message, Room
from chat.realtime import presence
from chat.realtime.hub import get_hub
from myproject.asgi import application

from .factories import add_member, make_message, make_messages, make_room, make_user, session_cookie

ORIGIN = b"http://localhost"
TIMEOUT = 3  # generous: a slow machine must not fail a correct server
QUIET = 0.2  # how long "receives nothing" waits


def _closing_sockets(test):
    """Disconnect every communicator a test opened, even when the test fails."""

    @functools.wraps(test)
    async def wrapper(self, *args, **kwargs):
        self.communicators = []
        try:
            await test(self, *args, **kwargs)
        except BaseException:
            # Report the test's own failure, not a follow-up one while closing.
            for communicator in self.communicators:
                with contextlib.suppress(BaseException):
                    await communicator.disconnect()
            raise
        # After a pass, a crash of the application surfaces here.
        for communicator in self.communicators:
            await communicator.disconnect()
        hub = get_hub(get_channel_layer())
        self.assertEqual((hub.topics, hub._tasks), ({}, []), "the hub outlived its sockets")

    return wrapper


class SocketTestCase(TransactionTestCase):
    """Base class: users, a room, and helpers that open sockets and read frames.

    TransactionTestCase, not TestCase: the consumer reads and writes through other
    connections and threads, which must see committed rows.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            if name.startswith("test") and inspect.iscoroutinefunction(value):
                setattr(cls, name, _closing_sockets(value))

    def setUp(self):
        cache.clear()  # rate-limit buckets
        presence._store = None  # who is online, kept in this process
        async_to_sync(get_channel_layer().flush)()
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.room = make_room("General")
        self.cookies = {}
        self.login(self.alice, self.bob)

    def login(self, *users):
        """Give the users a session (sync: call it before the async part of a test)."""
        for user in users:
            self.cookies[user.pk] = session_cookie(user)

    # --- sockets ----------------------------------------------------------------------

    def communicator(self, user=None, path="/ws/rooms/general/", *, origin=ORIGIN, cookie=None):
        headers = []
        if origin is not None:
            headers.append((b"origin", origin))
        if user is not None:
            cookie = self.cookies[user.pk]
        if cookie is not None:
            headers.append((b"cookie", cookie))
        communicator = WebsocketCommunicator(application, path, headers=headers)
        self.communicators.append(communicator)
        return communicator

    async def connect(self, user=None, path="/ws/rooms/general/", **kwargs):
        """Open a socket that the server accepts (it may close it at once after)."""
        communicator = self.communicator(user, path, **kwargs)
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        self.assertTrue(connected)
        return communicator

    async def join(self, user, path="/ws/rooms/general/", *, others=()):
        """Enter a room as the user's first socket there; return (socket, hello).

        Everyone already in the room (`others`) and the socket itself hear that the
        user is online; those presence frames are read here.
        """
        communicator = await self.connect(user, path)
        hello = await self.expect(communicator, "hello")
        for socket in (communicator, *others):
            await self.expect(socket, "presence", user=user.username, status="online")
        return communicator, hello

    async def expect(self, communicator, frame_type: str, **fields) -> dict:
        """Read the next frame; it must be of this type and have these field values."""
        frame = await communicator.receive_json_from(timeout=TIMEOUT)
        self.assertEqual(frame.get("type"), frame_type, msg=frame)
        for name, value in fields.items():
            self.assertEqual(frame.get(name), value, msg=f"{name} in {frame}")
        return frame

    async def expect_error(self, communicator, code: str, **fields) -> dict:
        return await self.expect(communicator, "error", code=code, **fields)

    async def assertQuiet(self, *communicators):
        """None of the sockets receives anything for a while."""
        quiet = await asyncio.gather(*(c.receive_nothing(timeout=QUIET) for c in communicators))
        self.assertEqual(quiet, [True] * len(communicators))

    async def assertClosed(self, communicator, code: int):
        self.assertEqual(
            await communicator.receive_output(timeout=TIMEOUT),
            {"type": "websocket.close", "code": code},
        )

    async def assertStillOpen(self, communicator):
        await communicator.send_json_to({"type": "ping", "t": "still-open"})
        await self.expect(communicator, "pong", t="still-open")

    async def send(self, communicator, **frame):
        await communicator.send_json_to(frame)

    @contextlib.asynccontextmanager
    async def database_thread_busy(self):
        """Keep the one thread that runs all database work busy for the block."""
        release = threading.Event()
        busy = asyncio.ensure_future(database_sync_to_async(release.wait)(TIMEOUT * 4))
        await asyncio.sleep(0.05)  # the thread is now waiting on `release`
        try:
            yield
        finally:
            release.set()
            await busy

    # --- database ---------------------------------------------------------------------

    @database_sync_to_async
    def count_messages(self, **filters) -> int:
        return Message.objects.filter(**filters).count()

    @database_sync_to_async
    def room_rev(self, slug="general") -> int:
        return Room.objects.get(slug=slug).rev


class HandshakeTestCase(SocketTestCase):
    async def test_missing_origin_is_refused(self):
        connected, _ = await self.communicator(self.alice, origin=None).connect(timeout=TIMEOUT)
        self.assertFalse(connected)

    async def test_foreign_origin_is_refused_even_with_a_session(self):
        for origin in [b"http://evil.test", b"https://localhost.evil.test", b"null"]:
            connected, _ = await self.communicator(self.alice, origin=origin).connect(
                timeout=TIMEOUT
            )
            self.assertFalse(connected, msg=origin)

    async def test_allowed_origin_with_a_port_is_accepted(self):
        communicator = await self.connect(self.alice, origin=b"http://localhost:8000")
        await self.expect(communicator, "hello")

    async def test_anonymous_is_closed_4401(self):
        communicator = await self.connect()
        await self.assertClosed(communicator, 4401)

    async def test_ended_session_is_closed_4401(self):
        client = Client()
        await database_sync_to_async(client.force_login)(self.alice)
        cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
        await database_sync_to_async(client.logout)()
        communicator = await self.connect(cookie=cookie)
        await self.assertClosed(communicator, 4401)

    async def test_unknown_room_is_closed_4404(self):
        communicator = await self.connect(self.alice, "/ws/rooms/nothing-here/")
        await self.assertClosed(communicator, 4404)

    async def test_paths_that_match_no_route_are_closed_4404(self):
        for path in ["/ws/nothing/", "/ws/rooms/Not_A_Slug/", "/ws/rooms/general", "/", "/ws"]:
            communicator = await self.connect(self.alice, path)
            # A close, not "Exception inside application": receive_output would raise it.
            await self.assertClosed(communicator, 4404)

    async def test_private_room_closes_for_non_members_like_a_missing_room(self):
        # 4404, as for a room that does not exist: a non-member can't tell them apart.
        await database_sync_to_async(make_room)("Secret", is_private=True)
        communicator = await self.connect(self.alice, "/ws/rooms/secret/")
        await self.assertClosed(communicator, 4404)
        membership = await database_sync_to_async(
            Membership.objects.filter(room__slug="secret").exists
        )()
        self.assertFalse(membership)

    async def test_private_room_admits_members(self):
        room = await database_sync_to_async(make_room)("Secret", is_private=True)
        await database_sync_to_async(add_member)(room, self.alice)
        _, hello = await self.join(self.alice, "/ws/rooms/secret/")
        self.assertIs(hello["room"]["private"], True)

    async def test_banned_user_is_closed_4403(self):
        await database_sync_to_async(add_member)(self.room, self.alice, banned=True)
        communicator = await self.connect(self.alice)
        await self.assertClosed(communicator, 4403)

    async def test_hello(self):
        await database_sync_to_async(make_messages)(self.room, self.bob, 3)
        await database_sync_to_async(Room.objects.filter(pk=self.room.pk).update)(topic="Hi")
        await self.join(self.bob)
        alice = await self.connect(self.alice)
        hello = await alice.receive_json_from(timeout=TIMEOUT)
        # The protocol may gain fields; those it documents must be exactly these.
        expected = {
            "type": "hello",
            "protocol": 1,
            "room": {
                "slug": "general",
                "name": "General",
                "topic": "Hi",
                "private": False,
                "archived": False,
                "kind": "room",
            },
            "me": {
                "id": self.alice.pk,
                "username": "alice",
                "staff": False,
                "role": None,
                "muted": False,
                "muted_until": None,
                "can_moderate": False,
                "can_manage_roles": False,
            },
            "online": ["alice", "bob"],
            "rev": 3,
            "limits": {
                "body_max": 4000,
                "frame_max": 16384,
                "messages_per_10s": 10,
                "upload_max_bytes": settings.CHAT_UPLOAD_MAX_BYTES,
                "upload_types": settings.CHAT_UPLOAD_TYPES,
                "attachments_max": settings.CHAT_ATTACHMENTS_MAX,
            },
        }
        self.assertEqual({name: hello.get(name) for name in expected}, expected)
        # Reading a public room does not make a member of it; posting does.
        is_member = database_sync_to_async(
            Membership.objects.filter(room=self.room, user=self.alice).exists
        )
        self.assertFalse(await is_member())
        await self.expect(alice, "presence", user="alice")
        await alice.send_json_to({"type": "message.send", "client_id": "c-1", "body": "hi"})
        await self.expect(alice, "message.new")
        self.assertTrue(await is_member())

    async def test_hello_tells_staff_and_archived(self):
        staff = await database_sync_to_async(make_user)("staff", is_staff=True)
        await database_sync_to_async(self.login)(staff)
        await database_sync_to_async(Room.objects.filter(pk=self.room.pk).update)(is_archived=True)
        _, hello = await self.join(staff)
        self.assertIs(hello["me"]["staff"], True)
        self.assertIs(hello["room"]["archived"], True)


class MessageTestCase(SocketTestCase):
    def setUp(self):
        super().setUp()
        self.carol = make_user("carol")
        self.login(self.carol)
        make_room("Other")

    async def test_message_reaches_the_room_and_the_sender_once(self):
        alice, _ = await self.join(self.alice)
        bob, _ = await self.join(self.bob, others=[alice])
        carol, _ = await self.join(self.carol, "/ws/rooms/other/")
        await self.send(alice, type="message.send", client_id="c-1", body="  hello bob ")
        mine = await self.expect(alice, "message.new")
        theirs = await self.expect(bob, "message.new")
        self.assertEqual(mine, theirs)
        message = mine["message"]
        self.assertEqual(message["body"], "hello bob")
        self.assertEqual(message["client_id"], "c-1")
        self.assertEqual(
            message["author"], {"id": self.alice.pk, "username": "alice", "display_name": ""}
        )
        self.assertEqual(message["room"], "general")
        self.assertEqual(message["rev"], 1)
        # The sender's broadcast copy is skipped; the other room hears nothing.
        await self.assertQuiet(alice, bob, carol)
        self.assertEqual(await self.count_messages(room=self.room, body="hello bob"), 1)

    async def test_repeated_client_id_answers_the_sender_alone(self):
        alice, _ = await self.join(self.alice)
        bob, _ = await self.join(self.bob, others=[alice])
        await self.send(alice, type="message.send", client_id="c-1", body="hello")
        first = await self.expect(alice, "message.new")
        await self.expect(bob, "message.new")
        await self.send(alice, type="message.send", client_id="c-1", body="hello")
        again = await self.expect(alice, "message.new")
        self.assertEqual(again["message"], first["message"])
        await self.assertQuiet(alice, bob)
        self.assertEqual(await self.count_messages(), 1)
        self.assertEqual(await self.room_rev(), 1)

    async def test_edit_is_broadcast_as_message_updated(self):
        message = await database_sync_to_async(make_message)(self.room, self.alice, "typo")
        alice, _ = await self.join(self.alice)
        bob, _ = await self.join(self.bob, others=[alice])
        await self.send(alice, type="message.edit", id=message.pk, body="fixed")
        mine = await self.expect(alice, "message.updated")
        theirs = await self.expect(bob, "message.updated")
        self.assertEqual(mine, theirs)
        self.assertEqual(
            (mine["message"]["id"], mine["message"]["body"], mine["message"]["rev"]),
            (message.pk, "fixed", 2),
        )
        self.assertIsNotNone(mine["message"]["edited_at"])
        await self.assertQuiet(alice, bob)
        self.assertEqual(await self.count_messages(body="fixed"), 1)

    async def test_delete_is_broadcast_as_message_deleted(self):
        message = await database_sync_to_async(make_message)(self.room, self.alice, "oops")
        alice, _ = await self.join(self.alice)
        bob, _ = await self.join(self.bob, others=[alice])
        await self.send(alice, type="message.delete", id=message.pk)
        mine = await self.expect(alice, "message.deleted")
        theirs = await self.expect(bob, "message.deleted")
        self.assertEqual(mine, theirs)
        self.assertEqual(
            (mine["message"]["id"], mine["message"]["body"], mine["message"]["deleted"]),
            (message.pk, "", True),
        )
        await self.assertQuiet(alice, bob)
        self.assertEqual(await self.count_messages(deleted_at__isnull=False), 1)

    async def test_staff_deletes_someone_elses_message(self):
        message = await database_sync_to_async(make_message)(self.room, self.alice, "spam")
        staff = await database_sync_to_async(make_user)("staff", is_staff=True)
        await database_sync_to_async(self.login)(staff)
        alice, _ = await self.join(self.alice)
        moderator, _ = await self.join(staff, others=[alice])
        await self.send(moderator, type="message.delete", id=message.pk)
        await self.expect(moderator, "message.deleted")
        frame = await self.expect(alice, "message.deleted")
        self.assertEqual(frame["message"]["id"], message.pk)


class ErrorTestCase(SocketTestCase):
    """Every error code over the socket: an error frame, nothing stored, socket open."""

    async def test_bad_json(self):
        alice, _ = await self.join(self.alice)
        for text in ["{", "not json", '{"type": "ping",}']:
            await alice.send_to(text_data=text)
            await self.expect_error(alice, "bad_json")
        await self.assertStillOpen(alice)

    async def test_frames_without_database_work_do_not_wait_for_the_database_thread(self):
        # All database work of a process runs on one thread; a bad frame (or a typing
        # frame) must be answered while that thread is busy with someone's query.
        alice, _ = await self.join(self.alice)
        async with self.database_thread_busy():
            await alice.send_to(text_data="{")
            await self.expect_error(alice, "bad_json")
        await self.assertStillOpen(alice)

    async def test_a_closing_socket_finishes_without_waiting_for_the_database_thread(self):
        alice, _ = await self.join(self.alice)
        bob, _ = await self.join(self.bob, others=[alice])
        async with self.database_thread_busy():
            await bob.disconnect()
            await self.expect(alice, "presence", user="bob", status="offline")

    async def test_bad_frames(self):
        alice, _ = await self.join(self.alice)
        frames = [
            [],  # not an object
            "message.send",
            {"type": "nonsense"},  # unknown type
            {"type": "chat.frame", "text": '{"type":"hello"}'},  # a server-side handler
            {"body": "no type"},
            {"type": "message.send", "client_id": "c-1"},  # missing field
            {"type": "message.edit", "body": "x"},
            {"type": "message.delete", "id": "12"},  # wrongly typed fields
            {"type": "message.delete", "id": True},
            {"type": "typing", "active": "yes"},
            {"type": "sync", "since": -1},
            {"type": "history", "limit": 500},
        ]
        with self.assertNoLogs("chat", "ERROR"):
            for frame in frames:
                await alice.send_to(text_data=json.dumps(frame))
                await self.expect_error(alice, "bad_frame")
            await alice.send_to(bytes_data=b'{"type": "ping"}')
            await self.expect_error(alice, "bad_frame")
            await self.assertStillOpen(alice)
        self.assertEqual(await self.count_messages(), 0)

    async def test_invalid_unicode_is_a_bad_frame_not_a_server_error(self):
        alice, _ = await self.join(self.alice)
        with self.assertNoLogs("chat", "ERROR"):
            await alice.send_to(
                text_data='{"type": "message.send", "client_id": "c-1", "body": "a\\ud800"}'
            )
            # Not server_error, which tells a client to resend the same thing forever.
            await self.expect_error(alice, "bad_frame", client_id="c-1")
            await alice.send_to(text_data='{"type": "ping", "t": "\\udc00"}')
            await self.expect_error(alice, "bad_frame")
        self.assertEqual(await self.count_messages(), 0)

    async def test_a_client_cannot_spoof_a_broadcast(self):
        alice, _ = await self.join(self.alice)
        bob, _ = await self.join(self.bob, others=[alice])
        await self.send(alice, type="chat.frame", text='{"type":"message.new"}')
        await self.expect_error(alice, "bad_frame")
        await self.assertQuiet(bob)

    async def test_empty_and_too_long(self):
        alice, _ = await self.join(self.alice)
        await self.send(alice, type="message.send", client_id="c-1", body=" \n ")
        await self.expect_error(alice, "empty", client_id="c-1")
        await self.send(alice, type="message.send", client_id="c-2", body="x" * 4001)
        await self.expect_error(alice, "too_long", client_id="c-2")
        await alice.send_to(text_data=json.dumps({"type": "ping", "t": "x" * 16384}))
        await self.expect_error(alice, "too_long")
        await self.assertStillOpen(alice)
        self.assertEqual(await self.count_messages(), 0)
        self.assertEqual(await self.room_rev(), 0)

    async def test_rate_limited(self):
        alice, _ = await self.join(self.alice)
        for i in range(10):
            await self.send(alice, type="message.send", client_id=f"c-{i}", body=f"message {i}")
            await self.expect(alice, "message.new")
        await self.send(alice, type="message.send", client_id="c-10", body="too fast")
        error = await self.expect_error(alice, "rate_limited", client_id="c-10")
        self.assertGreater(error["retry_after"], 0)
        self.assertLessEqual(error["retry_after"], 10)
        await self.assertStillOpen(alice)
        self.assertEqual(await self.count_messages(), 10)

    async def test_not_found_and_forbidden(self):
        bobs = await database_sync_to_async(make_message)(self.room, self.bob, "bob's")
        alice, _ = await self.join(self.alice)
        await self.send(alice, type="message.edit", id=10**9, body="x")
        await self.expect_error(alice, "not_found")
        await self.send(alice, type="message.delete", id=10**9)
        await self.expect_error(alice, "not_found")
        await self.send(alice, type="message.edit", id=bobs.pk, body="mine now")
        await self.expect_error(alice, "forbidden")
        await self.send(alice, type="message.delete", id=bobs.pk)
        await self.expect_error(alice, "forbidden")
        await self.assertStillOpen(alice)
        self.assertEqual(await self.count_messages(body="bob's", deleted_at=None), 1)
        self.assertEqual(await self.room_rev(), 1)

    async def test_room_archived(self):
        await database_sync_to_async(Room.objects.filter(pk=self.room.pk).update)(is_archived=True)
        alice, _ = await self.join(self.alice)
        await self.send(alice, type="message.send", client_id="c-1", body="hello?")
        await self.expect_error(alice, "room_archived", client_id="c-1")
        await self.assertStillOpen(alice)
        self.assertEqual(await self.count_messages(), 0)

    async def test_refused_actions_do_not_count_as_bad_frames(self):
        alice, _ = await self.join(self.alice)
        for _ in range(25):
            await self.send(alice, type="message.send", body=" ")
            await self.expect_error(alice, "empty")
        await self.assertStillOpen(alice)

    async def test_more_than_20_bad_frames_close_4400(self):
        alice, _ = await self.join(self.alice)
        for _ in range(20):
            await alice.send_to(text_data="{")
            await self.expect_error(alice, "bad_json")
        await self.assertStillOpen(alice)
        await alice.send_to(text_data=json.dumps({"type": "nonsense"}))
        await self.expect_error(alice, "bad_frame")
        await self.assertClosed(alice, 4400)


class TypingTestCase(SocketTestCase):
    async def test_typing_goes_to_others_only_and_is_throttled(self):
        alice, _ = await self.join(self.alice)
        bob, _ = await self.join(self.bob, others=[alice])
        await self.send(alice, type="typing", active=True)
        await self.expect(bob, "typing", user="alice", active=True)
        await self.send(alice, type="typing", active=True)  # within 2 s: dropped
        await self.assertQuiet(alice, bob)
        # "Stopped typing" always passes, so an indicator is never left stuck.
        await self.send(alice, type="typing", active=False)
        await self.expect(bob, "typing", user="alice", active=False)
        await self.assertQuiet(alice, bob)

    async def test_typing_throttle_is_per_user_across_tabs(self):
        alice, _ = await self.join(self.alice)
        alice_again = await self.connect(self.alice)
        await self.expect(alice_again, "hello")
        bob, _ = await self.join(self.bob, others=[alice, alice_again])
        await self.send(alice, type="typing", active=True)
        await self.expect(bob, "typing", user="alice", active=True)
        await self.send(alice_again, type="typing", active=True)
        await self.assertQuiet(alice, alice_again, bob)
        # Another user has a gate of their own.
        await self.send(bob, type="typing", active=True)
        for socket in (alice, alice_again):
            await self.expect(socket, "typing", user="bob", active=True)

    async def test_typing_is_not_echoed_to_the_senders_other_tabs(self):
        alice, _ = await self.join(self.alice)
        alice_again = await self.connect(self.alice)
        await self.expect(alice_again, "hello")
        bob, _ = await self.join(self.bob, others=[alice, alice_again])
        await self.send(alice, type="typing", active=True)
        await self.expect(bob, "typing", user="alice", active=True)
        await self.assertQuiet(alice, alice_again)


class PresenceTestCase(SocketTestCase):
    async def test_a_second_tab_is_not_a_second_join(self):
        bob, _ = await self.join(self.bob)
        tab1, hello = await self.join(self.alice, others=[bob])
        self.assertEqual(hello["online"], ["alice", "bob"])
        tab2 = await self.connect(self.alice)
        hello = await self.expect(tab2, "hello", online=["alice", "bob"])
        await self.assertQuiet(bob, tab1, tab2)
        await tab1.disconnect()
        await self.assertQuiet(bob, tab2)
        await tab2.disconnect()
        await self.expect(bob, "presence", user="alice", status="offline", online=["bob"])
        await self.assertQuiet(bob)

    async def test_online_presence_carries_the_sorted_list(self):
        bob, _ = await self.join(self.bob)
        alice = await self.connect(self.alice)
        await self.expect(alice, "hello")
        for socket in (alice, bob):
            await self.expect(
                socket, "presence", user="alice", status="online", online=["alice", "bob"]
            )

    async def test_a_refused_socket_is_never_online(self):
        await database_sync_to_async(add_member)(self.room, self.alice, banned=True)
        bob, _ = await self.join(self.bob)
        alice = await self.connect(self.alice)
        await self.assertClosed(alice, 4403)
        await self.assertQuiet(bob)
        await alice.disconnect()
        await self.assertQuiet(bob)


class HistoryTestCase(SocketTestCase):
    def setUp(self):
        super().setUp()
        self.messages = make_messages(self.room, self.bob, 60)

    async def test_history_pages(self):
        alice, _ = await self.join(self.alice)
        await self.send(alice, type="history", limit=10)
        page = await self.expect(alice, "history", has_more=True)
        self.assertEqual([m["id"] for m in page["messages"]], [m.pk for m in self.messages[-10:]])
        await self.send(alice, type="history", before=page["messages"][0]["id"], limit=10)
        page = await self.expect(alice, "history", has_more=True)
        self.assertEqual(
            [m["id"] for m in page["messages"]], [m.pk for m in self.messages[-20:-10]]
        )
        await self.send(alice, type="history", before=self.messages[3].pk)
        page = await self.expect(alice, "history", has_more=False)
        self.assertEqual(
            [m["body"] for m in page["messages"]], ["message 000", "message 001", "message 002"]
        )

    async def test_history_default_limit_is_50(self):
        alice, _ = await self.join(self.alice)
        await self.send(alice, type="history")
        page = await self.expect(alice, "history", has_more=True)
        self.assertEqual(len(page["messages"]), 50)
        self.assertEqual(page["messages"][-1]["body"], "message 059")


class SyncTestCase(SocketTestCase):
    def setUp(self):
        super().setUp()
        self.messages = make_messages(self.room, self.bob, 5)  # revs 1..5
        # What a client holding rev 5 missed: an edit, a deletion, a new message.
        services.message_edit(
            room=self.room, user=self.bob, message_id=self.messages[0].pk, body="edited"
        )
        services.message_delete(room=self.room, user=self.bob, message_id=self.messages[1].pk)
        self.new = make_message(self.room, self.bob, "new")

    def assertMissed(self, frame):
        self.assertEqual(
            [(m["id"], m["rev"], m["body"], m["deleted"]) for m in frame["messages"]],
            [
                (self.messages[0].pk, 6, "edited", False),
                (self.messages[1].pk, 7, "", True),
                (self.new.pk, 8, "new", False),
            ],
        )
        self.assertEqual((frame["rev"], frame["complete"]), (8, True))

    async def test_since_on_connect(self):
        alice = await self.connect(self.alice, "/ws/rooms/general/?since=5")
        await self.expect(alice, "hello", rev=8)
        self.assertMissed(await self.expect(alice, "sync"))
        await self.expect(alice, "presence", user="alice", status="online")
        await self.assertQuiet(alice)

    async def test_sync_frame(self):
        alice, _ = await self.join(self.alice)
        await self.send(alice, type="sync", since=5)
        self.assertMissed(await self.expect(alice, "sync"))
        await self.send(alice, type="sync", since=8)
        await self.expect(alice, "sync", messages=[], rev=8, complete=True)

    @override_settings(CHAT_SYNC_BATCH=3)
    async def test_sync_in_batches(self):
        alice = await self.connect(self.alice, "/ws/rooms/general/?since=0")
        await self.expect(alice, "hello", rev=8)
        first = await self.expect(alice, "sync", rev=5, complete=False)
        # One batch per request: nothing more comes until the client asks again.
        await self.expect(alice, "presence", user="alice", status="online")
        await self.assertQuiet(alice)
        await self.send(alice, type="sync", since=first["rev"])
        second = await self.expect(alice, "sync", rev=8, complete=True)
        # Revisions 1 and 2 were overwritten by the edit and the deletion.
        self.assertEqual([m["rev"] for m in first["messages"]], [3, 4, 5])
        self.assertEqual([m["rev"] for m in second["messages"]], [6, 7, 8])

    async def test_bad_since_is_an_error_not_a_refusal(self):
        alice = await self.connect(self.alice, "/ws/rooms/general/?since=abc")
        frames = [await alice.receive_json_from(timeout=TIMEOUT) for _ in range(3)]
        by_type = {frame["type"]: frame for frame in frames}
        self.assertEqual(set(by_type), {"error", "hello", "presence"})
        self.assertEqual(by_type["error"]["code"], "bad_frame")
        self.assertEqual(by_type["hello"]["rev"], 8)
        await self.assertQuiet(alice)  # and no sync


class PingTestCase(SocketTestCase):
    async def test_pong_echoes_t(self):
        alice, _ = await self.join(self.alice)
        for t in [12345, "abc", {"nested": [1, None, True]}, None]:
            await self.send(alice, type="ping", t=t)
            await self.expect(alice, "pong", t=t)
        await alice.send_to(text_data='{"type": "ping"}')
        await self.expect(alice, "pong", t=None)

    async def test_pong_carries_the_room_revision(self):
        await database_sync_to_async(make_messages)(self.room, self.bob, 2)
        alice, _ = await self.join(self.alice)
        await self.send(alice, type="ping", t=1)
        await self.expect(alice, "pong", t=1, rev=2)
        # A change whose broadcast never reached this socket still shows in the next pong.
        await database_sync_to_async(make_message)(self.room, self.bob)
        await self.send(alice, type="ping", t=2)
        await self.expect(alice, "pong", t=2, rev=3)


class DatabaseOutageAtHandshakeTests(TransactionTestCase):
    """A handshake while the database is down is refused with a code that says: retry."""

    async def test_session_lookup_failure_closes_with_4503_not_an_exception(self):
        communicator = WebsocketCommunicator(
            application,
            "/ws/rooms/general/",
            headers=[(b"origin", b"http://localhost"), (b"cookie", b"sessionid=abc")],
        )
        with mock.patch("channels.auth.get_user", side_effect=OperationalError("db down")):
            connected, _ = await communicator.connect()
            self.assertTrue(connected)
            self.assertEqual(
                await communicator.receive_output(timeout=TIMEOUT),
                {"type": "websocket.close", "code": 4503},
            )
        await communicator.disconnect()


@override_settings(CHAT_MAX_SOCKETS_PER_USER=2)
class SocketCapTests(SocketTestCase):
    """A user may hold only so many sockets at once, across rooms."""

    def setUp(self):
        super().setUp()
        make_room("Other")

    async def test_a_socket_over_the_cap_is_closed_with_4429_and_frees_nothing(self):
        first, _ = await self.join(self.alice)
        second = await self.connect(self.alice, "/ws/rooms/other/")
        await self.expect(second, "hello")
        third = self.communicator(self.alice)
        connected, _ = await third.connect(timeout=TIMEOUT)
        self.assertTrue(connected)
        await self.assertClosed(third, 4429)
        await third.disconnect()
        # The refused socket took no place: closing one of the two lets a new one in.
        await second.disconnect()
        again = await self.connect(self.alice, "/ws/rooms/other/")
        await self.expect(again, "hello")
        await self.expect(again, "presence", user="alice", status="online")
        await self.assertStillOpen(first)
        await self.assertStillOpen(again)
