"""Replies: the service's rules, the record's quote in live frames, pages and catch-up
(and what pages cost), the HTTP API, both sockets, catch-up after a reconnect, and the
reply notification of the original's author."""

from channels.db import database_sync_to_async
from django.core.cache import cache
from django.test import TestCase, override_settings
from django.urls import reverse

from chat import errors, events, selectors, services
from chat.models import Message, Room
from chat.realtime import protocol
from chat.records import REPLY_EXCERPT_MAX, message_data, reply_excerpt
from notifications import services as notification_services
from notifications.events import NOTIFICATION_NEW, NOTIFICATION_REMOVED
from notifications.models import Notification, NotificationDefaults

from .factories import add_member, make_message, make_messages, make_room, make_user
from .test_consumers import SocketTestCase
from .test_tab_socket import TabTestCase


class ExcerptTestCase(TestCase):
    def test_the_first_line_with_text_as_plain_text(self):
        cases = [
            ("hello\nworld", "hello"),
            ("\n\n  \nsecond line", "second line"),
            ("**bold** and _it_ and `code` and ~~gone~~", "bold and it and code and gone"),
            ("> quoted words\nnext", "quoted words"),
            ("- item one\n- item two", "item one"),
            ("1. first", "first"),
            ("```python\nprint(1)\n```", "python"),
            ("snake_case_name stays", "snake_case_name stays"),
            ("<b>raw</b>", "<b>raw</b>"),
            ("   \n", ""),
        ]
        for body, excerpt in cases:
            with self.subTest(body=body):
                self.assertEqual(reply_excerpt(body), excerpt)

    def test_a_long_line_is_cut_with_an_ellipsis(self):
        excerpt = reply_excerpt("x" * 500)
        self.assertEqual(len(excerpt), REPLY_EXCERPT_MAX)
        self.assertTrue(excerpt.endswith("…"))


