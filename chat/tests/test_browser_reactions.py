"""Reactions in Chromium, as two people: bob reacts to alice's message through the picker
and alice sees it live, with bob's name on hover; her own reaction presses the chip for
her; a reload keeps them; any emoji can be typed; and on a phone the chips and the picker
are 44px targets."""

from chat import services
from chat.models import Reaction

from .factories import add_member
from .test_browser import BrowserTestCase

TOUCH_TARGET_PX = 44


class ReactionsInBrowserTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        add_member(self.room, self.bob)
        self.message, _ = services.message_send(
            room=self.room, author=self.alice, body="lunch at noon?"
        )

    def item(self, page):
        return page.locator(f'[data-js="messages"] li[data-id="{self.message["id"]}"]')

    def chip(self, page, emoji):
        return self.item(page).locator(f'.message-reactions .reaction[data-emoji="{emoji}"]')

    def open_picker(self, page):
        """Open the picker from the message's "React" action; return the picker."""
        item = self.item(page)
        item.hover()
        item.locator('.message-actions button[data-action="react"]').click()
        picker = page.locator(".reaction-picker")
        picker.wait_for()
        return picker

    def assertChip(self, page, emoji, count, *, pressed, title):
        chip = self.chip(page, emoji)
        chip.locator(".reaction-count").filter(has_text=str(count)).wait_for()
        self.assertEqual(chip.get_attribute("aria-pressed"), "true" if pressed else "false")
        self.assertEqual(chip.get_attribute("title"), title)

    def test_bob_reacts_alice_sees_it_live_adds_hers_and_a_reload_keeps_them(self):
        alice = self.open_room_as(self.alice)
        bob = self.open_room_as(self.bob)

        picker = self.open_picker(bob)
        # The keyboard starts on the first emoji and moves through them.
        self.assertEqual(bob.evaluate("document.activeElement.dataset.emoji"), "👍")
        bob.keyboard.press("ArrowRight")
        self.assertEqual(bob.evaluate("document.activeElement.dataset.emoji"), "👎")
        bob.keyboard.press("ArrowLeft")
        picker.get_by_role("button", name="thumbs up").click()
        picker.wait_for(state="hidden")

        self.assertChip(alice, "👍", 1, pressed=False, title="bob reacted with 👍")
        self.assertChip(bob, "👍", 1, pressed=True, title="You reacted with 👍")

        self.chip(alice, "👍").click()
        self.assertChip(alice, "👍", 2, pressed=True, title="You and bob reacted with 👍")
        self.assertChip(bob, "👍", 2, pressed=True, title="You and alice reacted with 👍")

        for page in (alice, bob):
            page.reload()
            self.wait_until_live(page)
        self.assertChip(alice, "👍", 2, pressed=True, title="You and bob reacted with 👍")

        # Bob takes his back: one left, alice's.
        self.chip(bob, "👍").click()
        self.assertChip(alice, "👍", 1, pressed=True, title="You reacted with 👍")
        self.assertChip(bob, "👍", 1, pressed=False, title="alice reacted with 👍")
        self.assertEqual(
            list(Reaction.objects.values_list("user__username", "emoji")), [("alice", "👍")]
        )
        self.assertEqual(self.problems, [])

    def test_any_emoji_typed_and_text_refused_and_escape_gives_the_focus_back(self):
        alice = self.open_room_as(self.alice)
        bob = self.open_room_as(self.bob)

        picker = self.open_picker(bob)
        field = picker.get_by_role("textbox", name="Any emoji")
        field.fill("nice")
        field.press("Enter")
        picker.get_by_role("alert").wait_for()
        self.assertFalse(Reaction.objects.exists())
        field.fill("🦄")
        field.press("Enter")
        picker.wait_for(state="hidden")
        self.assertChip(alice, "🦄", 1, pressed=False, title="bob reacted with 🦄")

        # "+" beside the chips opens it too; alice's reaction meanwhile redraws the message
        # under it; Escape closes it, and the focus goes back to the "+" drawn again.
        self.item(bob).locator(".reaction-add").click()
        picker.wait_for()
        self.chip(alice, "🦄").click()
        self.assertChip(bob, "🦄", 2, pressed=True, title="You and alice reacted with 🦄")
        bob.keyboard.press("Escape")
        picker.wait_for(state="hidden")
        self.assertEqual(bob.evaluate("document.activeElement.className"), "reaction-add")
        self.assertEqual(self.problems, [])

    def test_on_a_phone_chips_and_picker_are_44px_targets(self):
        services.reaction_set(
            room=self.room, user=self.bob, message_id=self.message["id"], emoji="🎉", on=True
        )
        phone = {
            "viewport": {"width": 390, "height": 844},
            "device_scale_factor": 3,
            "is_mobile": True,
            "has_touch": True,
        }
        page = self.watched_page(self.new_context(**phone), "alice")
        self.log_in(page, self.alice, self.room.get_absolute_url())
        self.wait_until_live(page)
        item = self.item(page)
        chip = self.chip(page, "🎉")
        item.locator(".message-body").tap()
        react = item.locator('.message-actions button[data-action="react"]')
        react.wait_for(state="visible")
        for target in (chip, item.locator(".reaction-add"), react):
            # Drawn again when the socket's catch-up lands: measure the one on screen.
            target.wait_for(state="visible")
            box = target.bounding_box()
            self.assertGreaterEqual(min(box["width"], box["height"]), TOUCH_TARGET_PX)
        react.tap()
        choice = page.locator(".reaction-picker").get_by_role("button", name="party popper")
        box = choice.bounding_box()
        self.assertGreaterEqual(min(box["width"], box["height"]), TOUCH_TARGET_PX)
        choice.tap()
        self.assertChip(page, "🎉", 2, pressed=True, title="You and bob reacted with 🎉")
        self.assertEqual(self.problems, [])
