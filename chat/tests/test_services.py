"""Every write: what it stores, the revisions it takes, and what it broadcasts when."""

import json
import re
from unittest import mock

from django.core.cache import cache
from django.db import transaction
from django.test import TestCase

from chat import services
from chat.models import SLUG_PATTERN, Membership, Message, Room
from chat.protocol import ProtocolError, room_group_name

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

    def assertRefused(self, code: str, function, /, **kwargs) -> ProtocolError:
        with self.assertRaises(ProtocolError) as caught:
            function(**kwargs)
        self.assertEqual(caught.exception.code, code)
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
        self.assertEqual(data["author"], {"id": self.alice.pk, "username": "alice"})
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
        self.assertEqual(error.client_id, "c-1")
        self.assertEqual(Message.objects.count(), 1)
        self.assertEqual(self.room_rev(), 1)

    def test_rate_limit(self):
        for i in range(10):
            self.send(f"message {i}")
        error = self.assertRefused("rate_limited", self.send, body="one too many", client_id="c-x")
        self.assertEqual(error.client_id, "c-x")
        self.assertGreater(error.retry_after, 0)
        self.assertLessEqual(error.retry_after, 10)
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
        patcher = mock.patch.object(services, "_can_update_returning", return_value=False)
        patcher.start()
        self.addCleanup(patcher.stop)

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
        data = self.delete(make_user("moderator", is_staff=True))
        self.assertIs(data["deleted"], True)
        self.assertTrue(Message.objects.get().is_deleted)

    def test_others_may_not(self):
        self.assertRefused(
            "forbidden",
            services.message_delete,
            room=self.room,
            user=self.bob,
            message_id=self.message.pk,
        )
        self.assertFalse(Message.objects.get().is_deleted)
        self.assertEqual(self.room_rev(), 1)

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

    def test_send_registers_one_broadcast_that_runs_on_commit(self):
        with (
            mock.patch("chat.services.publish") as group_send,
            self.captureOnCommitCallbacks(execute=False) as callbacks,
        ):
            data, _ = services.message_send(
                room=self.room,
                author=self.alice,
                body="hello",
                client_id="c-1",
                origin_channel="specific.abc!def",
            )
        self.assertEqual(len(callbacks), 1)
        group_send.assert_not_called()  # not before the commit
        with mock.patch("chat.services.publish") as group_send:
            callbacks[0]()
        group_send.assert_called_once()
        group, event = group_send.call_args.args
        self.assertEqual(group, room_group_name(self.room.pk))
        self.assertEqual(event["type"], "chat.frame")
        self.assertEqual(event["origin_channel"], "specific.abc!def")
        self.assertEqual(json.loads(event["text"]), {"type": "message.new", "message": data})

    def test_edit_and_delete_broadcast_their_events(self):
        message = make_message(self.room, self.alice, "original")
        with (
            mock.patch("chat.services.publish") as group_send,
            self.captureOnCommitCallbacks(execute=True),
        ):
            edited = services.message_edit(
                room=self.room, user=self.alice, message_id=message.pk, body="changed"
            )
            deleted = services.message_delete(
                room=self.room, user=self.alice, message_id=message.pk
            )
        frames = [json.loads(call.args[1]["text"]) for call in group_send.call_args_list]
        self.assertEqual(
            frames,
            [
                {"type": "message.updated", "message": edited},
                {"type": "message.deleted", "message": deleted},
            ],
        )

    def test_rolled_back_send_broadcasts_nothing(self):
        with (
            mock.patch("chat.services.publish") as group_send,
            self.captureOnCommitCallbacks(execute=True) as callbacks,
            self.assertRaises(RuntimeError),
            transaction.atomic(),
        ):
            self.send("never happened")
            raise RuntimeError("the caller's transaction fails")
        self.assertEqual(callbacks, [])
        group_send.assert_not_called()
        self.assertFalse(Message.objects.exists())
        self.assertEqual(self.room_rev(), 0)

    def test_refused_writes_broadcast_nothing(self):
        message = make_message(self.room, self.alice, "original")
        with (
            mock.patch("chat.services.publish") as group_send,
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
                with self.assertRaises(ProtocolError):
                    function(**kwargs)
        self.assertEqual(callbacks, [])
        group_send.assert_not_called()

    def test_repeated_client_id_broadcasts_nothing(self):
        self.send(client_id="c-1")
        with (
            mock.patch("chat.services.publish") as group_send,
            self.captureOnCommitCallbacks(execute=True) as callbacks,
        ):
            self.send(client_id="c-1")
        self.assertEqual(callbacks, [])
        group_send.assert_not_called()

    def test_a_failing_channel_layer_does_not_fail_the_write(self):
        layer = mock.Mock()
        layer.group_send = mock.AsyncMock(side_effect=ConnectionError("layer down"))
        with (
            mock.patch("chat.fanout.get_channel_layer", return_value=layer),
            self.assertLogs("chat.fanout", "WARNING"),
            self.captureOnCommitCallbacks(execute=True),
        ):
            _, created = self.send("still stored")
        self.assertIs(created, True)
        layer.group_send.assert_awaited_once()
        self.assertTrue(Message.objects.filter(body="still stored").exists())


class RoomCreateTestCase(ServiceTestCase):
    def test_creates_room_with_owner(self):
        room = services.room_create(
            name="  Book Club ", created_by=self.alice, topic=" novels ", is_private=True
        )
        self.assertEqual(
            (room.name, room.slug, room.topic, room.is_private, room.created_by),
            ("Book Club", "book-club", "novels", True, self.alice),
        )
        membership = Membership.objects.get(room=room)
        self.assertEqual((membership.user, membership.role), (self.alice, Membership.Role.OWNER))

    def test_slugs_are_unique(self):
        slugs = [
            services.room_create(name="Book Club", created_by=self.alice).slug for _ in range(3)
        ]
        self.assertEqual(slugs, ["book-club", "book-club-2", "book-club-3"])
        # "General" exists already (setUp).
        self.assertEqual(
            services.room_create(name="general", created_by=self.bob).slug, "general-2"
        )

    def test_every_slug_is_routable(self):
        pattern = re.compile(rf"\A{SLUG_PATTERN}\Z")
        for name in ["!!!", "Café crème", "日本語", "snake_case_room", "_x_", "x" * 80, "-a-"]:
            room = services.room_create(name=name, created_by=self.alice)
            self.assertRegex(room.slug, pattern, msg=name)
            self.assertEqual(room.get_absolute_url(), f"/rooms/{room.slug}/")


class RoomEnterTestCase(ServiceTestCase):
    def test_public_room_makes_a_member(self):
        self.assertIs(services.room_enter(room=self.room, user=self.bob), True)
        self.assertTrue(Membership.objects.filter(room=self.room, user=self.bob).exists())
        # Entering again keeps the one membership.
        self.assertIs(services.room_enter(room=self.room, user=self.bob), True)
        self.assertEqual(Membership.objects.filter(room=self.room, user=self.bob).count(), 1)

    def test_private_room_refuses_non_members(self):
        room = make_room("Secret", is_private=True)
        self.assertIs(services.room_enter(room=room, user=self.bob), False)
        self.assertFalse(Membership.objects.filter(room=room, user=self.bob).exists())

    def test_private_room_admits_members(self):
        room = make_room("Secret", is_private=True)
        add_member(room, self.bob)
        self.assertIs(services.room_enter(room=room, user=self.bob), True)

    def test_by_slug_the_same_rules_in_one_query_for_a_member(self):
        private = make_room("Secret", is_private=True)
        self.assertEqual(services.room_enter_slug(slug="nowhere", user=self.bob), (None, False))
        room, allowed = services.room_enter_slug(slug=private.slug, user=self.bob)
        self.assertEqual((room.pk, allowed), (private.pk, False))
        self.assertFalse(Membership.objects.filter(room=private, user=self.bob).exists())
        room, allowed = services.room_enter_slug(slug=self.room.slug, user=self.bob)
        self.assertEqual((room.pk, allowed), (self.room.pk, True))
        self.assertEqual(Membership.objects.filter(room=self.room, user=self.bob).count(), 1)
        with self.assertNumQueries(1):
            self.assertIs(services.room_enter_slug(slug=self.room.slug, user=self.bob)[1], True)
        add_member(private, self.alice, banned=True)
        self.assertIs(services.room_enter_slug(slug=private.slug, user=self.alice)[1], False)

    def test_banned_users_are_refused(self):
        add_member(self.room, self.bob, banned=True)
        self.assertIs(services.room_enter(room=self.room, user=self.bob), False)
        private = make_room("Secret", is_private=True)
        add_member(private, self.bob, banned=True)
        self.assertIs(services.room_enter(room=private, user=self.bob), False)
