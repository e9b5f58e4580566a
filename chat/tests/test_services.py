"""Every write: what it stores, the revisions it takes, and what it broadcasts when."""

import json
import re
from unittest import mock

from django.core.cache import cache
from django.db import transaction
from django.test import TestCase

from chat import errors, events, services
from chat.models import SLUG_PATTERN, Membership, Message, ModerationAction, Room
from chat.realtime import protocol
from chat.realtime.hub import EVENT_TYPE, room_topic, topic_group
from chat.realtime.protocol import ProtocolError
from chat.services import messages as message_services
from chat.services import revisions

from .factories import add_member, make_message, make_room, make_user


class ServiceTestCase(TestCase):
    def setUp(self):
        cache.clear()  # the rate limit's buckets live in the cache
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.room = make_room("General")

    def send(self, body="hello", *, room=None, author=None, client_id=None):
        return services.message_send(
            room=room or self.room, author=author or self.alice, body=body, client_id=client_id
        )

    def room_rev(self, room=None) -> int:
        return Room.objects.get(pk=(room or self.room).pk).rev

    def assertRefused(self, code: str, function, /, **kwargs) -> errors.ChatError:
        with self.assertRaises(errors.ChatError) as caught:
            function(**kwargs)
        self.assertEqual(caught.exception.code, code)
        self.assertTrue(caught.exception.detail)
        return caught.exception


class MessageSendTestCase(ServiceTestCase):
    def test_stores_the_message(self):
        data, created = self.send("  hello world ", client_id="c-1")
        self.assertIs(created, True)
        message = Message.objects.get()
        self.assertEqual(
            (message.room, message.author, message.body, message.client_id, message.rev),
            (self.room, self.alice, "hello world", "c-1", 1),
        )
        self.assertEqual(data["id"], message.pk)
        self.assertEqual(data["body"], "hello world")
        self.assertEqual(data["room"], "general")
        self.assertEqual(
            data["author"], {"id": self.alice.pk, "username": "alice", "display_name": ""}
        )
        self.assertEqual(self.room_rev(), 1)
        self.assertIsNotNone(Room.objects.get().last_activity_at)

    def test_refuses_empty_and_too_long_bodies_and_stores_nothing(self):
        self.assertRefused("empty", self.send, body="  \n ")
        self.assertRefused("too_long", self.send, body="x" * 4001)
        self.assertFalse(Message.objects.exists())
        self.assertEqual(self.room_rev(), 0)

    def test_repeated_client_id_stores_nothing_new(self):
        first, created = self.send("hello", client_id="c-1")
        self.assertIs(created, True)
        again, created = self.send("hello", client_id="c-1")
        self.assertIs(created, False)
        self.assertEqual(again, first)
        self.assertEqual(Message.objects.count(), 1)
        self.assertEqual(self.room_rev(), 1)

    def test_client_id_is_per_author_and_per_room(self):
        other_room = make_room("Other")
        self.send(client_id="c-1")
        _, created_by_bob = self.send(client_id="c-1", author=self.bob)
        _, created_elsewhere = self.send(client_id="c-1", room=other_room)
        self.assertIs(created_by_bob, True)
        self.assertIs(created_elsewhere, True)
        self.assertEqual(Message.objects.count(), 3)

    def test_messages_without_client_id_are_never_merged(self):
        self.send("same")
        self.send("same")
        self.assertEqual(Message.objects.count(), 2)

    def test_archived_room_refuses_and_keeps_its_revision(self):
        make_message(self.room, self.bob)
        Room.objects.filter(pk=self.room.pk).update(is_archived=True)
        # The copy in hand still says "not archived": the flag is read under the lock.
        error = self.assertRefused("room_archived", self.send, client_id="c-1")
        self.assertIsInstance(error, errors.RoomArchived)
        # Services know nothing of the wire; its error frame echoes the client_id.
        self.assertEqual(ProtocolError.of(error, client_id="c-1").as_frame()["client_id"], "c-1")
        self.assertEqual(Message.objects.count(), 1)
        self.assertEqual(self.room_rev(), 1)

    def test_rate_limit(self):
        for i in range(10):
            self.send(f"message {i}")
        error = self.assertRefused("rate_limited", self.send, body="one too many", client_id="c-x")
        self.assertIsInstance(error, errors.RateLimited)
        self.assertEqual(error.extra["retry_after"], error.retry_after)
        self.assertGreater(error.retry_after, 0)
        self.assertLessEqual(error.retry_after, 10)
        frame = ProtocolError.of(error, client_id="c-x").as_frame()
        self.assertEqual((frame["client_id"], frame["retry_after"]), ("c-x", error.retry_after))
        self.assertEqual(Message.objects.count(), 10)
        self.assertEqual(self.room_rev(), 10)

    def test_rate_limit_is_per_user_and_per_room(self):
        for i in range(10):
            self.send(f"message {i}")
        self.assertRefused("rate_limited", self.send)
        self.send(author=self.bob)
        self.send(room=make_room("Other"))
        self.assertEqual(Message.objects.count(), 12)

    def test_resend_of_a_stored_message_is_not_rate_limited(self):
        first, _ = self.send("first", client_id="c-0")
        for i in range(9):
            self.send(f"message {i}")
        self.assertRefused("rate_limited", self.send)
        again, created = self.send("first", client_id="c-0")
        self.assertEqual((again["id"], created), (first["id"], False))

    def test_edits_share_the_send_bucket(self):
        first, _ = self.send("first")
        for i in range(4):
            services.message_edit(
                room=self.room, user=self.alice, message_id=first["id"], body=f"edit {i}"
            )
        for i in range(5):
            self.send(f"message {i}")
        # Ten tokens taken: one send, four edits, five sends.
        self.assertRefused("rate_limited", self.send)
        self.assertRefused(
            "rate_limited",
            services.message_edit,
            room=self.room,
            user=self.alice,
            message_id=first["id"],
            body="one edit too many",
        )
        self.assertEqual(Message.objects.get(pk=first["id"]).body, "edit 3")
        self.assertEqual(self.room_rev(), 10)
        # The bucket is the one of services.messages._take_send_token.
        with self.assertRaises(errors.RateLimited):
            message_services._take_send_token(user=self.alice, room=self.room)

    def test_posting_in_a_public_room_makes_a_member(self):
        self.assertFalse(Membership.objects.filter(room=self.room, user=self.bob).exists())
        self.send(author=self.bob)
        membership = Membership.objects.get(room=self.room, user=self.bob)
        self.assertEqual(membership.role, Membership.Role.MEMBER)
        # The second message keeps the one membership.
        self.send(author=self.bob)
        self.assertEqual(Membership.objects.filter(room=self.room, user=self.bob).count(), 1)

    def test_a_refused_post_makes_no_member(self):
        Room.objects.filter(pk=self.room.pk).update(is_archived=True)
        self.assertRefused("room_archived", self.send, author=self.bob)
        self.assertFalse(Membership.objects.filter(room=self.room, user=self.bob).exists())

    def test_banned_or_not_a_member_of_a_private_room_is_not_found(self):
        private = make_room("Secret", is_private=True)
        self.assertRefused("not_found", self.send, room=private, author=self.bob)
        add_member(self.room, self.bob, banned=True)
        error = self.assertRefused("not_found", self.send, author=self.bob)
        self.assertEqual(error.extra["reason"], "banned")
        self.assertFalse(Message.objects.exists())
        self.assertEqual((self.room_rev(), self.room_rev(private)), (0, 0))