class ReplyServiceTestCase(TestCase):
    def setUp(self):
        cache.clear()  # the rate limit's buckets
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.room = make_room("General")
        add_member(self.room, self.alice)
        add_member(self.room, self.bob)
        self.original = make_message(self.room, self.alice, "**Lunch** at noon?\nor later")

    def reply(self, body="yes!", *, reply_to=None, author=None, room=None, client_id=None):
        data, _created = services.message_send(
            room=room or self.room,
            author=author or self.bob,
            body=body,
            client_id=client_id,
            reply_to=self.original.pk if reply_to is None else reply_to,
        )
        return data

    def test_a_reply_stores_its_original_and_quotes_it(self):
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            data = self.reply()
        self.assertEqual(Message.objects.get(pk=data["id"]).reply_to_id, self.original.pk)
        quote = {
            "id": self.original.pk,
            "author": {"id": self.alice.pk, "username": "alice", "display_name": ""},
            "excerpt": "Lunch at noon?",
            "deleted": False,
        }
        self.assertEqual(data["reply_to"], quote)
        (new,) = [event for event in sent if event.kind == events.MESSAGE_NEW]
        self.assertEqual(new.data["message"]["reply_to"], quote)
        # As read back later: the same record.
        self.assertEqual(message_data(Message.objects.get(pk=data["id"])), data)

    def test_a_message_that_answers_nothing_quotes_nothing(self):
        data, _ = services.message_send(room=self.room, author=self.bob, body="hi")
        self.assertIsNone(data["reply_to"])
        self.assertIsNone(message_data(self.original)["reply_to"])

    def test_only_a_message_of_the_same_room_not_deleted(self):
        other = make_room("Other")
        add_member(other, self.alice)
        elsewhere = make_message(other, self.alice, "elsewhere")
        services.message_delete(room=self.room, user=self.alice, message_id=self.original.pk)
        rev = Room.objects.get(pk=self.room.pk).rev
        for reply_to in (elsewhere.pk, self.original.pk, 999_999):
            with self.subTest(reply_to=reply_to), self.assertRaises(errors.NotFound):
                self.reply(reply_to=reply_to)
        self.assertEqual(Message.objects.filter(author=self.bob).count(), 0)
        self.assertEqual(Room.objects.get(pk=self.room.pk).rev, rev, "no revision kept")

    def test_who_may_not_post_learns_nothing_of_the_original(self):
        secret = make_room("Secret", is_private=True)
        add_member(secret, self.alice)
        hidden = make_message(secret, self.alice, "psst")
        # Refused as any post there: the same answer whether the message exists or not.
        for reply_to in (hidden.pk, 999_999):
            with self.assertRaises(errors.ChatError) as caught:
                self.reply(room=secret, reply_to=reply_to)
            self.assertEqual(caught.exception.code, "not_found")
        self.assertFalse(Message.objects.filter(author=self.bob).exists())

    def test_the_quote_shows_the_original_deleted_or_edited_when_read_again(self):
        data = self.reply()
        services.message_edit(
            room=self.room, user=self.alice, message_id=self.original.pk, body="Dinner instead"
        )
        page = {m["id"]: m for m in selectors.message_page(room=self.room)["messages"]}
        self.assertEqual(page[data["id"]]["reply_to"]["excerpt"], "Dinner instead")
        services.message_delete(room=self.room, user=self.alice, message_id=self.original.pk)
        quote = selectors.message_page(room=self.room)["messages"][-1]["reply_to"]
        self.assertEqual(
            (quote["id"], quote["author"]["username"], quote["excerpt"], quote["deleted"]),
            (self.original.pk, "alice", "", True),
        )

    def test_a_deleted_reply_quotes_nothing(self):
        data = self.reply()
        deleted = services.message_delete(room=self.room, user=self.bob, message_id=data["id"])
        self.assertIsNone(deleted["reply_to"])
        self.assertIsNone(selectors.message_page(room=self.room)["messages"][-1]["reply_to"])

    def test_a_resend_answers_with_the_stored_reply_even_after_the_original_went(self):
        first = self.reply(client_id="c-1")
        services.message_delete(room=self.room, user=self.alice, message_id=self.original.pk)
        again, created = services.message_send(
            room=self.room,
            author=self.bob,
            body="yes!",
            client_id="c-1",
            reply_to=self.original.pk,
        )
        self.assertFalse(created)
        self.assertEqual(again["id"], first["id"])
        self.assertTrue(again["reply_to"]["deleted"])
        self.assertEqual(Message.objects.filter(author=self.bob).count(), 1)

    @override_settings(CHAT_RATE_MESSAGES=100)
    def test_a_page_costs_one_query_with_or_without_replies(self):
        for message in make_messages(self.room, self.alice, 20):
            self.reply(reply_to=message.pk)
        with self.assertNumQueries(1):
            page = selectors.message_page(room=self.room)
        self.assertEqual(sum(1 for m in page["messages"] if m["reply_to"]), 20)
        with self.assertNumQueries(2):  # the room's revision, the messages
            batch = selectors.messages_since(room=self.room, since=0)
        self.assertEqual(sum(1 for m in batch["messages"] if m["reply_to"]), 20)

    def test_catch_up_brings_the_reply_with_its_quote(self):
        rev = Room.objects.get(pk=self.room.pk).rev
        data = self.reply()
        (message,) = selectors.messages_since(room=self.room, since=rev)["messages"]
        self.assertEqual(message, data)


class ReplyFrameTestCase(TestCase):
    def test_reply_to_is_an_optional_positive_integer_echoing_the_client_id(self):
        command = protocol.clean_send({"body": "hi", "reply_to": 5, "client_id": "c-1"})
        self.assertEqual(command.reply_to, 5)
        self.assertIsNone(protocol.clean_send({"body": "hi"}).reply_to)
        self.assertIsNone(protocol.clean_send({"body": "hi", "reply_to": None}).reply_to)
        for value in ("5", 0, -1, True, 1.5, [5], 2**53):
            with self.subTest(value=value), self.assertRaises(protocol.ProtocolError) as caught:
                protocol.clean_send({"body": "hi", "reply_to": value, "client_id": "c-1"})
            self.assertEqual(caught.exception.code, "bad_frame")
            self.assertEqual(caught.exception.as_frame()["client_id"], "c-1")


