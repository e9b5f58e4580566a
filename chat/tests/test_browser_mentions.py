"""Mentions on the room page, in Chromium: the composer's @-list, the question before
@room, and mentions drawn in the timeline (docs/protocol.md, "Mentions").

The live server is another process, started once per class: settings it must see are
overridden on the class, before it starts.
"""

from django.contrib.auth import get_user_model
from django.test import override_settings

from chat.models import Message

from .factories import add_member
from .test_browser import PASSWORD, BrowserTestCase

POPUP = "#mention-popup"


class MentionsBrowserTestCase(BrowserTestCase):
    """Alice owns the Lobby; bob and robbo are members."""

    def setUp(self):
        super().setUp()
        self.robbo = get_user_model().objects.create_user(username="robbo", password=PASSWORD)
        add_member(self.room, self.bob)
        add_member(self.room, self.robbo)

    def open_room_with_members(self, user):
        """Open the room and wait for the member list (the @-list offers its members)."""
        page = self.open_room_as(user)
        page.locator('[data-js="member-list"] li.member[data-username="robbo"]').wait_for()
        return page

    def options(self, page) -> list[str]:
        return page.locator(f"{POPUP} [role=option]").evaluate_all(
            "(items) => items.map((item) => item.dataset.username)"
        )

    def active_option(self, page) -> str:
        """The option the textarea points at with aria-activedescendant."""
        composer = page.locator("#composer-input")
        active_id = composer.get_attribute("aria-activedescendant")
        option = page.locator(f"#{active_id}")
        self.assertEqual(option.get_attribute("aria-selected"), "true")
        return option.get_attribute("data-username")

    def message_item(self, page, text):
        return self.shown_message(page, text).locator("xpath=ancestor::li[1]")


class MentionsInBrowserTests(MentionsBrowserTestCase):
    def test_alice_picks_bob_with_the_keyboard_and_bob_sees_he_is_mentioned(self):
        alice = self.open_room_with_members(self.alice)
        bob = self.open_room_with_members(self.bob)
        composer = alice.locator("#composer-input")
        self.assertEqual(composer.get_attribute("aria-expanded"), "false")

        composer.press_sequentially("hi @bo")
        alice.locator(POPUP).wait_for()
        self.assertEqual(alice.locator(POPUP).get_attribute("role"), "listbox")
        self.assertEqual(composer.get_attribute("aria-expanded"), "true")
        self.assertEqual(composer.get_attribute("aria-controls"), "mention-popup")
        # bob starts with "bo"; robbo only contains it; alice (me) is never offered.
        self.assertEqual(self.options(alice), ["bob", "robbo"])
        self.assertEqual(self.active_option(alice), "bob")
        composer.press("ArrowDown")
        self.assertEqual(self.active_option(alice), "robbo")
        composer.press("ArrowDown")  # wraps round
        self.assertEqual(self.active_option(alice), "bob")
        composer.press("Enter")  # picks, does not send

        alice.locator(POPUP).wait_for(state="hidden")
        self.assertEqual(composer.input_value(), "hi @bob ")
        self.assertEqual(composer.get_attribute("aria-expanded"), "false")
        self.assertIsNone(composer.get_attribute("aria-activedescendant"))
        self.assertEqual(Message.objects.count(), 0)
        composer.press_sequentially("see this, @nobody")
        composer.press("Enter")  # the list is closed: Enter sends

        text = "hi @bob see this, @nobody"
        self.shown_message(alice, text).wait_for()
        mention = self.shown_message(alice, text).locator(".mention")
        self.assertEqual(mention.all_text_contents(), ["@bob"])  # @nobody stays text
        self.assertEqual(mention.get_attribute("class"), "mention")
        self.assertNotIn("is-mentioning-me", self.message_item(alice, text).get_attribute("class"))

        self.shown_message(bob, text).wait_for()
        mine = self.shown_message(bob, text).locator(".mention.mention-me")
        self.assertEqual(mine.all_text_contents(), ["@bob"])
        self.assertIn("is-mentioning-me", self.message_item(bob, text).get_attribute("class"))

        # The server-rendered page draws it the same, and room.js keeps it.
        response = bob.reload()
        self.assertIn('class="mention mention-me"', response.text())
        self.wait_until_live(bob)
        mine = self.shown_message(bob, text).locator(".mention.mention-me")
        self.assertEqual(mine.all_text_contents(), ["@bob"])
        self.assertIn("is-mentioning-me", self.message_item(bob, text).get_attribute("class"))
        self.assertEqual(self.problems, [])

    def test_escape_closes_the_list_and_enter_then_sends_what_was_typed(self):
        alice = self.open_room_with_members(self.alice)
        composer = alice.locator("#composer-input")
        composer.press_sequentially("@ro")
        alice.locator(POPUP).wait_for()
        # A room of three: anyone may say @room here.
        self.assertEqual(self.options(alice), ["robbo", "room"])
        composer.press("Escape")
        alice.locator(POPUP).wait_for(state="hidden")
        composer.press_sequentially("b")  # typing on in the same word keeps it closed
        self.assertTrue(alice.locator(POPUP).is_hidden())
        composer.press("Enter")
        self.shown_message(alice, "@rob").wait_for()
        self.assertEqual(self.shown_message(alice, "@rob").locator(".mention").count(), 0)
        self.assertEqual(self.problems, [])

    def test_a_click_picks_a_name(self):
        alice = self.open_room_with_members(self.alice)
        composer = alice.locator("#composer-input")
        composer.press_sequentially("ask @RO about it")
        composer.press("Home")
        for _ in range(len("ask @RO")):
            composer.press("ArrowRight")  # the caret back in the word opens the list
        alice.locator(f'{POPUP} [data-username="robbo"]').click()
        self.assertEqual(composer.input_value(), "ask @robbo about it")
        self.assertTrue(alice.locator(POPUP).is_hidden())
        self.assertEqual(self.problems, [])