class RevisionTestCase(ServiceTestCase):
    def test_revisions_are_contiguous_across_sends_edits_and_deletes(self):
        revs = []
        first, _ = self.send("one")
        revs.append(first["rev"])
        second, _ = self.send("two")
        revs.append(second["rev"])
        revs.append(
            services.message_edit(
                room=self.room, user=self.alice, message_id=first["id"], body="one, edited"
            )["rev"]
        )
        revs.append(
            services.message_delete(room=self.room, user=self.alice, message_id=second["id"])["rev"]
        )
        third, _ = self.send("three")
        revs.append(third["rev"])
        self.assertEqual(revs, [1, 2, 3, 4, 5])
        self.assertEqual(self.room_rev(), 5)
        self.assertEqual(
            list(Message.objects.order_by("rev").values_list("body", "rev")),
            [("one, edited", 3), ("two", 4), ("three", 5)],
        )

    def test_revisions_are_per_room(self):
        other = make_room("Other")
        self.send("a")
        self.send("b")
        data, _ = self.send("c", room=other)
        self.assertEqual(data["rev"], 1)
        self.assertEqual((self.room_rev(), self.room_rev(other)), (2, 1))


class RevisionWithoutReturningTestCase(RevisionTestCase):
    """The same, on a database that cannot return columns from an UPDATE."""

    def setUp(self):
        super().setUp()
        patcher = mock.patch.object(revisions, "_can_update_returning", return_value=False)
        self.fallback = patcher.start()
        self.addCleanup(patcher.stop)

    def tearDown(self):
        # The fallback did run: the tests above went through it, not UPDATE ... RETURNING.
        self.assertTrue(self.fallback.called)
        super().tearDown()

    def test_archived_room_refuses(self):
        Room.objects.filter(pk=self.room.pk).update(is_archived=True)
        self.assertRefused("room_archived", self.send)
        self.assertEqual(self.room_rev(), 0)


