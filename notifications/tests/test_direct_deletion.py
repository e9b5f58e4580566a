"""A conversation's notification follows the deletion of its message: it moves to the
newest message the person has still to read, or is withdrawn (docs/protocol.md, "Direct
messages")."""

from channels.db import database_sync_to_async
from django.core.cache import cache
from django.test import TestCase

from chat import events, services
from chat.tests.factories import make_room, make_user
from chat.tests.test_tab_socket import TabTestCase
from notifications import selectors
from notifications.models import Notification

Kind = Notification.Kind


def direct_notifications(user) -> list[Notification]:
    return list(Notification.objects.filter(user=user, kind=Kind.DIRECT))


def inbox_events(sent, user) -> list[tuple[str, dict]]:
    """The inbox events `user` was sent, as (kind, data)."""
    topic = f"user:{user.pk}"
    return [
        (event.kind, event.data)
        for event in sent
        if event.kind.startswith("notification") and event.audience.topics() == [topic]
    ]


class DirectDeletionTests(TestCase):
    def setUp(self):
        cache.clear()  # the sending rate limit's buckets
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.carol = make_user("carol")
        self.pair, _ = services.direct_open(starter=self.alice, usernames=["bob"])

    def send(self, author, body, room=None):
        message, _ = services.message_send(room=room or self.pair, author=author, body=body)
        return message["id"]

    def delete(self, user, message_id, room=None):
        """Delete a message in a committed transaction; return the events it sent."""
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            services.message_delete(room=room or self.pair, user=user, message_id=message_id)
        return sent

    def test_deleting_the_only_message_withdraws_the_notification_live(self):
        message_id = self.send(self.alice, "hi bob")
        [notification] = direct_notifications(self.bob)
        self.assertEqual(notification.message_id, message_id)

        sent = self.delete(self.alice, message_id)
        self.assertEqual(direct_notifications(self.bob), [])
        self.assertEqual(
            inbox_events(sent, self.bob),
            [("notification.removed", {"ids": [notification.pk], "unread": 0})],
        )

    def test_deleting_the_newest_of_two_unread_points_it_at_the_older(self):
        older_id = self.send(self.alice, "hi bob")
        newest_id = self.send(self.alice, "are you there?")
        [notification] = direct_notifications(self.bob)
        self.assertEqual(notification.message_id, newest_id)

        sent = self.delete(self.alice, newest_id)
        [moved] = direct_notifications(self.bob)
        self.assertEqual(
            (moved.pk, moved.message_id, moved.read_at), (notification.pk, older_id, None)
        )
        [(kind, data)] = inbox_events(sent, self.bob)
        self.assertEqual(kind, "notification.updated")
        self.assertEqual(data["unread"], 1)
        self.assertEqual(data["notification"]["id"], notification.pk)
        self.assertEqual(data["notification"]["message"]["id"], older_id)
        # What the event says is what a fresh fetch says.
        fresh = selectors.notification_page(user=self.bob)["notifications"]
        self.assertEqual(fresh, [data["notification"]])

    def test_a_message_already_read_is_not_pointed_at(self):
        self.send(self.alice, "hi bob")
        self.pair.refresh_from_db()
        services.room_mark_read(room=self.pair, user=self.bob, rev=self.pair.rev)
        newest_id = self.send(self.alice, "one more")
        unread = Notification.objects.get(user=self.bob, message_id=newest_id)

        sent = self.delete(self.alice, newest_id)
        self.assertFalse(Notification.objects.filter(pk=unread.pk).exists())
        self.assertEqual(
            inbox_events(sent, self.bob),
            [("notification.removed", {"ids": [unread.pk], "unread": 0})],
        )

    def test_the_persons_own_messages_are_not_pointed_at(self):
        older_id = self.send(self.alice, "hi bob")
        self.send(self.bob, "hi alice")  # newer, but bob wrote it: not his to read
        newest_id = self.send(self.alice, "how are you?")
        self.delete(self.alice, newest_id)
        [moved] = direct_notifications(self.bob)
        self.assertEqual(moved.message_id, older_id)

    def test_in_a_group_it_moves_to_another_author_and_says_so(self):
        group, _ = services.direct_open(starter=self.alice, usernames=["bob", "carol"])
        carols_id = self.send(self.carol, "hello both", room=group)
        alices_id = self.send(self.alice, "hello you two", room=group)
        [carols_own] = direct_notifications(self.carol)

        sent = self.delete(self.alice, alices_id, room=group)
        [moved] = direct_notifications(self.bob)
        self.assertEqual((moved.message_id, moved.actor_id), (carols_id, self.carol.pk))
        self.assertEqual(moved.reason, "@carol wrote in your group with alice")
        self.assertEqual(inbox_events(sent, self.bob)[0][0], "notification.updated")
        # Carol has nothing left to read but her own message: hers is withdrawn.
        self.assertEqual(direct_notifications(self.carol), [])
        self.assertEqual(
            inbox_events(sent, self.carol),
            [("notification.removed", {"ids": [carols_own.pk], "unread": 0})],
        )
        # Alice's notification of carol's message was never about the deleted one.
        [alices] = direct_notifications(self.alice)
        self.assertEqual(alices.message_id, carols_id)

    def test_a_message_that_mentioned_the_person_notified_them_already(self):
        self.send(self.alice, "hey @bob")  # a mention notification, and no direct one
        newest_id = self.send(self.alice, "still there?")
        sent = self.delete(self.alice, newest_id)
        self.assertEqual(direct_notifications(self.bob), [])
        kinds = list(Notification.objects.filter(user=self.bob).values_list("kind", flat=True))
        self.assertEqual(kinds, [Kind.MENTION])
        self.assertEqual(inbox_events(sent, self.bob)[0][0], "notification.removed")

    def test_a_notification_already_read_stays(self):
        message_id = self.send(self.alice, "hi bob")
        [notification] = direct_notifications(self.bob)
        Notification.objects.filter(pk=notification.pk).update(read_at=notification.created_at)
        sent = self.delete(self.alice, message_id)
        self.assertEqual([n.pk for n in direct_notifications(self.bob)], [notification.pk])
        self.assertEqual(inbox_events(sent, self.bob), [])

    def test_a_room_message_deleted_touches_no_notification(self):
        room = make_room("General")
        services.member_join(room=room, user=self.alice)
        message_id = self.send(self.alice, "hello", room=room)
        sent = self.delete(self.alice, message_id, room=room)
        self.assertEqual([event.kind for event in sent], ["message.deleted"])


class DirectDeletionTabTests(TabTestCase):
    async def test_bobs_tab_hears_the_withdrawal_and_stays_current(self):
        pair, _ = await database_sync_to_async(services.direct_open)(
            starter=self.alice, usernames=["bob"]
        )
        message, _ = await database_sync_to_async(services.message_send)(
            room=pair, author=self.alice, body="hi bob"
        )
        tab, hello = await self.open_tab(self.bob)
        self.assertEqual(hello["inbox"]["unread"], 1)
        await database_sync_to_async(services.message_delete)(
            room=pair, user=self.alice, message_id=message["id"]
        )
        frames = []
        while not frames or frames[-1]["type"] != "notification.removed":
            frames.append(await tab.receive_json_from(timeout=1))
        self.assertEqual(frames[-1]["unread"], 0)
        await self.assertCurrent(self.bob, hello, frames)
