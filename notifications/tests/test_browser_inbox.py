"""The inbox in Chromium: the bell, the /notifications/ page and the announcement banner,
live on every tab of the user (static/js/chat/inbox.js, bell_ui.js, inbox_page.js,
announcements_ui.js), over the tab's one socket (static/js/app.js).

The live server is another process with its own in-memory channel layer: every change
that must reach open sockets is made through a page of the live server (alice's room
page, the admin, bob's own pages), never through the ORM of this process. Rows made
before a page opens reach it in the tab's hello.
"""

import time

from django.contrib.auth import get_user_model
from django.urls import reverse

from chat.models import Message
from chat.tests.factories import add_member
from chat.tests.test_browser import PASSWORD, BrowserTestCase
from notifications.models import Notification

from .factories import make_notification

# How soon after alice sends a mention bob's bell must count it, on every tab.
LIVE_WITHIN_S = 1.0
POLL_S = 0.02

BELL_COUNT = """() => {
  const count = document.querySelector('[data-js="bell-count"]');
  return count.hidden ? "" : count.textContent;
}"""
INBOX_ITEMS = """() => [...document.querySelectorAll('[data-js="inbox-list"] > .inbox-item')]
  .map((li) => ({
    id: Number(li.dataset.id),
    unread: li.classList.contains("is-unread"),
    reason: li.querySelector('[data-js="item-link"]').textContent,
    href: li.querySelector('[data-js="item-link"]').getAttribute("href"),
  }))"""


