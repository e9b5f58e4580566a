"""The inbox page (/notifications/) and its forms, which work without JavaScript."""

import re

from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chat import events
from chat.tests.factories import add_member, make_message, make_room, make_user
from notifications import selectors, services
from notifications.models import Notification

from .factories import make_notification, send_mentions_changed

INBOX_URL = reverse("notifications:inbox")
READ_URL = reverse("notifications:inbox_read")


def item_ids(response) -> list[int]:
    """The ids of the notifications a page lists, in order (the item template not included)."""
    page = response.content.decode()
    listed = page.split('data-js="inbox-list"', 1)[1].split("</ol>", 1)[0]
    return [int(value) for value in re.findall(r'class="inbox-item[^"]*" data-id="(\d+)"', listed)]


class InboxPageTestCase(TestCase):
    def setUp(self):
        self.alice, self.bob = make_user("alice"), make_user("bob")
        self.room = make_room("General")
        add_member(self.room, self.alice)
        add_member(self.room, self.bob)
        self.client.force_login(self.bob)

    def mention_bob(self):
        message = make_message(self.room, self.alice, "hi @bob")
        send_mentions_changed(message, added={self.bob.pk: "user"})
        return message, Notification.objects.get(message=message, user=self.bob)

    def test_login_required(self):
        notification = make_notification(self.bob)
        self.client.logout()
        for response in (
            self.client.get(INBOX_URL),
            self.client.post(READ_URL, {"id": notification.pk}),
            self.client.post(READ_URL, {"all": "true"}),
        ):
            self.assertEqual(response.status_code, 302)
            self.assertTrue(response["Location"].startswith(reverse("login")))
        self.assertIsNone(Notification.objects.get().read_at)

    def test_lists_the_users_notifications_newest_first_with_what_they_say(self):
        message, mention = self.mention_bob()
        random = make_room("Random")
        in_room = make_notification(self.bob, kind="invitation", room=random, actor=self.alice)
        everyone = make_notification(self.bob, reason="@staff announced to everyone", read=True)
        make_notification(self.alice, reason="For alice only")

        response = self.client.get(INBOX_URL)

        self.assertEqual(response.status_code, 200)
        self.assertTemplateUsed(response, "notifications/inbox.html")
        self.assertEqual(item_ids(response), [everyone.pk, in_room.pk, mention.pk])
        self.assertNotContains(response, "For alice only")
        self.assertContains(response, "2 unread")
        self.assertContains(response, "@alice mentioned you in #General")
        # Each links where it happened: the message, the room, or (neither) the inbox.
        self.assertContains(response, f'href="/rooms/general/#message-{message.pk}"')
        self.assertContains(response, 'data-js="item-link" href="/rooms/random/"')
        self.assertContains(response, f'data-js="item-link" href="{INBOX_URL}"')
        self.assertContains(response, "@alice</span>")
        self.assertContains(response, ">#Random</a>")
        self.assertContains(response, "just now</time>")
        page = response.content.decode()
        self.assertIn(f'class="inbox-item is-unread" data-id="{mention.pk}"', page)
        self.assertIn(f'class="inbox-item" data-id="{everyone.pk}"', page)
        # "Mark all as read" is offered while something is unread.
        self.assertNotRegex(page, r'data-js="inbox-mark-all" hidden')

    def test_an_announcement_shows_its_text(self):
        staff = make_user("staff", is_staff=True)
        services.announcement_publish(author=staff, body="Maintenance at <b>noon</b>")
        response = self.client.get(INBOX_URL)
        self.assertContains(response, "@staff announced to everyone")
        self.assertContains(response, "Maintenance at &lt;b&gt;noon&lt;/b&gt;")

    def test_nothing_unread_and_nothing_at_all(self):
        response = self.client.get(INBOX_URL)
        self.assertEqual(item_ids(response), [])
        self.assertContains(response, "0 unread")
        self.assertContains(response, "Nothing here yet")
        self.assertRegex(response.content.decode(), r'data-js="inbox-mark-all" hidden')
        self.assertNotContains(response, "Older</a>")

    def test_keyset_paged_with_before(self):
        Notification.objects.bulk_create(
            Notification(user=self.bob, kind="announcement", reason=f"n{i}")
            for i in range(selectors.PAGE_SIZE + 3)
        )
        ids = list(Notification.objects.filter(user=self.bob).values_list("pk", flat=True))
        ids.sort(reverse=True)

        first = self.client.get(INBOX_URL)
        self.assertEqual(item_ids(first), ids[: selectors.PAGE_SIZE])
        last_shown = ids[selectors.PAGE_SIZE - 1]
        self.assertContains(first, f'href="?before={last_shown}" rel="next">Older</a>')
        self.assertNotContains(first, ">Newest</a>")

        older = self.client.get(INBOX_URL, {"before": last_shown})
        self.assertEqual(item_ids(older), ids[selectors.PAGE_SIZE :])
        self.assertNotContains(older, "Older</a>")
        self.assertContains(older, ">Newest</a>")
        self.assertEqual(item_ids(self.client.get(INBOX_URL, {"before": ids[-1]})), [])

    def test_a_bad_before_is_a_clear_400(self):
        for value in ("x", "0", "-1", "9" * 30):
            with self.subTest(before=value):
                response = self.client.get(INBOX_URL, {"before": value})
                self.assertEqual(response.status_code, 400)
                self.assertIn(b"'before'", response.content)

    def test_the_page_takes_the_same_queries_at_any_size(self):
        counts = []
        for size in (1, 15):
            while Notification.objects.filter(user=self.bob).count() < size:
                author = make_user(f"author{Notification.objects.count()}")
                add_member(self.room, author)
                message = make_message(self.room, author, "@bob")
                send_mentions_changed(message, added={self.bob.pk: "user"})
            with CaptureQueriesContext(connection) as queries:
                self.assertEqual(len(item_ids(self.client.get(INBOX_URL))), size)
            counts.append(len(queries))
        self.assertEqual(counts[0], counts[1])