class ReplyApiTestCase(TestCase):
    def setUp(self):
        cache.clear()
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.room = make_room("General")
        add_member(self.room, self.alice)
        add_member(self.room, self.bob)
        self.original = make_message(self.room, self.alice, "hello")
        self.client.force_login(self.bob)
        self.url = reverse("chat:api_room_messages", kwargs={"slug": "general"})

    def post(self, **data):
        return self.client.post(self.url, data, content_type="application/json")

    def test_post_a_reply_then_read_it_in_a_page(self):
        response = self.post(body="hi alice", client_id="c-1", reply_to=self.original.pk)
        self.assertEqual(response.status_code, 201, response.content)
        quote = response.json()["message"]["reply_to"]
        self.assertEqual((quote["id"], quote["excerpt"]), (self.original.pk, "hello"))
        again = self.post(body="hi alice", client_id="c-1", reply_to=self.original.pk)
        self.assertEqual(again.status_code, 200)
        page = self.client.get(self.url).json()
        self.assertEqual(page["messages"][-1]["reply_to"], quote)

    def test_refusals(self):
        response = self.post(body="hi", reply_to="x")
        self.assertEqual(
            (response.status_code, response.json()["error"]["code"]), (400, "bad_frame")
        )
        response = self.post(body="hi", reply_to=999_999)
        self.assertEqual(
            (response.status_code, response.json()["error"]["code"]), (404, "not_found")
        )
        self.assertFalse(Message.objects.filter(author=self.bob).exists())


class ReplySocketTestCase(SocketTestCase):
    """Protocol 1: message.send with reply_to, live to the room, and catch-up."""

    def setUp(self):
        super().setUp()
        add_member(self.room, self.alice)
        add_member(self.room, self.bob)
        self.original = make_message(self.room, self.alice, "lunch?")

    async def test_bob_replies_and_alice_sees_the_quote(self):
        alice, _ = await self.join(self.alice)
        bob, _ = await self.join(self.bob, others=[alice])
        await self.send(
            bob, type="message.send", client_id="c-1", body="yes", reply_to=self.original.pk
        )
        answer = await self.expect(bob, "message.new")
        live = await self.expect(alice, "message.new")
        self.assertEqual(live, answer)
        quote = live["message"]["reply_to"]
        self.assertEqual(
            (quote["id"], quote["author"]["username"], quote["excerpt"], quote["deleted"]),
            (self.original.pk, "alice", "lunch?", False),
        )
        await self.send(bob, type="message.send", client_id="c-2", body="x", reply_to=999_999)
        await self.expect_error(bob, "not_found", client_id="c-2")
        await self.send(bob, type="message.send", client_id="c-3", body="x", reply_to="1")
        await self.expect_error(bob, "bad_frame", client_id="c-3")
        await self.assertQuiet(alice, bob)

    async def test_catch_up_after_a_reconnect_brings_the_reply(self):
        alice, hello = await self.join(self.alice)
        await alice.disconnect()
        data, _ = await database_sync_to_async(services.message_send)(
            room=self.room, author=self.bob, body="yes", reply_to=self.original.pk
        )
        alice = await self.connect(self.alice, f"/ws/rooms/general/?since={hello['rev']}")
        await self.expect(alice, "hello", rev=hello["rev"] + 1)
        sync = await self.expect(alice, "sync", complete=True)
        self.assertEqual(sync["messages"], [data])
        self.assertEqual(sync["messages"][0]["reply_to"]["id"], self.original.pk)


class ReplyTabTestCase(TabTestCase):
    """Protocol 2: a reply from a tab reaches the others with its quote, and its
    notification reaches the original's author."""

    async def test_a_reply_on_a_tab_reaches_the_others(self):
        original = await self.send("lunch?")
        alice_tab, _ = await self.open_tab(self.alice)
        bob_tab, _ = await self.open_tab(self.bob)
        await bob_tab.send_json_to({"type": "view", "room": "general"})
        await self.expect(bob_tab, "view")
        await self.expect(bob_tab, "presence", room="general", user="bob", status="online")
        await bob_tab.send_json_to(
            {"type": "message.send", "room": "general", "body": "yes", "reply_to": original["id"]}
        )
        answer = await self.expect(bob_tab, "message.new", room="general")
        # Alice hears of the message, and of her reply notification.
        frames = {frame["type"]: frame for frame in await self.frames(alice_tab, 2)}
        live = frames["message.new"]
        self.assertEqual(live["message"], answer["message"])
        self.assertEqual(live["message"]["reply_to"]["id"], original["id"])
        self.assertEqual(frames["notification.new"]["notification"]["kind"], "reply")


