"""Replies in Chromium, as two people: bob replies to alice's message from its "Reply"
action; both see the quote (alice, the first line), live and after a reload; Escape
cancels a reply; and a click on a quote whose original is far back loads the earlier
pages and brings the original into view, marked."""

from django.test import override_settings

from chat import services
from chat.models import Message
from notifications.models import Notification

from .factories import add_member, make_messages
from .test_browser import BrowserTestCase


@override_settings(CHAT_RATE_MESSAGES=200)
class RepliesInBrowserTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        add_member(self.room, self.bob)

    def item(self, page, message_id):
        return page.locator(f'[data-js="messages"] li[data-id="{message_id}"]')

    def assertQuote(self, page, reply_id, author, text):
        quote = self.item(page, reply_id).locator("a.reply-quote")
        quote.locator(".reply-quote-text").filter(has_text=text).wait_for()
        self.assertEqual(quote.locator(".reply-quote-author").text_content(), author)

    def test_bob_replies_both_see_the_quote_live_and_after_a_reload(self):
        original, _ = services.message_send(
            room=self.room, author=self.alice, body="**Lunch** at noon?\nor later"
        )
        alice = self.open_room_as(self.alice)
        bob = self.open_room_as(self.bob)

        # Reply, then think better of it: Escape cancels.
        item = self.item(bob, original["id"])
        item.hover()
        item.locator('.message-actions button[data-action="reply"]').click()
        bar = bob.locator(".reply-bar")
        bar.wait_for()
        self.assertEqual(
            bar.locator(".reply-bar-label").text_content(), "Replying to alice: Lunch at noon?"
        )
        self.assertEqual(bob.evaluate("document.activeElement.id"), "composer-input")
        bob.keyboard.press("Escape")
        bar.wait_for(state="hidden")

        item.hover()
        item.locator('.message-actions button[data-action="reply"]').click()
        bar.wait_for()
        self.type_and_send(bob, "yes, see you there")
        bar.wait_for(state="hidden")
        self.shown_message(alice, "yes, see you there").wait_for()
        reply = Message.objects.get(body="yes, see you there")
        self.assertEqual(reply.reply_to_id, original["id"])
        for page in (alice, bob):
            self.assertQuote(page, reply.pk, "alice", "Lunch at noon?")
        notification = Notification.objects.get(user=self.alice)
        self.assertEqual(notification.kind, Notification.Kind.REPLY)

        # The server-rendered page shows it too, and the page takes it over unchanged.
        alice.reload()
        self.wait_until_live(alice)
        self.assertQuote(alice, reply.pk, "alice", "Lunch at noon?")

        # Alice deletes the original: bob's quote says so, live.
        alice.evaluate("window.confirm = () => true")  # "Delete this message for everyone?"
        item = self.item(alice, original["id"])
        item.hover()
        item.locator('.message-actions button[data-action="delete"]').click()
        self.assertQuote(bob, reply.pk, "alice", "Original message deleted")
        self.assertEqual(self.problems, [])

    def test_a_click_on_the_quote_brings_the_original_from_earlier_pages(self):
        original, _ = services.message_send(
            room=self.room, author=self.alice, body="the plan, first line\nsecond line"
        )
        make_messages(self.room, self.bob, 120, prefix="filler")  # more than two pages
        reply, _ = services.message_send(
            room=self.room, author=self.bob, body="agreed", reply_to=original["id"]
        )
        alice = self.open_room_as(self.alice)
        self.assertQuote(alice, reply["id"], "alice", "the plan, first line")
        self.assertEqual(self.item(alice, original["id"]).count(), 0, "not on the first page")

        self.item(alice, reply["id"]).locator("a.reply-quote").click()
        target = self.item(alice, original["id"])
        target.wait_for()
        alice.wait_for_function(
            f"""() => {{
                const li = document.querySelector('li.message[data-id="{original["id"]}"]');
                const box = li.getBoundingClientRect();
                const pane = document.querySelector('[data-js="timeline"]').getBoundingClientRect();
                return li.classList.contains("is-jumped-to")
                    && box.top >= pane.top && box.bottom <= pane.bottom;
            }}"""
        )
        self.assertEqual(self.problems, [])