class InboxFormsTestCase(TestCase):
    def setUp(self):
        self.alice, self.bob = make_user("alice"), make_user("bob")
        self.client.force_login(self.bob)

    def test_marking_one_read_goes_back_and_tells_the_sockets(self):
        first, second = make_notification(self.bob), make_notification(self.bob)
        next_url = f"{INBOX_URL}?before={second.pk + 1}"
        with events.captured_events() as captured, self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(READ_URL, {"id": first.pk, "next": next_url})
        self.assertRedirects(response, next_url, fetch_redirect_response=False)
        first.refresh_from_db()
        second.refresh_from_db()
        self.assertIsNotNone(first.read_at)
        self.assertIsNone(second.read_at)
        self.assertEqual(
            [(event.kind, event.data) for event in captured],
            [("notifications.read", {"ids": [first.pk], "unread": 1})],
        )
        page = self.client.get(INBOX_URL)
        self.assertIn(f'class="inbox-item" data-id="{first.pk}"', page.content.decode())
        self.assertContains(page, "1 unread")

    def test_marking_all_read(self):
        mine = [make_notification(self.bob) for _ in range(3)]
        alices = make_notification(self.alice)
        response = self.client.post(READ_URL, {"all": "true", "next": INBOX_URL})
        self.assertRedirects(response, INBOX_URL)
        self.assertFalse(
            Notification.objects.filter(pk__in=[n.pk for n in mine], read_at=None).exists()
        )
        self.assertIsNone(Notification.objects.get(pk=alices.pk).read_at)

    def test_other_users_ids_are_refused(self):
        mine = make_notification(self.bob)
        alices = make_notification(self.alice)
        with events.captured_events() as captured, self.captureOnCommitCallbacks(execute=True):
            for notification_id in (alices.pk, alices.pk + 1000):
                response = self.client.post(READ_URL, {"id": notification_id})
                self.assertRedirects(response, INBOX_URL)
        self.assertIsNone(Notification.objects.get(pk=alices.pk).read_at)
        self.assertIsNone(Notification.objects.get(pk=mine.pk).read_at)
        self.assertEqual(captured, [])
        # And the page never shows them.
        self.assertEqual(item_ids(self.client.get(INBOX_URL)), [mine.pk])

    def test_bad_forms_are_a_clear_400_and_mark_nothing(self):
        notification = make_notification(self.bob)
        for data in (
            {},
            {"id": ""},
            {"id": "x"},
            {"id": "0"},
            {"id": "1.5"},
            {"id": "9" * 30},
            {"all": "yes"},
            {"id": [str(notification.pk)] * 1001},
        ):
            with self.subTest(data=data):
                response = self.client.post(READ_URL, data)
                self.assertEqual(response.status_code, 400)
                self.assertTrue(response.content)
        self.assertIsNone(Notification.objects.get().read_at)
        self.assertEqual(self.client.get(READ_URL).status_code, 405)

    def test_next_must_be_a_page_of_this_site(self):
        notification = make_notification(self.bob)
        for next_url in ("https://evil.example/", "//evil.example/x", ""):
            with self.subTest(next=next_url):
                response = self.client.post(READ_URL, {"id": notification.pk, "next": next_url})
                self.assertRedirects(response, INBOX_URL)

    def test_needs_the_csrf_token(self):
        notification = make_notification(self.bob)
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.bob)
        self.assertEqual(client.post(READ_URL, {"id": notification.pk}).status_code, 403)
        self.assertIsNone(Notification.objects.get().read_at)


class TopBarTestCase(TestCase):
    """The bell and the announcement banner are on every page of a signed-in user."""

    def test_signed_in_pages_have_the_bell_and_the_banner(self):
        self.client.force_login(make_user("bob"))
        response = self.client.get(reverse("chat:room_list"))
        page = response.content.decode()
        self.assertIn('data-js="bell"', page)
        self.assertIn(f'class="bell-button" data-js="bell-button" href="{INBOX_URL}"', page)
        self.assertRegex(page, r'data-js="bell-count" aria-hidden="true" hidden')
        self.assertRegex(page, r'data-js="announcement" role="status" hidden')

    def test_signed_out_pages_have_neither(self):
        page = self.client.get(reverse("login")).content.decode()
        self.assertNotIn('data-js="bell"', page)
        self.assertNotIn('data-js="announcement"', page)