class MessageEditTestCase(ServiceTestCase):
    def setUp(self):
        super().setUp()
        self.message = make_message(self.room, self.alice, "original")

    def edit(self, *, user=None, message_id=None, body="changed"):
        return services.message_edit(
            room=self.room,
            user=user or self.alice,
            message_id=message_id or self.message.pk,
            body=body,
        )

    def test_author_edits_with_a_new_revision(self):
        data = self.edit(body="  changed  ")
        self.message.refresh_from_db()
        self.assertEqual((self.message.body, self.message.rev), ("changed", 2))
        self.assertIsNotNone(self.message.edited_at)
        self.assertEqual(data["body"], "changed")
        self.assertEqual(data["rev"], 2)
        self.assertTrue(data["edited_at"].endswith("Z"))
        self.assertEqual(self.room_rev(), 2)

    def test_same_body_changes_nothing(self):
        data = self.edit(body="original")
        self.assertEqual(data["rev"], 1)
        self.assertIsNone(data["edited_at"])
        self.assertEqual(self.room_rev(), 1)

    def test_others_may_not_edit_not_even_staff(self):
        staff = make_user("staff", is_staff=True)
        self.assertRefused("forbidden", self.edit, user=self.bob)
        self.assertRefused("forbidden", self.edit, user=staff)
        self.message.refresh_from_db()
        self.assertEqual((self.message.body, self.message.rev), ("original", 1))
        self.assertEqual(self.room_rev(), 1)

    def test_unknown_deleted_or_other_rooms_message_is_not_found(self):
        elsewhere = make_message(make_room("Other"), self.alice)
        self.assertRefused("not_found", self.edit, message_id=elsewhere.pk)
        self.assertRefused("not_found", self.edit, message_id=10**9)
        services.message_delete(room=self.room, user=self.alice, message_id=self.message.pk)
        self.assertRefused("not_found", self.edit)

    def test_refuses_empty_body(self):
        self.assertRefused("empty", self.edit, body=" ")
        self.message.refresh_from_db()
        self.assertEqual(self.message.body, "original")

    def test_archived_room_refuses_edits(self):
        Room.objects.filter(pk=self.room.pk).update(is_archived=True)
        self.assertRefused("room_archived", self.edit)
        self.message.refresh_from_db()
        self.assertEqual((self.message.body, self.message.rev), ("original", 1))
        self.assertEqual(self.room_rev(), 1)