class InboxInBrowserTests(BrowserTestCase):
    """Bob follows his inbox on two tabs while alice and staff make him notifications."""

    def setUp(self):
        super().setUp()
        add_member(self.room, self.bob)
        self.inbox_url = reverse("notifications:inbox")

    # --- helpers ----------------------------------------------------------------------

    def bob_tabs(self, *paths):
        """Log bob in once, then open a tab of his on each path; wait for their inbox."""
        context = self.new_context()
        tabs = []
        for number, path in enumerate(paths):
            page = self.watched_page(context, f"bob tab {number + 1}")
            if number == 0:
                self.log_in(page, self.bob, path)
            else:
                page.goto(f"{self.live_server_url}{path}")
            self.wait_for_inbox(page)
            # Gone after a reload: what follows must happen live.
            page.evaluate("window.sameDocument = true")
            tabs.append(page)
        return tabs

    def wait_for_inbox(self, page):
        """Wait until the tab's hello has reached the bell (its label counts from then)."""
        page.locator('[data-js="bell-button"][aria-label^="Notifications, "]').wait_for()

    def wait_for_bell(self, page, text):
        page.wait_for_function(f"() => ({BELL_COUNT})() === {text!r}")

    def assert_not_reloaded(self, *pages):
        for page in pages:
            self.assertTrue(page.evaluate("window.sameDocument === true"))

    # --- tests ------------------------------------------------------------------------

    def test_a_mention_rings_the_bell_on_every_tab_and_tops_the_inbox_page(self):
        rooms_tab, inbox_tab = self.bob_tabs(reverse("chat:room_list"), self.inbox_url)
        self.assertEqual(rooms_tab.evaluate(BELL_COUNT), "")
        self.assertEqual(inbox_tab.locator('[data-js="inbox-unread"]').text_content(), "0 unread")
        alice = self.open_room_as(self.alice)

        self.type_and_send(alice, "@bob have a look")
        sent_at = time.monotonic()
        while [tab.evaluate(BELL_COUNT) for tab in (rooms_tab, inbox_tab)] != ["1", "1"]:
            self.assertLess(time.monotonic() - sent_at, LIVE_WITHIN_S, "the bell did not ring")
            time.sleep(POLL_S)

        message = Message.objects.get(room=self.room, body="@bob have a look")
        notification = Notification.objects.get(user=self.bob, message=message)
        button = rooms_tab.locator('[data-js="bell-button"]')
        self.assertEqual(button.get_attribute("aria-label"), "Notifications, 1 unread")
        # The inbox page shows it on top, unread, linking to the message.
        inbox_tab.locator(f'.inbox-item[data-id="{notification.pk}"]').wait_for()
        self.assertEqual(
            inbox_tab.evaluate(INBOX_ITEMS),
            [
                {
                    "id": notification.pk,
                    "unread": True,
                    "reason": "@alice mentioned you in #Lobby",
                    "href": f"{self.room.get_absolute_url()}#message-{message.pk}",
                }
            ],
        )
        self.assertEqual(inbox_tab.locator('[data-js="inbox-unread"]').text_content(), "1 unread")
        self.assertFalse(inbox_tab.locator('[data-js="inbox-empty"]').is_visible())

        # The bell's dropdown, by keyboard: Space opens it, the arrows walk it, Escape closes.
        button.focus()
        rooms_tab.keyboard.press("Space")
        menu = rooms_tab.locator('[data-js="bell-menu"]')
        menu.wait_for()
        self.assertEqual(button.get_attribute("aria-expanded"), "true")
        item = menu.locator(".bell-item").first
        self.assertIn("@alice mentioned you in #Lobby", item.text_content())
        self.assertIn("#Lobby", item.locator(".bell-meta").text_content())
        self.assertEqual(item.get_attribute("class"), "bell-item is-unread")
        rooms_tab.keyboard.press("ArrowDown")
        self.assertTrue(menu.evaluate("(menu) => menu.contains(document.activeElement)"))
        rooms_tab.keyboard.press("Escape")
        menu.wait_for(state="hidden")
        self.assertTrue(button.evaluate("(button) => button === document.activeElement"))
        # A click outside closes it too.
        button.click()
        menu.wait_for()
        rooms_tab.locator("main").click(position={"x": 5, "y": 5})
        menu.wait_for(state="hidden")

        # Clicking the notification opens the message and marks it read.
        button.click()
        menu.locator(".bell-link").first.click()
        rooms_tab.wait_for_url(f"**{self.room.get_absolute_url()}#message-{message.pk}")
        self.wait_for_bell(inbox_tab, "")
        self.assertIsNotNone(Notification.objects.get(pk=notification.pk).read_at)
        self.assertEqual(inbox_tab.evaluate(INBOX_ITEMS)[0]["unread"], False)
        self.assert_not_reloaded(inbox_tab)
        self.assertEqual(self.problems, [])

    def test_marking_read_on_one_tab_clears_the_other_tabs(self):
        invited = make_notification(
            self.bob, kind="invitation", reason="@alice invited you to #Lobby", room=self.room
        )
        mentioned = make_notification(
            self.bob, kind="mention", reason="@alice mentioned you in #Lobby", room=self.room
        )
        rooms_tab, inbox_tab = self.bob_tabs(reverse("chat:room_list"), self.inbox_url)
        for tab in (rooms_tab, inbox_tab):
            self.wait_for_bell(tab, "2")

        # "Mark read" on the page: through the API, without a reload.
        mark = f'.inbox-item[data-id="{mentioned.pk}"] [data-js="item-mark"] button'
        inbox_tab.locator(mark).click()
        self.wait_for_bell(rooms_tab, "1")
        self.wait_for_bell(inbox_tab, "1")
        self.assertEqual(
            [(item["id"], item["unread"]) for item in inbox_tab.evaluate(INBOX_ITEMS)],
            [(mentioned.pk, False), (invited.pk, True)],
        )

        # "Mark all as read" in the other tab's dropdown.
        rooms_tab.locator('[data-js="bell-button"]').click()
        rooms_tab.locator('[data-js="bell-mark-all"]').click()
        self.wait_for_bell(inbox_tab, "")
        self.wait_for_bell(rooms_tab, "")
        inbox_tab.locator('[data-js="inbox-mark-all"]').wait_for(state="hidden")
        self.assertEqual(
            [(item["id"], item["unread"]) for item in inbox_tab.evaluate(INBOX_ITEMS)],
            [(mentioned.pk, False), (invited.pk, False)],
        )
        self.assertEqual(inbox_tab.locator('[data-js="inbox-unread"]').text_content(), "0 unread")
        self.assertEqual(
            rooms_tab.locator('[data-js="bell-button"]').get_attribute("aria-label"),
            "Notifications, 0 unread",
        )
        self.assertFalse(Notification.objects.filter(user=self.bob, read_at=None).exists())
        self.assert_not_reloaded(rooms_tab, inbox_tab)
        self.assertEqual(self.problems, [])

    def test_an_announcement_shows_its_banner_live_and_a_dismissal_clears_every_tab(self):
        staff = get_user_model().objects.create_superuser(username="staff", password=PASSWORD)
        rooms_tab, room_tab = self.bob_tabs(reverse("chat:room_list"), self.room.get_absolute_url())
        for tab in (rooms_tab, room_tab):
            self.assertFalse(tab.locator('[data-js="announcement"]').is_visible())

        admin = self.watched_page(self.new_context(), "staff")
        add_url = reverse("admin:notifications_announcement_add")
        admin.goto(f"{self.live_server_url}{reverse('admin:login')}?next={add_url}")
        admin.fill("#id_username", staff.username)
        admin.fill("#id_password", PASSWORD)
        admin.click("input[type=submit]")
        admin.wait_for_url(f"**{add_url}")
        text = "Maintenance <b>tonight</b> at 22:00"
        admin.fill("#id_body", text)
        admin.click("input[name=_save]")

        for tab in (rooms_tab, room_tab):
            banner = tab.locator('[data-js="announcement"]')
            banner.wait_for()
            self.assertEqual(banner.locator('[data-js="announcement-text"]').text_content(), text)
            self.assertEqual(
                banner.locator('[data-js="announcement-reason"]').text_content(),
                "@staff announced to everyone",
            )
            self.assertEqual(banner.locator("b").count(), 0)
            self.wait_for_bell(tab, "1")

        room_tab.locator('[data-js="announcement-dismiss"]').click()
        rooms_tab.locator('[data-js="announcement"]').wait_for(state="hidden")
        room_tab.locator('[data-js="announcement"]').wait_for(state="hidden")
        self.wait_for_bell(rooms_tab, "")
        self.assertIsNotNone(Notification.objects.get(user=self.bob).read_at)
        self.assert_not_reloaded(rooms_tab, room_tab)
        self.assertEqual(self.problems, [])