class ReplyNotificationTestCase(TestCase):
    def setUp(self):
        cache.clear()
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.room = make_room("General")
        add_member(self.room, self.alice)
        add_member(self.room, self.bob)
        self.original = make_message(self.room, self.alice, "lunch?")

    def reply(self, body="yes", *, author=None, original=None):
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            data, _ = services.message_send(
                room=self.room,
                author=author or self.bob,
                body=body,
                reply_to=(original or self.original).pk,
            )
        return data, [event for event in sent if event.kind.startswith("notification")]

    def test_the_original_author_is_notified_once_live(self):
        data, sent = self.reply()
        notification = Notification.objects.get()
        self.assertEqual(
            (notification.user, notification.kind, notification.message_id, notification.actor),
            (self.alice, Notification.Kind.REPLY, data["id"], self.bob),
        )
        self.assertEqual(notification.reason, "@bob replied to you in #General")
        (event,) = sent
        self.assertEqual(event.kind, NOTIFICATION_NEW)
        self.assertEqual(event.data["notification"]["kind"], "reply")
        self.assertEqual(event.data["unread"], 1)

    def test_not_for_a_reply_to_oneself(self):
        self.reply(author=self.alice)
        self.assertFalse(Notification.objects.exists())

    def test_not_doubled_with_a_mention(self):
        self.reply("@alice yes")
        self.assertEqual(
            list(Notification.objects.values_list("user_id", "kind")),
            [(self.alice.pk, Notification.Kind.MENTION)],
        )

    def test_level_nothing_silences_it_a_mute_does_not(self):
        notification_services.room_notify_set(user=self.alice, room=self.room, level="nothing")
        self.reply()
        self.assertFalse(Notification.objects.exists())
        notification_services.room_notify_set(
            user=self.alice, room=self.room, level="default", muted=True
        )
        NotificationDefaults.objects.create(user=self.alice, level="nothing")
        self.reply()
        self.assertFalse(Notification.objects.exists())
        NotificationDefaults.objects.filter(user=self.alice).update(level="mentions")
        self.reply()  # muted: no alert, but the inbox still fills (as a mention)
        self.assertEqual(Notification.objects.filter(kind=Notification.Kind.REPLY).count(), 1)

    def test_not_for_someone_no_longer_in_the_room(self):
        services.member_leave(room=self.room, user=self.alice)
        self.reply()
        self.assertFalse(Notification.objects.exists())

    def test_withdrawn_when_the_reply_is_deleted_kept_once_read(self):
        data, _ = self.reply()
        notification = Notification.objects.get()
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            services.message_delete(room=self.room, user=self.bob, message_id=data["id"])
        self.assertFalse(Notification.objects.exists())
        (removed,) = [event for event in sent if event.kind == NOTIFICATION_REMOVED]
        self.assertEqual(removed.data, {"ids": [notification.pk], "unread": 0})

        data, _ = self.reply()
        notification_services.notifications_mark_read(user=self.alice, all=True)
        services.message_delete(room=self.room, user=self.bob, message_id=data["id"])
        self.assertTrue(Notification.objects.get().is_read)

    def test_read_when_the_room_is_read_past_it(self):
        data, _ = self.reply()
        services.room_mark_read(room=self.room, user=self.alice, rev=data["created_rev"])
        self.assertTrue(Notification.objects.get().is_read)

    def test_not_in_a_direct_conversation_where_every_message_notifies(self):
        conversation, _ = services.direct_open(starter=self.alice, usernames=["bob"])
        original, _ = services.message_send(room=conversation, author=self.alice, body="hi")
        services.message_send(
            room=conversation, author=self.bob, body="hello", reply_to=original["id"]
        )
        kinds = Notification.objects.filter(user=self.alice).values_list("kind", flat=True)
        self.assertEqual(list(kinds), [Notification.Kind.DIRECT])
