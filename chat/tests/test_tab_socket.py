"""The tab socket (protocol 2, `/ws/`): one socket for every room of its user.

The promise tested throughout: a tab that applies the frames it is sent to its `hello`
holds what a fresh fetch answers (GET /api/rooms/ and GET /api/notifications/), for
sends, edits that add or drop a mention, deletes, bans and leaving; and after an outage
the next `hello` is that fresh fetch.
"""

from channels.db import database_sync_to_async
from django.conf import settings
from django.test import override_settings

from chat import selectors, services, snapshot
from chat.models import Membership
from chat.realtime import presence
from notifications import selectors as inbox_selectors
from notifications import state as inbox_state

from .factories import add_member, make_room, make_user
from .test_consumers import TIMEOUT, SocketTestCase

TAB = "/ws/"


class TabTestCase(SocketTestCase):
    def setUp(self):
        super().setUp()
        self.random = make_room("Random")
        for room in (self.room, self.random):
            add_member(room, self.alice)
            add_member(room, self.bob)

    async def open_tab(self, user):
        """Open a tab socket; return (socket, hello)."""
        socket = await self.connect(user, TAB)
        return socket, await self.expect(socket, "hello", protocol=2)

    async def frames(self, socket, count: int) -> list[dict]:
        return [await socket.receive_json_from(timeout=TIMEOUT) for _ in range(count)]

    @database_sync_to_async
    def fresh(self, user) -> tuple[dict, dict]:
        """What a client fetching now gets: its rooms by slug, and its inbox."""
        rooms = {room["slug"]: room for room in selectors.member_rooms(user=user)}
        return rooms, inbox_selectors.hello_inbox(user=user)

    def applied(self, hello: dict, frames: list[dict], me: int) -> tuple[dict, dict]:
        """Apply frames to a hello as a client does; return (rooms, inbox)."""
        rooms = {room["slug"]: room for room in hello["rooms"]}
        inbox = hello["inbox"]
        for frame in frames:
            data = {name: value for name, value in frame.items() if name != "type"}
            rooms = snapshot.apply_event(rooms, frame["type"], data, me=me)
            inbox = inbox_state.apply_event(inbox, frame["type"], data)
        return rooms, inbox

    async def assertCurrent(self, user, hello, frames):
        rooms, inbox = self.applied(hello, frames, user.pk)
        fresh_rooms, fresh_inbox = await self.fresh(user)
        self.assertEqual(rooms, fresh_rooms)
        self.assertEqual(inbox["unread"], fresh_inbox["unread"])
        self.assertEqual(inbox["notifications"], fresh_inbox["notifications"])

    @database_sync_to_async
    def send(self, body, *, author=None, room=None):
        message, _ = services.message_send(
            room=room or self.room, author=author or self.alice, body=body
        )
        return message


class HelloTests(TabTestCase):
    async def test_hello_is_the_fresh_fetch_of_rooms_and_inbox(self):
        await self.send("hi @bob")
        await self.send("and more", room=self.random)
        _tab, hello = await self.open_tab(self.bob)
        self.assertEqual(hello["me"], {"id": self.bob.pk, "username": "bob", "staff": False})
        await self.assertCurrent(self.bob, hello, [])
        counts = {room["slug"]: (room["unread"], room["mentions"]) for room in hello["rooms"]}
        self.assertEqual(counts, {"general": (1, 1), "random": (1, 0)})
        self.assertEqual(hello["inbox"]["unread"], 1)
        self.assertEqual(hello["inbox"]["notifications"][0]["kind"], "mention")
        self.assertIn("body_max", hello["limits"])

    async def test_refuses_the_anonymous(self):
        socket = await self.connect(None, TAB)
        self.assertEqual(
            await socket.receive_output(timeout=TIMEOUT), {"type": "websocket.close", "code": 4401}
        )

    @override_settings(CHAT_MAX_SOCKETS_PER_USER=2)
    async def test_caps_the_sockets_of_a_user_whatever_they_view(self):
        first, _ = await self.open_tab(self.bob)
        await first.send_json_to({"type": "view", "room": "general"})
        await self.expect(first, "view")
        await self.open_tab(self.bob)
        third = await self.connect(self.bob, TAB)
        self.assertEqual(
            await third.receive_output(timeout=TIMEOUT), {"type": "websocket.close", "code": 4429}
        )


