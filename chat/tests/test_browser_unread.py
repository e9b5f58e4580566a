"""Unread counts, mentions and read markers in real browsers, on the tab's one socket.

Two people in their own browser contexts: a mention in a room bob does not have open
raises that room's badge in his sidebar, his bell and his tab's title within a second,
and reading the room on one of his tabs clears all of it on the other.
"""

import time

from chat import services
from chat.models import Membership

from .test_browser import BrowserTestCase

# The product's promise: what happens elsewhere shows within a second.
WITHIN_MS = 1000


class UnreadInBrowserTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        self.garden = services.room_create(name="Garden", created_by=self.alice)
        for room in (self.room, self.garden):
            Membership.objects.get_or_create(room=room, user=self.bob)

    def open_room(self, context, room):
        page = context.new_page()
        page.set_default_timeout(10_000)
        name = "bob-tab"
        page.on("pageerror", lambda error: self.problems.append(f"{name}: {error}"))
        page.goto(f"{self.live_server_url}{room.get_absolute_url()}")
        self.wait_until_live(page)
        return page

    def badge(self, page, room, kind="unread"):
        return page.locator(f'.sidebar [data-unread-slug="{room.slug}"] .badge-{kind}')

    def test_a_mention_elsewhere_shows_in_sidebar_bell_and_title_within_a_second(self):
        bob = self.open_room_as(self.bob)  # bob looks at the Lobby
        self.room = self.garden
        alice = self.open_room_as(self.alice)  # alice writes in the Garden
        self.assertEqual(bob.title(), "#Lobby")

        self.type_and_send(alice, "@bob look at the roses")
        started = time.monotonic()
        self.badge(bob, self.garden, "mention").wait_for(timeout=WITHIN_MS)
        self.assertEqual(self.badge(bob, self.garden, "mention").text_content(), "@1")
        self.assertEqual(self.badge(bob, self.garden).text_content(), "1")
        bob.locator('[data-js="bell-count"]:not([hidden])').wait_for(timeout=WITHIN_MS)
        self.assertEqual(bob.locator('[data-js="bell-count"]').text_content(), "1")
        bob.wait_for_function("document.title === '(1) #Lobby'", timeout=WITHIN_MS)
        self.assertLess(time.monotonic() - started, WITHIN_MS / 1000 + 0.5)
        self.assertEqual(self.problems, [])

    def test_reading_on_one_tab_clears_the_other(self):
        context = self.signed_in_context(self.bob)
        lobby = self.open_room(context, self.room)
        self.room = self.garden
        alice = self.open_room_as(self.alice)
        self.type_and_send(alice, "@bob news")
        self.badge(lobby, self.garden, "mention").wait_for()
        lobby.wait_for_function("document.title === '(1) #Lobby'")

        garden = self.open_room(context, self.garden)
        garden.bring_to_front()
        # Shown in a focused window: read. The other tab hears it and clears.
        self.badge(lobby, self.garden, "mention").wait_for(state="hidden", timeout=WITHIN_MS * 3)
        self.badge(lobby, self.garden).wait_for(state="hidden")
        lobby.wait_for_function("document.title === '#Lobby'")
        membership = Membership.objects.get(room=self.garden, user=self.bob)
        self.garden.refresh_from_db()
        self.assertEqual(membership.last_read_rev, self.garden.rev)
        self.assertEqual(self.problems, [])

    def test_muting_a_room_reaches_every_tab_and_the_title(self):
        context = self.signed_in_context(self.bob)
        lobby = self.open_room(context, self.room)
        garden = self.open_room(context, self.garden)
        self.room = self.garden
        alice = self.open_room_as(self.alice)
        garden.locator('[data-js="notify-muted"]').check()
        muted = lobby.locator(f'.sidebar [data-unread-slug="{self.garden.slug}"].is-muted-room')
        muted.wait_for(timeout=WITHIN_MS)
        self.assertEqual(garden.locator('[data-js="notify-level"]').input_value(), "default")
        # A muted room keeps its count but stays out of the title's total.
        lobby.bring_to_front()
        self.type_and_send(alice, "quiet news")
        self.badge(lobby, self.garden).wait_for()
        self.assertEqual(lobby.title(), "#Lobby")
        garden.reload()
        garden.locator('[data-js="room-notify"]:not([hidden])').wait_for()
        self.assertTrue(garden.locator('[data-js="notify-muted"]').is_checked())
        self.assertEqual(self.problems, [])