class MessageDeleteTestCase(ServiceTestCase):
    def setUp(self):
        super().setUp()
        self.message = make_message(self.room, self.alice, "secret")

    def delete(self, user):
        return services.message_delete(room=self.room, user=user, message_id=self.message.pk)

    def test_author_deletes_softly_with_a_new_revision(self):
        data = self.delete(self.alice)
        self.message.refresh_from_db()
        self.assertIsNotNone(self.message.deleted_at)
        self.assertEqual(self.message.rev, 2)
        self.assertEqual((data["body"], data["deleted"], data["rev"]), ("", True, 2))
        self.assertEqual(data["id"], self.message.pk)
        self.assertEqual(self.room_rev(), 2)

    def test_staff_may_delete(self):
        staff = make_user("moderator", is_staff=True)
        data = self.delete(staff)
        self.assertIs(data["deleted"], True)
        self.assertTrue(Message.objects.get().is_deleted)
        # Deleting someone else's message is a moderation action, and it is logged.
        action = ModerationAction.objects.get()
        self.assertEqual(
            (action.kind, action.actor, action.target, action.room, action.detail),
            (
                ModerationAction.Kind.DELETE_MESSAGE,
                staff,
                self.alice,
                self.room,
                f"message {self.message.pk}",
            ),
        )

    def test_the_room_s_owners_and_moderators_may_delete(self):
        owner, moderator = make_user("owner"), make_user("mod")
        add_member(self.room, owner, role=Membership.Role.OWNER)
        add_member(self.room, moderator, role=Membership.Role.MODERATOR)
        self.assertIs(self.delete(moderator)["deleted"], True)
        other = make_message(self.room, self.bob, "another")
        data = services.message_delete(room=self.room, user=owner, message_id=other.pk)
        self.assertIs(data["deleted"], True)
        self.assertEqual(Message.objects.filter(deleted_at__isnull=False).count(), 2)
        self.assertEqual(
            list(ModerationAction.objects.order_by("pk").values_list("actor__username", "kind")),
            [("mod", "delete_message"), ("owner", "delete_message")],
        )

    def test_another_room_s_moderator_may_not(self):
        moderator = make_user("mod")
        add_member(make_room("Other"), moderator, role=Membership.Role.MODERATOR)
        add_member(self.room, moderator)
        self.assertRefused("forbidden", self.delete, user=moderator)
        self.assertFalse(Message.objects.get().is_deleted)

    def test_the_author_deleting_logs_nothing(self):
        self.delete(self.alice)
        self.assertFalse(ModerationAction.objects.exists())

    def test_others_may_not(self):
        add_member(self.room, self.bob)  # a plain member, like a visitor
        for user in (self.bob, make_user("visitor")):
            self.assertRefused(
                "forbidden",
                services.message_delete,
                room=self.room,
                user=user,
                message_id=self.message.pk,
            )
        self.assertFalse(Message.objects.get().is_deleted)
        self.assertEqual(self.room_rev(), 1)
        self.assertFalse(ModerationAction.objects.exists())

    def test_twice_is_not_found(self):
        self.delete(self.alice)
        self.assertRefused(
            "not_found",
            services.message_delete,
            room=self.room,
            user=self.alice,
            message_id=self.message.pk,
        )
        self.assertEqual(self.room_rev(), 2)