@override_settings(CHAT_MENTION_ALL_MAX_MEMBERS=2)
class MentionEveryoneInABigRoomTests(MentionsBrowserTestCase):
    """Three members, more than the limit: only moderators (and owners) may say @room."""

    def test_a_plain_member_is_not_offered_room(self):
        bob = self.open_room_with_members(self.bob)
        self.assertEqual(bob.locator("#room").get_attribute("data-mention-all-max"), "2")
        composer = bob.locator("#composer-input")
        composer.press_sequentially("@ro")
        bob.locator(POPUP).wait_for()
        self.assertEqual(self.options(bob), ["robbo"])
        self.assertEqual(self.problems, [])

    def test_the_owner_is_asked_first_and_declining_keeps_the_text(self):
        alice = self.open_room_with_members(self.alice)
        bob = self.open_room_with_members(self.bob)
        composer = alice.locator("#composer-input")
        composer.press_sequentially("@ro")
        alice.locator(POPUP).wait_for()
        self.assertEqual(self.options(alice), ["robbo", "room"])
        composer.press("ArrowDown")
        composer.press("Tab")
        self.assertEqual(composer.input_value(), "@room ")
        composer.press_sequentially("lunch?")

        question = "This notifies everyone in #Lobby (2 people). Send?"
        asked = []

        def answer(accept):
            def handle(dialog):
                asked.append(dialog.message)
                if accept:
                    dialog.accept()
                else:
                    dialog.dismiss()

            return handle

        alice.once("dialog", answer(False))
        composer.press("Enter")
        alice.wait_for_function("() => true")  # the dialog is answered by now
        self.assertEqual(asked, [question])
        self.assertEqual(composer.input_value(), "@room lunch?")
        self.assertEqual(alice.locator('[data-js="outbox"] li').count(), 0)
        self.assertEqual(Message.objects.count(), 0)

        alice.once("dialog", answer(True))
        composer.press("Enter")
        self.shown_message(bob, "@room lunch?").wait_for()
        self.assertEqual(asked, [question, question])
        self.assertEqual(composer.input_value(), "")
        mine = self.shown_message(bob, "@room lunch?").locator(".mention.mention-me")
        self.assertEqual(mine.all_text_contents(), ["@room"])
        self.assertIn(
            "is-mentioning-me", self.message_item(bob, "@room lunch?").get_attribute("class")
        )
        # The dialogs were the ones expected, and nothing else went wrong.
        self.assertEqual(self.problems, [f"alice: dialog {question}"] * 2)
