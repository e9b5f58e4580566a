"""The inbox's services and the receivers of chat's signals: rows, reasons, events."""

from django.db import connection, transaction
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from chat import events
from chat.errors import Invalid
from chat.models import Message
from chat.tests.factories import add_member, make_message, make_room, make_user
from notifications import selectors, services
from notifications.events import NOTIFICATION_NEW, NOTIFICATION_REMOVED, NOTIFICATIONS_READ
from notifications.models import Notification

from .factories import make_notification, send_mentions_changed, send_room_read

Kind = Notification.Kind


def sent(captured: list[events.Event]) -> list[tuple[str, tuple[int, ...], dict]]:
    """Return the captured events as (kind, user ids, data)."""
    return [(event.kind, event.audience.user_ids, event.data) for event in captured]


def newest(user) -> dict:
    """Return the user's newest notification as the API shows it."""
    return selectors.notification_page(user=user, limit=1)["notifications"][0]


class InboxTestCase(TestCase):
    def setUp(self):
        self.alice, self.bob, self.carol, self.dave = (
            make_user(name) for name in ("alice", "bob", "carol", "dave")
        )
        self.room = make_room("General")
        for user in (self.alice, self.bob, self.carol, self.dave):
            add_member(self.room, user)

    def unread(self, user) -> list[int]:
        return list(
            Notification.objects.filter(user=user, read_at__isnull=True).values_list(
                "pk", flat=True
            )
        )