class BroadcastTestCase(ServiceTestCase):
    """Events leave only after the write commits, and never for a rolled-back one."""

    def test_send_registers_one_event_that_is_sent_on_commit(self):
        add_member(self.room, self.alice)  # a first post would also say she joined
        with (
            events.captured_events() as sent,
            mock.patch("chat.realtime.hub.publish") as group_send,
        ):
            with self.captureOnCommitCallbacks(execute=False) as callbacks:
                data, _ = services.message_send(
                    room=self.room,
                    author=self.alice,
                    body="hello",
                    client_id="c-1",
                    origin_channel="specific.abc!def",
                )
            self.assertEqual(len(callbacks), 1)
            # Not before the commit.
            self.assertEqual(sent, [])
            group_send.assert_not_called()
            callbacks[0]()
        self.assertEqual(
            sent,
            [
                events.Event(
                    events.MESSAGE_NEW,
                    {"message": data},
                    events.to_room(self.room.pk),
                    origin_channel="specific.abc!def",
                )
            ],
        )
        # On the channel layer: one message to the room's group, whose frame is the
        # message.new that every socket of the room shows.
        group_send.assert_called_once()
        group, message = group_send.call_args.args
        self.assertEqual(group, topic_group(room_topic(self.room.pk)))
        self.assertEqual(
            (message["type"], message["topic"], message["origin_channel"]),
            (EVENT_TYPE, f"room:{self.room.pk}", "specific.abc!def"),
        )
        self.assertEqual(
            json.loads(protocol.encode_event(message)), {"type": "message.new", "message": data}
        )

    def test_edit_and_delete_emit_their_events(self):
        message = make_message(self.room, self.alice, "original")
        with (
            events.captured_events() as sent,
            self.captureOnCommitCallbacks(execute=True),
        ):
            edited = services.message_edit(
                room=self.room,
                user=self.alice,
                message_id=message.pk,
                body="changed",
                origin_channel="specific.edit",
            )
            deleted = services.message_delete(
                room=self.room, user=self.alice, message_id=message.pk
            )
        self.assertEqual(
            sent,
            [
                events.Event(
                    events.MESSAGE_UPDATED,
                    {"message": edited},
                    events.to_room(self.room.pk),
                    origin_channel="specific.edit",
                ),
                events.Event(
                    events.MESSAGE_DELETED, {"message": deleted}, events.to_room(self.room.pk)
                ),
            ],
        )
        self.assertEqual(
            [protocol.event_frame(event.kind, event.data) for event in sent],
            [
                {"type": "message.updated", "message": edited},
                {"type": "message.deleted", "message": deleted},
            ],
        )

    def test_rolled_back_send_emits_nothing(self):
        with (
            events.captured_events() as sent,
            self.captureOnCommitCallbacks(execute=True) as callbacks,
            self.assertRaises(RuntimeError),
            transaction.atomic(),
        ):
            self.send("never happened")
            raise RuntimeError("the caller's transaction fails")
        self.assertEqual(callbacks, [])
        self.assertEqual(sent, [])
        self.assertFalse(Message.objects.exists())
        self.assertEqual(self.room_rev(), 0)
        # Nor the membership the post would have made.
        self.assertFalse(Membership.objects.filter(room=self.room, user=self.alice).exists())

    def test_refused_writes_emit_nothing(self):
        message = make_message(self.room, self.alice, "original")
        with (
            events.captured_events() as sent,
            self.captureOnCommitCallbacks(execute=True) as callbacks,
        ):
            for function, kwargs in [
                (self.send, {"body": " "}),
                (self.send, {"author": self.bob, "body": "x" * 4001}),
                (
                    services.message_edit,
                    {"room": self.room, "user": self.bob, "message_id": message.pk, "body": "x"},
                ),
                (
                    services.message_delete,
                    {"room": self.room, "user": self.bob, "message_id": message.pk},
                ),
            ]:
                with self.assertRaises(errors.ChatError):
                    function(**kwargs)
        self.assertEqual(callbacks, [])
        self.assertEqual(sent, [])

    def test_repeated_client_id_emits_nothing(self):
        self.send(client_id="c-1")
        with (
            events.captured_events() as sent,
            self.captureOnCommitCallbacks(execute=True) as callbacks,
        ):
            self.send(client_id="c-1")
        self.assertEqual(callbacks, [])
        self.assertEqual(sent, [])

    def test_an_unchanged_edit_emits_nothing(self):
        message = make_message(self.room, self.alice, "same")
        with (
            events.captured_events() as sent,
            self.captureOnCommitCallbacks(execute=True) as callbacks,
        ):
            services.message_edit(
                room=self.room, user=self.alice, message_id=message.pk, body="same"
            )
        self.assertEqual(callbacks, [])
        self.assertEqual(sent, [])

    def test_a_failing_channel_layer_does_not_fail_the_write(self):
        add_member(self.room, self.alice)  # one event: the message, not her joining
        layer = mock.Mock()
        layer.group_send = mock.AsyncMock(side_effect=ConnectionError("layer down"))
        with (
            mock.patch("chat.realtime.hub.get_channel_layer", return_value=layer),
            self.assertLogs("chat.realtime.hub", "WARNING"),
            self.captureOnCommitCallbacks(execute=True),
        ):
            _, created = self.send("still stored")
        self.assertIs(created, True)
        layer.group_send.assert_awaited_once()
        self.assertTrue(Message.objects.filter(body="still stored").exists())


class RoomCreateTestCase(ServiceTestCase):
    def test_creates_room_with_owner(self):
        with (
            events.captured_events() as sent,
            self.captureOnCommitCallbacks(execute=True),
        ):
            room = services.room_create(
                name="  Book Club ", created_by=self.alice, topic=" novels ", is_private=True
            )
        self.assertEqual(
            (room.name, room.slug, room.topic, room.is_private, room.created_by),
            ("Book Club", "book-club", "novels", True, self.alice),
        )
        membership = Membership.objects.get(room=room)
        self.assertEqual((membership.user, membership.role), (self.alice, Membership.Role.OWNER))
        # A private room is listed by its members only: nobody else hears of it, and its
        # owner's tabs start following it.
        joined = {"room_id": room.pk, "slug": "book-club"}
        self.assertEqual(
            sent, [events.Event(events.ROOM_JOINED, joined, events.to_users([self.alice.pk]))]
        )

    def test_a_public_room_is_announced_to_everyone_on_commit(self):
        with (
            events.captured_events() as sent,
            self.captureOnCommitCallbacks(execute=True),
        ):
            room = services.room_create(name="Lobby", created_by=self.alice)
        self.assertEqual(
            sent,
            [
                events.Event(
                    events.ROOM_JOINED,
                    {"room_id": room.pk, "slug": "lobby"},
                    events.to_users([self.alice.pk]),
                ),
                events.Event(
                    events.ROOMS_UPDATED, {"room": protocol.room_data(room)}, events.EVERYONE
                ),
            ],
        )

    def test_slugs_are_unique(self):
        # Names that differ (so may coexist) but slugify alike.
        names = ["Book Club", "Book-Club", "book club!", "Café", "Cafe"]
        slugs = [services.room_create(name=name, created_by=self.alice).slug for name in names]
        self.assertEqual(slugs, ["book-club", "book-club-2", "book-club-3", "cafe", "cafe-2"])
        # "General" exists already (setUp).
        self.assertEqual(
            services.room_create(name="General!", created_by=self.bob).slug, "general-2"
        )

    def test_names_are_unique_ignoring_case(self):
        services.room_create(name="Book Club", created_by=self.alice)
        for name in ["Book Club", "book club", "  BOOK CLUB ", "general"]:
            with (
                events.captured_events() as sent,
                self.captureOnCommitCallbacks(execute=True),
            ):
                error = self.assertRefused(
                    "bad_frame", services.room_create, name=name, created_by=self.bob
                )
            self.assertIsInstance(error, errors.Invalid)
            self.assertEqual(sent, [])
        self.assertEqual(Room.objects.count(), 2)
        self.assertFalse(Membership.objects.filter(user=self.bob).exists())
        self.assertTrue(services.room_name_taken("BOOK club"))
        self.assertFalse(services.room_name_taken("Book Clubs"))

    def test_every_slug_is_routable(self):
        pattern = re.compile(rf"\A{SLUG_PATTERN}\Z")
        for name in ["!!!", "Café crème", "日本語", "snake_case_room", "_x_", "x" * 80, "-a-"]:
            room = services.room_create(name=name, created_by=self.alice)
            self.assertRegex(room.slug, pattern, msg=name)
            self.assertEqual(room.get_absolute_url(), f"/rooms/{room.slug}/")


