"""Search in Chromium (issue 17): from the top bar's box to the results page, grouped by
room with the matched words marked, more results by keyset; a result far back opens its
room around the message, highlighted among its neighbours, away from the live end until
the reader scrolls down to it (new messages held meanwhile); a bad operator says why; and
the results page without JavaScript."""

import re
from datetime import timedelta

from django.test import SimpleTestCase
from django.urls import reverse

from chat import services
from chat.models import Membership, Message
from chat.views_search import highlight_parts

from .factories import make_message, make_room
from .test_browser import BrowserTestCase

# Kathmandu is 5 h 45 min ahead of UTC: a local time shows other minutes than UTC's.
TIME_ZONE = "Asia/Kathmandu"
TIME_ZONE_OFFSET = timedelta(hours=5, minutes=45)
TARGET_AT = 40  # the message opened from the results, several pages back of 300
LATER_AT = 280
GARDEN_MATCHES = 18  # with the conversation and the Lobby's later one: a first page of 20


class SearchInBrowserTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        # The Lobby: 300 messages, two of them about the zeppelin.
        self.lobby_ids = []
        for i in range(300):
            author, body = self.bob, f"message {i:03d}"
            if i == TARGET_AT:
                author, body = self.alice, "the zeppelin plan is ready"
            elif i == LATER_AT:
                body = "zeppelin spotted over the harbour"
            self.lobby_ids.append(make_message(self.room, author, body).pk)
        self.target = self.lobby_ids[TARGET_AT]
        self.direct, _created = services.direct_open(starter=self.alice, usernames=["bob"])
        make_message(self.direct, self.bob, "a zeppelin ride for two?")
        # The Garden, newest: its results come first.
        self.garden = make_room("Garden")
        for i in range(GARDEN_MATCHES - 1):
            make_message(self.garden, self.bob, f"zeppelin tour number {i}")
        self.tricky = make_message(
            self.garden, self.bob, "<img src=x onerror=alert(1)> zeppelin & co"
        )

    # --- helpers ----------------------------------------------------------------------

    def page_in_time_zone(self, user, path):
        context = self.new_context(timezone_id=TIME_ZONE)
        page = self.watched_page(context, user.username)
        self.log_in(page, user, path)
        return page

    def search_from_top_bar(self, page, text):
        page.locator("main").click(position={"x": 5, "y": 5})  # nowhere one types
        page.keyboard.press("/")
        box = page.locator('[data-js="search-input"]')
        self.assertTrue(box.evaluate("(box) => box === document.activeElement"))
        box.press_sequentially(text)
        box.press("Enter")
        page.wait_for_url(re.compile(r"/search/\?q="))

    def groups(self, page):
        """[(room slug, room title, [message ids])] as the results page shows them."""
        return page.evaluate(
            """() => [...document.querySelectorAll("#search .search-group")].map((group) => [
                group.dataset.roomSlug,
                group.querySelector(".search-room-name").textContent,
                [...group.querySelectorAll(".search-result")].map((li) => Number(li.dataset.id)),
            ])"""
        )

    def shown_ids(self, page):
        return page.eval_on_selector_all(
            '[data-js="messages"] li[data-id]',
            "(items) => items.map((li) => Number(li.dataset.id))",
        )

    def read_marker(self, user):
        return Membership.objects.get(room=self.room, user=user).last_read_rev

    # --- tests ------------------------------------------------------------------------

    def test_search_then_open_a_result_far_back_and_scroll_down_to_the_present(self):
        bob = self.open_room_as(self.bob)
        alice = self.page_in_time_zone(self.alice, reverse("chat:room_list"))
        self.search_from_top_bar(alice, "zeppelin")

        # Grouped by room, newest first: the Garden, the conversation (called by the other
        # person's name), then the Lobby.
        garden_ids = list(
            Message.objects.filter(room=self.garden).order_by("-pk").values_list("pk", flat=True)
        )
        direct_id = Message.objects.get(room=self.direct).pk
        later = self.lobby_ids[LATER_AT]
        self.assertEqual(
            self.groups(alice),
            [
                ["garden", "Garden", garden_ids],
                [self.direct.slug, "bob", [direct_id]],
                ["lobby", "Lobby", [later]],
            ],
        )
        marks = alice.locator("#search .search-highlight mark").all_text_contents()
        self.assertEqual([mark.lower() for mark in marks], ["zeppelin"] * 20)
        # The highlight's text is text: the "tag" in the message shows as typed.
        tricky = alice.locator(f'.search-result[data-id="{self.tricky.pk}"] .search-highlight')
        self.assertEqual(tricky.text_content(), "<img src=x onerror=alert(1)> zeppelin & co")
        self.assertEqual(alice.locator(".search-highlight img").count(), 0)
        # Times in the reader's time zone.
        time_text = tricky.locator("xpath=..").locator("time").text_content()
        local = self.tricky.created_at + TIME_ZONE_OFFSET
        self.assertNotIn("UTC", time_text)
        self.assertRegex(time_text, rf"\b{local.hour % 12 or 12}:{local.minute:02d}|{local:%H:%M}")

        # More results: the next page, its Lobby result in the Lobby's group.
        alice.locator('[data-js="search-more"]').click()
        alice.locator(f'.search-result[data-id="{self.target}"]').wait_for()
        self.assertEqual(self.groups(alice)[-1], ["lobby", "Lobby", [later, self.target]])
        self.assertEqual(len(self.groups(alice)), 3)
        alice.locator('[data-js="search-more"]').wait_for(state="hidden")

        # Open the result far back: the room around it, the message in view and marked.
        alice.locator(f'.search-result[data-id="{self.target}"] a').click()
        alice.wait_for_url(f"**/rooms/lobby/?around={self.target}#message-{self.target}")
        alice.wait_for_function(
            f"""() => {{
                const li = document.querySelector('li.message[data-id="{self.target}"]');
                if (!li) return false;
                const box = li.getBoundingClientRect();
                const pane = document.querySelector('[data-js="timeline"]').getBoundingClientRect();
                return li.classList.contains("is-jumped-to")
                    && box.top >= pane.top && box.bottom <= pane.bottom;
            }}"""
        )
        shown = self.shown_ids(alice)
        self.assertIn(self.lobby_ids[TARGET_AT - 1], shown)  # its neighbours, both ways
        self.assertIn(self.lobby_ids[TARGET_AT + 1], shown)
        self.assertNotIn(self.lobby_ids[-1], shown)  # not the live end
        present = alice.locator('[data-js="jump-to-present"]')
        self.assertTrue(present.is_visible())

        # While away from the live end, a new message is not drawn below the wrong ones,
        # and the read marker stays with what was on screen.
        self.type_and_send(bob, "sent while you were away")
        self.shown_message(bob, "sent while you were away").wait_for()
        alice.wait_for_timeout(1000)
        self.assertEqual(self.shown_message(alice, "sent while you were away").count(), 0)
        window_bottom = Message.objects.get(pk=max(self.shown_ids(alice))).created_rev
        self.assertLessEqual(self.read_marker(self.alice), window_bottom)

        # Scrolling down loads the newer pages until the live end, live again.
        alice.wait_for_function(
            """() => {
                const pane = document.querySelector('[data-js="timeline"]');
                pane.scrollTop = pane.scrollHeight;
                return document.querySelector('[data-js="jump-to-present"]').hidden;
            }""",
            polling=200,
        )
        sent = Message.objects.get(body="sent while you were away").pk
        shown = self.shown_ids(alice)
        first = self.lobby_ids.index(shown[0])
        self.assertLessEqual(first, TARGET_AT)
        self.assertEqual(shown, [*self.lobby_ids[first:], sent])  # every one, once, in order
        self.type_and_send(bob, "and now you are back")
        self.shown_message(alice, "and now you are back").wait_for()
        self.assertEqual(self.problems, [])

    def test_jump_to_the_present_and_sending_from_far_back(self):
        alice = self.page_in_time_zone(self.alice, self.room.get_absolute_url())
        self.wait_until_live(alice)
        alice.goto(f"{self.live_server_url}{self.room.get_absolute_url()}#message-{self.target}")
        alice.locator(f'li[data-id="{self.target}"].is-jumped-to').wait_for()
        present = alice.locator('[data-js="jump-to-present"]')
        present.click()
        present.wait_for(state="hidden")
        self.assertEqual(self.shown_ids(alice)[-1], self.lobby_ids[-1])
        self.assertEqual(self.shown_ids(alice)[0], self.lobby_ids[-50])
        self.assertNotIn("#message-", alice.url)
        # "/" is the composer's own there: it types, and the box stays closed.
        composer = alice.locator("#composer-input")
        composer.press_sequentially("a/b")
        self.assertEqual(composer.input_value(), "a/b")
        composer.fill("")
        # Sending from far back goes back to the live end, where the message shows.
        alice.evaluate(f"window.location.hash = '#message-{self.target}'")
        alice.locator(f'li[data-id="{self.target}"].is-jumped-to').wait_for()
        present.wait_for()
        self.type_and_send(alice, "back to the present")
        self.shown_message(alice, "back to the present").wait_for()
        present.wait_for(state="hidden")
        self.assertEqual(self.problems, [])

    def test_first_results_as_one_types_open_by_keyboard(self):
        alice = self.page_as(self.alice, reverse("chat:room_list"))
        box = alice.locator('[data-js="search-input"]')
        box.press_sequentially("zeppelin plan")
        dropdown = alice.locator('[data-js="search-dropdown"]')
        first = dropdown.locator(".search-dropdown-link").first
        first.wait_for()
        self.assertEqual(dropdown.locator(".search-dropdown-link").count(), 1)
        self.assertEqual(first.locator("mark").all_text_contents(), ["zeppelin", "plan"])
        self.assertIn("#Lobby", first.text_content())
        box.press("Escape")  # closes the dropdown, and keeps the words
        dropdown.wait_for(state="hidden")
        self.assertEqual(box.input_value(), "zeppelin plan")
        box.press_sequentially(" ")  # typing again asks again
        first.wait_for()
        box.press("ArrowDown")
        self.assertTrue(first.evaluate("(link) => link === document.activeElement"))
        alice.keyboard.press("Enter")
        alice.wait_for_url(f"**/rooms/lobby/?around={self.target}#message-{self.target}")
        alice.locator(f'li[data-id="{self.target}"].is-jumped-to').wait_for()
        self.assertEqual(self.problems, [])

    def test_a_bad_operator_says_what_is_wrong(self):
        alice = self.page_as(self.alice, reverse("chat:room_list"))
        self.search_from_top_bar(alice, "colour:red zeppelin")
        error = alice.locator('[data-js="search-error"]')
        self.assertIn("There is no operator colour:", error.text_content())
        self.assertEqual(alice.locator(".search-group").count(), 0)
        self.assertEqual(
            alice.locator('[data-js="search-input"]').input_value(), "colour:red zeppelin"
        )
        self.assertEqual(self.problems, [])

    def test_the_results_page_without_javascript(self):
        alice = self.page_as(self.alice, f"{reverse('chat:search')}?q=zeppelin", javascript=False)
        groups = self.groups(alice)
        self.assertEqual(
            [slug for slug, _title, _ids in groups], ["garden", self.direct.slug, "lobby"]
        )
        self.assertEqual(groups[1][1], "bob")
        marks = alice.locator(".search-highlight mark").all_text_contents()
        self.assertEqual(len(marks), 20)
        tricky = alice.locator(f'.search-result[data-id="{self.tricky.pk}"]')
        self.assertEqual(
            tricky.locator(".search-highlight").text_content(),
            "<img src=x onerror=alert(1)> zeppelin & co",
        )
        self.assertTrue(tricky.locator("time").text_content().endswith("UTC"))
        later = self.lobby_ids[LATER_AT]
        link = alice.locator(f'.search-result[data-id="{later}"] a').get_attribute("href")
        self.assertEqual(link, f"/rooms/lobby/?around={later}#message-{later}")
        # "More results" is a link to the next page.
        alice.locator('[data-js="search-more"]').click()
        alice.wait_for_url(re.compile(r"before="))
        self.assertEqual(self.groups(alice), [["lobby", "Lobby", [self.target]]])
        self.assertEqual(alice.locator('[data-js="search-more"]').count(), 0)
        # A bad search says why.
        alice.goto(f"{self.live_server_url}{reverse('chat:search')}?q=has:pizza")
        self.assertIn("has: takes link, file, image", alice.locator(".search-error").text_content())
        self.assertEqual(self.problems, [])


class HighlightPartsTests(SimpleTestCase):
    def test_only_mark_is_markup_the_rest_is_text(self):
        self.assertEqual(
            highlight_parts("&lt;b&gt; <mark>zeppelin</mark> &amp; <i>co</i>"),
            [("<b> ", False), ("zeppelin", True), (" & <i>co</i>", False)],
        )
        self.assertEqual(highlight_parts(""), [])