class MentionNotificationsTestCase(InboxTestCase):
    def test_each_kind_of_mention_notifies_with_its_reason(self):
        message = make_message(self.room, self.alice, "@bob @room @here")
        send_mentions_changed(
            message, added={self.bob.pk: "user", self.carol.pk: "room", self.dave.pk: "here"}
        )
        rows = {row.user_id: row for row in Notification.objects.select_related("actor", "room")}
        self.assertEqual(set(rows), {self.bob.pk, self.carol.pk, self.dave.pk})
        self.assertEqual(
            {user_id: (row.kind, row.reason) for user_id, row in rows.items()},
            {
                self.bob.pk: (Kind.MENTION, "@alice mentioned you in #General"),
                self.carol.pk: (Kind.ROOM_MENTION, "@alice mentioned everyone (@room) in #General"),
                self.dave.pk: (Kind.HERE_MENTION, "@alice mentioned @here in #General"),
            },
        )
        for row in rows.values():
            self.assertEqual(
                (row.actor, row.room, row.message_id), (self.alice, self.room, message.pk)
            )
            self.assertIsNone(row.read_at)

    def test_each_new_notification_goes_to_its_user_with_their_unread_count(self):
        make_notification(self.bob)  # bob had one unread already
        message = make_message(self.room, self.alice, "@bob @carol")
        with events.captured_events() as captured, self.captureOnCommitCallbacks(execute=True):
            send_mentions_changed(message, added={self.bob.pk: "user", self.carol.pk: "user"})
        self.assertEqual(
            sent(captured),
            [
                (NOTIFICATION_NEW, (self.bob.pk,), {"notification": newest(self.bob), "unread": 2}),
                (
                    NOTIFICATION_NEW,
                    (self.carol.pk,),
                    {"notification": newest(self.carol), "unread": 1},
                ),
            ],
        )
        self.assertEqual(
            newest(self.bob)["message"],
            {"id": message.pk, "created_rev": message.created_rev},
        )

    def test_events_wait_for_the_commit(self):
        message = make_message(self.room, self.alice, "@bob")
        with events.captured_events() as captured:
            with self.captureOnCommitCallbacks(execute=False) as callbacks:
                send_mentions_changed(message, added={self.bob.pk: "user"})
            self.assertEqual((captured, len(callbacks)), ([], 1))
            callbacks[0]()
        self.assertEqual([event.kind for event in captured], [NOTIFICATION_NEW])

    def test_a_rolled_back_message_notifies_no_one_and_writes_nothing(self):
        with (
            events.captured_events() as captured,
            self.captureOnCommitCallbacks(execute=True) as callbacks,
            self.assertRaises(RuntimeError),
            transaction.atomic(),
        ):
            message = make_message(self.room, self.alice, "@bob")
            send_mentions_changed(message, added={self.bob.pk: "user"})
            raise RuntimeError("the message's transaction fails")
        self.assertEqual((callbacks, captured), ([], []))
        self.assertFalse(Notification.objects.exists())
        self.assertFalse(Message.objects.exists())

    def test_the_same_mention_twice_notifies_once(self):
        message = make_message(self.room, self.alice, "@bob")
        send_mentions_changed(message, added={self.bob.pk: "user"})
        with events.captured_events() as captured, self.captureOnCommitCallbacks(execute=True):
            send_mentions_changed(message, added={self.bob.pk: "user"})
            # An edit that turns the mention into @room is still the same message.
            send_mentions_changed(message, added={self.bob.pk: "room"})
        self.assertEqual(captured, [])
        self.assertEqual(Notification.objects.filter(user=self.bob).count(), 1)

    def test_a_read_notification_is_not_made_again(self):
        message = make_message(self.room, self.alice, "@bob")
        send_mentions_changed(message, added={self.bob.pk: "user"})
        Notification.objects.update(read_at=message.created_at)
        # Edited away, then back: the read notification stays and is the only one.
        send_mentions_changed(message, removed={self.bob.pk})
        send_mentions_changed(message, added={self.bob.pk: "user"})
        self.assertEqual(Notification.objects.filter(user=self.bob).count(), 1)
        self.assertEqual(self.unread(self.bob), [])

    def test_the_author_is_never_notified(self):
        message = make_message(self.room, self.alice, "@room")
        send_mentions_changed(message, added={self.alice.pk: "room", self.bob.pk: "room"})
        self.assertEqual(
            list(Notification.objects.values_list("user_id", flat=True)), [self.bob.pk]
        )

    def test_withdrawal_deletes_unread_notifications_only(self):
        message = make_message(self.room, self.alice, "@bob @carol @dave")
        send_mentions_changed(
            message, added={self.bob.pk: "user", self.carol.pk: "user", self.dave.pk: "user"}
        )
        bobs = Notification.objects.get(user=self.bob)
        Notification.objects.filter(user=self.carol).update(read_at=message.created_at)
        other = make_notification(self.bob)  # another unread notification of bob's
        with events.captured_events() as captured, self.captureOnCommitCallbacks(execute=True):
            send_mentions_changed(message, removed={self.bob.pk, self.carol.pk})
        self.assertEqual(
            sent(captured),
            [(NOTIFICATION_REMOVED, (self.bob.pk,), {"ids": [bobs.pk], "unread": 1})],
        )
        self.assertEqual(self.unread(self.bob), [other.pk])
        self.assertEqual(Notification.objects.filter(user=self.carol).count(), 1)
        self.assertEqual(Notification.objects.filter(user=self.dave).count(), 1)

    def test_a_changed_kind_replaces_an_unread_notification(self):
        message = make_message(self.room, self.alice, "@bob")
        send_mentions_changed(message, added={self.bob.pk: "user"})
        before = Notification.objects.get()
        with events.captured_events() as captured, self.captureOnCommitCallbacks(execute=True):
            send_mentions_changed(message, added={self.bob.pk: "here"}, removed={self.bob.pk})
        after = Notification.objects.get()
        self.assertEqual(after.kind, Kind.HERE_MENTION)
        self.assertEqual(
            sent(captured),
            [
                (NOTIFICATION_REMOVED, (self.bob.pk,), {"ids": [before.pk], "unread": 1}),
                (NOTIFICATION_NEW, (self.bob.pk,), {"notification": newest(self.bob), "unread": 1}),
            ],
        )

    def test_a_change_without_mentions_makes_no_query(self):
        message = make_message(self.room, self.alice, "hello")
        with self.assertNumQueries(0):
            send_mentions_changed(message)

    def test_queries_do_not_grow_with_the_people_mentioned(self):
        def queries(message, user_ids: list[int]) -> int:
            added = dict.fromkeys(user_ids, "room")
            with CaptureQueriesContext(connection) as context:
                services.notifications_update_mentions(message=message, added=added, removed=set())
                services.notifications_update_mentions(
                    message=message, added={}, removed=set(user_ids)
                )
            return len(context.captured_queries)

        many = [make_user(f"user{i}").pk for i in range(12)]
        one = queries(make_message(self.room, self.alice, "@room"), [self.bob.pk])
        self.assertEqual(queries(make_message(self.room, self.alice, "@room"), many), one)


