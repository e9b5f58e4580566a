"""Announcements: staff write one in the admin, to everyone or to a room's members, and
each of them finds it in their inbox, live."""

from django.core.cache import cache
from django.test import TestCase
from django.urls import reverse

from chat import events
from chat.errors import ChatError
from chat.tests.factories import add_member, make_room, make_user
from notifications import services
from notifications.models import Announcement, Notification


class AnnouncementTests(TestCase):
    def setUp(self):
        cache.clear()
        self.staff = make_user("root", is_staff=True, is_superuser=True)
        self.alice, self.bob, self.carol = (make_user(n) for n in ("alice", "bob", "carol"))
        self.room = make_room("General")
        add_member(self.room, self.alice)
        add_member(self.room, self.bob)
        add_member(self.room, self.carol, banned=True)
        self.client.force_login(self.staff)

    def announce(self, body, room=None):
        url = reverse("admin:notifications_announcement_add")
        form = {"body": body, "room": room.pk if room else ""}
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(url, form)
        return response, sent

    def test_to_a_room_reaches_its_members_live_and_waits_in_their_inbox(self):
        response, sent = self.announce("Maintenance at 22:00", room=self.room)
        self.assertEqual(response.status_code, 302)
        notified = Notification.objects.filter(kind="announcement").order_by("user__username")
        self.assertEqual([n.user.username for n in notified], ["alice", "bob"])  # not banned
        self.assertEqual(
            [(event.kind, event.audience) for event in sent],
            [
                ("notification.new", events.to_users([self.alice.pk])),
                ("notification.new", events.to_users([self.bob.pk])),
            ],
        )
        self.assertEqual(sent[0].data["unread"], 1)
        self.client.force_login(self.bob)
        [item] = self.client.get(reverse("notifications:api_notifications")).json()["notifications"]
        self.assertEqual(
            (item["kind"], item["reason"], item["text"], item["room"]["slug"]),
            ("announcement", "@root announced in #General", "Maintenance at 22:00", "general"),
        )

    def test_to_everyone_reaches_every_active_account_but_the_author(self):
        self.carol.is_active = False
        self.carol.save()
        _response, sent = self.announce("Welcome, everyone")
        notified = set(Notification.objects.values_list("user__username", flat=True))
        self.assertEqual(notified, {"alice", "bob"})
        self.assertEqual(len(sent), 2)
        self.assertEqual(Announcement.objects.get().author, self.staff)

    def test_an_empty_or_too_long_announcement_is_refused_and_sends_nothing(self):
        for body in ["   ", "x" * 1001]:
            response, sent = self.announce(body)
            self.assertEqual(response.status_code, 200)  # the form again, with the error
            self.assertEqual(sent, [])
        self.assertFalse(Announcement.objects.exists())
        with self.assertRaises(ChatError) as refused:
            services.announcement_publish(author=self.staff, body="  ")
        self.assertEqual(refused.exception.code, "empty")

    def test_an_announcement_cannot_be_changed_or_deleted_once_sent(self):
        self.announce("Sent")
        announcement = Announcement.objects.get()
        change = reverse("admin:notifications_announcement_change", args=[announcement.pk])
        delete = reverse("admin:notifications_announcement_delete", args=[announcement.pk])
        self.assertEqual(self.client.post(change, {"body": "Changed"}).status_code, 403)
        self.assertEqual(self.client.post(delete, {"post": "yes"}).status_code, 403)
        self.assertEqual(Announcement.objects.get().body, "Sent")