class LiveCountTests(TabTestCase):
    async def test_sends_edits_and_deletes_keep_counts_and_inbox_exact(self):
        tab, hello = await self.open_tab(self.bob)
        mentioned = await self.send("hello @bob")
        frames = await self.frames(tab, 2)  # the message and the notification
        self.assertEqual(
            sorted(frame["type"] for frame in frames), ["message.new", "notification.new"]
        )
        message_frame = next(frame for frame in frames if frame["type"] == "message.new")
        self.assertEqual(message_frame["room"], "general")
        await self.assertCurrent(self.bob, hello, frames)

        plain = await self.send("nothing for bob", room=self.random)
        frames += await self.frames(tab, 1)
        await self.assertCurrent(self.bob, hello, frames)

        # An edit that drops the mention withdraws the notification; one that adds it
        # notifies; a delete takes the message out of the counts.
        await database_sync_to_async(services.message_edit)(
            room=self.room, user=self.alice, message_id=mentioned["id"], body="hello all"
        )
        frames += await self.frames(tab, 2)
        await self.assertCurrent(self.bob, hello, frames)
        await database_sync_to_async(services.message_edit)(
            room=self.random, user=self.alice, message_id=plain["id"], body="now @bob"
        )
        frames += await self.frames(tab, 2)
        await self.assertCurrent(self.bob, hello, frames)
        await database_sync_to_async(services.message_delete)(
            room=self.random, user=self.alice, message_id=plain["id"]
        )
        frames += await self.frames(tab, 2)
        await self.assertCurrent(self.bob, hello, frames)
        rooms, inbox = self.applied(hello, frames, self.bob.pk)
        self.assertEqual((rooms["general"]["unread"], rooms["random"]["unread"]), (1, 0))
        self.assertEqual(inbox["unread"], 0)

    async def test_reading_on_one_tab_clears_the_other(self):
        first, hello = await self.open_tab(self.bob)
        second, _ = await self.open_tab(self.bob)
        message = await self.send("hello @bob")
        frames = await self.frames(first, 2)
        await self.frames(second, 2)
        await second.send_json_to({"type": "read", "room": "general", "rev": message["rev"]})
        read = []
        for socket in (first, second):
            frames_now = await self.frames(socket, 2)
            self.assertEqual(
                sorted(frame["type"] for frame in frames_now), ["notifications.read", "room.read"]
            )
            read = frames_now
        frames += read
        await self.assertCurrent(self.bob, hello, frames)
        rooms, inbox = self.applied(hello, frames, self.bob.pk)
        self.assertEqual((rooms["general"]["unread"], inbox["unread"]), (0, 0))

    async def test_a_ban_takes_the_room_away_and_keeps_the_rest(self):
        tab, hello = await self.open_tab(self.bob)
        await database_sync_to_async(Membership.objects.filter(user=self.alice).update)(
            role=Membership.Role.OWNER
        )
        await self.send("hello @bob", room=self.random)
        frames = await self.frames(tab, 2)
        await database_sync_to_async(services.member_ban)(
            room=self.random, actor=self.alice, target=self.bob
        )
        closed = await self.expect(tab, "room.closed", room="random", reason="banned")
        frames.append(closed)
        await self.assertCurrent(self.bob, hello, frames)
        # The socket stays open for the other rooms, and no longer hears the lost one.
        await self.send("still here", room=self.random)
        await self.send("general news")
        frame = await self.expect(tab, "message.new", room="general")
        frames.append(frame)
        await self.assertCurrent(self.bob, hello, frames)

    async def test_a_room_joined_is_followed_from_then_on(self):
        tab, hello = await self.open_tab(self.bob)
        carol_room = await database_sync_to_async(make_room)("Carol's")
        carol = await database_sync_to_async(make_user)("carol")
        await database_sync_to_async(add_member)(carol_room, carol, role=Membership.Role.OWNER)
        await database_sync_to_async(services.member_add)(
            room=carol_room, actor=carol, target=self.bob
        )
        frames = []
        while True:
            frame = await tab.receive_json_from(timeout=TIMEOUT)
            frames.append(frame)
            if frame["type"] == "room.joined":
                break
        self.assertEqual(frame["room"]["slug"], carol_room.slug)
        await database_sync_to_async(services.message_send)(
            room=carol_room, author=carol, body="welcome @bob"
        )
        frames += await self.frames(tab, 2)
        await self.assertCurrent(self.bob, hello, frames)

    async def test_after_an_outage_hello_is_current_again(self):
        tab, _ = await self.open_tab(self.bob)
        await tab.disconnect()
        await self.send("while away @bob")
        await self.send("more", room=self.random)
        await database_sync_to_async(services.member_remove)(
            room=self.random, actor=await self.staff(), target=self.bob
        )
        _tab, hello = await self.open_tab(self.bob)
        await self.assertCurrent(self.bob, hello, [])
        self.assertEqual([room["slug"] for room in hello["rooms"]], ["general"])

    @database_sync_to_async
    def staff(self):
        return make_user("staff", is_staff=True, is_superuser=True)