class RoomReadTestCase(InboxTestCase):
    def mention_bob(self, room, body="@bob") -> Notification:
        message = make_message(room, self.alice, body)
        send_mentions_changed(message, added={self.bob.pk: "user"})
        return Notification.objects.get(message=message, user=self.bob)

    def test_marks_read_the_rooms_notifications_created_up_to_the_marker(self):
        first, second, third = (self.mention_bob(self.room) for _ in range(3))
        elsewhere = self.mention_bob(make_room("Random"))
        invitation = make_notification(self.bob, kind=Kind.INVITATION, room=self.room)
        carols = make_notification(self.carol, room=self.room, message=first.message)
        with events.captured_events() as captured, self.captureOnCommitCallbacks(execute=True):
            send_room_read(self.room, self.bob, second.message.created_rev)
        self.assertEqual(
            sent(captured),
            [(NOTIFICATIONS_READ, (self.bob.pk,), {"ids": [first.pk, second.pk], "unread": 3})],
        )
        self.assertEqual(
            sorted(self.unread(self.bob)), sorted([third.pk, elsewhere.pk, invitation.pk])
        )
        self.assertEqual(self.unread(self.carol), [carols.pk])

    def test_an_edited_message_counts_by_its_creation(self):
        notification = self.mention_bob(self.room)
        message = notification.message
        # An edit took a later revision; the message was still created before the marker.
        Message.objects.filter(pk=message.pk).update(rev=message.created_rev + 5)
        send_room_read(self.room, self.bob, message.created_rev)
        self.assertEqual(self.unread(self.bob), [])

    def test_nothing_to_mark_sends_nothing(self):
        notification = self.mention_bob(self.room)
        with events.captured_events() as captured, self.captureOnCommitCallbacks(execute=True):
            send_room_read(self.room, self.bob, notification.message.created_rev - 1)
            send_room_read(self.room, self.carol, notification.message.created_rev)
        self.assertEqual(captured, [])
        self.assertEqual(self.unread(self.bob), [notification.pk])

    def test_a_rolled_back_read_marks_nothing(self):
        notification = self.mention_bob(self.room)
        with (
            events.captured_events() as captured,
            self.captureOnCommitCallbacks(execute=True),
            self.assertRaises(RuntimeError),
            transaction.atomic(),
        ):
            send_room_read(self.room, self.bob, notification.message.created_rev)
            raise RuntimeError("the read marker's transaction fails")
        self.assertEqual(captured, [])
        self.assertEqual(self.unread(self.bob), [notification.pk])


class MarkReadTestCase(InboxTestCase):
    def test_marks_the_given_ids_and_ignores_the_rest(self):
        first, second, third = (make_notification(self.bob) for _ in range(3))
        already_read = make_notification(self.bob, read=True)
        carols = make_notification(self.carol)
        with events.captured_events() as captured, self.captureOnCommitCallbacks(execute=True):
            unread = services.notifications_mark_read(
                user=self.bob, ids=[second.pk, first.pk, already_read.pk, carols.pk, 10**9]
            )
        self.assertEqual(unread, 1)
        self.assertEqual(
            sent(captured),
            [(NOTIFICATIONS_READ, (self.bob.pk,), {"ids": [first.pk, second.pk], "unread": 1})],
        )
        self.assertEqual(self.unread(self.bob), [third.pk])
        self.assertEqual(self.unread(self.carol), [carols.pk])

    def test_marks_all(self):
        notifications = [make_notification(self.bob) for _ in range(3)]
        carols = make_notification(self.carol)
        with events.captured_events() as captured, self.captureOnCommitCallbacks(execute=True):
            unread = services.notifications_mark_read(user=self.bob, all=True)
        self.assertEqual(unread, 0)
        self.assertEqual(
            sent(captured),
            [
                (
                    NOTIFICATIONS_READ,
                    (self.bob.pk,),
                    {"all": True, "up_to": notifications[-1].pk, "unread": 0},
                )
            ],
        )
        self.assertEqual(self.unread(self.carol), [carols.pk])

    def test_nothing_changed_sends_nothing(self):
        read = make_notification(self.bob, read=True)
        carols = make_notification(self.carol)
        with events.captured_events() as captured, self.captureOnCommitCallbacks(execute=True):
            self.assertEqual(services.notifications_mark_read(user=self.bob, ids=[]), 0)
            self.assertEqual(
                services.notifications_mark_read(user=self.bob, ids=[read.pk, carols.pk]), 0
            )
            self.assertEqual(services.notifications_mark_read(user=self.bob, all=True), 0)
        self.assertEqual(captured, [])

    def test_asks_for_ids_or_all(self):
        make_notification(self.bob)
        for kwargs in [{}, {"ids": [1], "all": True}]:
            with self.subTest(kwargs=kwargs), self.assertRaises(Invalid):
                services.notifications_mark_read(user=self.bob, **kwargs)
        self.assertEqual(len(self.unread(self.bob)), 1)