class RoomOpenTestCase(ServiceTestCase):
    """services.room_open: the room and the user's access, or NotFound."""

    def assertNotFound(self, *, slug: str, user, reason=None) -> errors.NotFound:
        with self.assertRaises(errors.NotFound) as caught:
            services.room_open(slug=slug, user=user)
        self.assertEqual(caught.exception.code, "not_found")
        self.assertEqual(caught.exception.extra.get("reason"), reason)
        return caught.exception

    def test_opening_a_public_room_makes_no_member(self):
        room, access = services.room_open(slug=self.room.slug, user=self.bob)
        self.assertEqual(room.pk, self.room.pk)
        self.assertEqual((access.see, access.post, access.role), (True, True, None))
        self.assertFalse(Membership.objects.filter(room=self.room, user=self.bob).exists())
        # Opening again still makes none; the first message does (MessageSendTestCase).
        services.room_open(slug=self.room.slug, user=self.bob)
        self.assertFalse(Membership.objects.filter(room=self.room, user=self.bob).exists())

    def test_private_room_refuses_non_members(self):
        room = make_room("Secret", is_private=True)
        self.assertNotFound(slug=room.slug, user=self.bob, reason=None)
        self.assertFalse(Membership.objects.filter(room=room, user=self.bob).exists())

    def test_private_room_admits_members(self):
        room = make_room("Secret", is_private=True)
        add_member(room, self.bob)
        opened, access = services.room_open(slug=room.slug, user=self.bob)
        self.assertEqual(opened.pk, room.pk)
        self.assertEqual((access.see, access.role), (True, Membership.Role.MEMBER))

    def test_by_slug_the_same_rules_in_one_query(self):
        private = make_room("Secret", is_private=True)
        self.assertNotFound(slug="nowhere", user=self.bob)
        self.assertNotFound(slug=private.slug, user=self.bob)
        self.assertFalse(Membership.objects.filter(room=private, user=self.bob).exists())
        with self.assertNumQueries(1):
            room, access = services.room_open(slug=self.room.slug, user=self.bob)
        self.assertEqual((room.pk, access.see), (self.room.pk, True))
        self.assertFalse(Membership.objects.filter(room=self.room, user=self.bob).exists())
        add_member(self.room, self.bob)
        with self.assertNumQueries(1):
            self.assertTrue(services.room_open(slug=self.room.slug, user=self.bob)[1].see)
        add_member(private, self.alice, banned=True)
        self.assertNotFound(slug=private.slug, user=self.alice, reason="banned")

    def test_banned_users_are_refused(self):
        add_member(self.room, self.bob, banned=True)
        self.assertNotFound(slug=self.room.slug, user=self.bob, reason="banned")
        private = make_room("Secret", is_private=True)
        add_member(private, self.bob, banned=True)
        self.assertNotFound(slug=private.slug, user=self.bob, reason="banned")