class ViewTests(TabTestCase):
    async def test_viewing_a_room_gives_its_state_catch_up_and_commands(self):
        first = await self.send("one")
        tab, _ = await self.open_tab(self.bob)
        await tab.send_json_to({"type": "view", "room": "general", "since": first["rev"] - 1})
        view = await self.expect(tab, "view", online=["bob"])
        self.assertEqual((view["room"]["slug"], view["rev"]), ("general", first["rev"]))
        self.assertEqual(view["me"]["role"], "member")
        sync = await self.expect(tab, "sync", room="general", complete=True)
        self.assertEqual([m["id"] for m in sync["messages"]], [first["id"]])
        await self.expect(tab, "presence", room="general", user="bob", status="online")

        await tab.send_json_to(
            {"type": "message.send", "room": "general", "client_id": "c1", "body": "hi"}
        )
        sent = await self.expect(tab, "message.new", room="general")
        self.assertEqual(sent["message"]["client_id"], "c1")
        await tab.send_json_to({"type": "ping", "t": 5})
        await self.expect(tab, "pong", t=5, rev=sent["message"]["rev"], room="general")

    async def test_commands_for_a_room_not_in_view_are_refused(self):
        tab, _ = await self.open_tab(self.bob)
        await tab.send_json_to(
            {"type": "message.send", "room": "general", "client_id": "c1", "body": "hi"}
        )
        await self.expect_error(tab, "not_viewing", client_id="c1", room="general")
        await tab.send_json_to({"type": "view", "room": "nowhere"})
        await self.expect_error(tab, "not_found", room="nowhere")
        await tab.send_json_to({"type": "read", "room": "Not A Slug", "rev": 1})
        await self.expect_error(tab, "bad_frame")
        await tab.send_json_to({"type": "read", "room": "general", "rev": "1"})
        await self.expect_error(tab, "bad_frame")
        await tab.send_json_to({"type": "message.send", "client_id": "c2", "body": "x"})
        await self.expect_error(tab, "bad_frame", client_id="c2")
        self.assertEqual(await database_sync_to_async(self.room.messages.count)(), 0)

    async def test_switching_view_moves_presence_and_viewing_a_public_room_listens(self):
        lobby = await database_sync_to_async(make_room)("Lobby")  # bob is not a member
        tab, _ = await self.open_tab(self.bob)
        await tab.send_json_to({"type": "view", "room": "general"})
        await self.expect(tab, "view")
        await self.expect(tab, "presence", user="bob", status="online")
        await tab.send_json_to({"type": "view", "room": lobby.slug})
        view = await self.expect(tab, "view")
        self.assertEqual(view["room"]["slug"], "lobby")
        # Bob left general's presence; as a member he still hears its messages, not
        # who comes and goes there.
        await self.expect(tab, "presence", room="lobby", user="bob", status="online")
        self.assertEqual(presence.get_presence().online_user_ids(room_id=self.room.pk), set())
        alice = await self.connect(self.alice, "/ws/rooms/general/")
        await self.expect(alice, "hello")
        await database_sync_to_async(services.message_send)(
            room=lobby, author=self.alice, body="in the lobby"
        )
        await self.expect(tab, "message.new", room="lobby")

    async def test_protocol_1_still_serves_its_room(self):
        socket, hello = await self.join(self.bob)
        self.assertEqual((hello["protocol"], hello["room"]["slug"]), (1, "general"))
        await self.send("hello @bob")
        frame = await self.expect(socket, "message.new")
        self.assertNotIn("notification", frame)
        self.assertLessEqual(settings.CHAT_MAX_SOCKETS_PER_USER, 1000)


class RoomDeletedTests(TabTestCase):
    async def test_a_deleted_room_leaves_counts_and_inbox_as_a_fresh_fetch(self):
        tab, hello = await self.open_tab(self.bob)
        await self.send("look @bob", room=self.random)
        await self.send("and @bob here")
        frames = await self.frames(tab, 4)
        staff = await database_sync_to_async(make_user)("staff", is_staff=True)
        await database_sync_to_async(services.room_delete)(room=self.random, actor=staff)
        heard = await self.frames(tab, 3)
        self.assertEqual(
            sorted(frame["type"] for frame in heard),
            ["notification.removed", "room.closed", "rooms.removed"],
        )
        frames += heard
        await self.assertCurrent(self.bob, hello, frames)
        rooms, inbox = self.applied(hello, frames, self.bob.pk)
        self.assertEqual((list(rooms), inbox["unread"]), (["general"], 1))


class LargeHelloTests(TabTestCase):
    @override_settings(CHAT_SEND_FRAME_MAX=1500)
    async def test_rooms_past_one_frame_follow_in_rooms_frames(self):
        for number in range(12):
            room = await database_sync_to_async(make_room)(f"Room number {number}")
            await database_sync_to_async(add_member)(room, self.bob)
        await self.send("hello @bob")
        tab = await self.connect(self.bob, TAB)
        hello = await self.expect(tab, "hello", rooms_complete=False)
        rooms = list(hello["rooms"])
        while True:
            frame = await self.expect(tab, "rooms")
            rooms += frame["rooms"]
            if frame["complete"]:
                break
        fresh_rooms, fresh_inbox = await self.fresh(self.bob)
        self.assertEqual({room["slug"]: room for room in rooms}, fresh_rooms)
        self.assertEqual(len(rooms), 14)
        self.assertEqual(hello["inbox"]["unread"], fresh_inbox["unread"])
