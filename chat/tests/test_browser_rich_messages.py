"""Rich messages end to end in Chromium, as two people (issue 16): alice writes with
Markdown and attaches a picture; bob sees it formatted, with its thumbnail, live; he
replies to it and reacts to it; alice sees the quote and the reaction live; both keep it
all after a reload; and a reply to the picture alone quotes its file."""

from chat.models import Attachment, Message, Reaction

from .factories import add_member
from .test_browser import BrowserTestCase
from .test_browser_attachments import png


class RichMessagesTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        add_member(self.room, self.bob)

    def item(self, page, message_id):
        return page.locator(f'[data-js="messages"] li[data-id="{message_id}"]')

    def stored(self, page, text):
        """A stored message (not an outbox entry) whose body reads `text`."""
        return page.locator('[data-js="messages"] li[data-id] .message-body').filter(has_text=text)

    def act(self, page, message_id, action):
        item = self.item(page, message_id)
        item.hover()
        item.locator(f'.message-actions button[data-action="{action}"]').click()

    def assertRich(self, page, message_id, picture):
        """The message shows its formatting, a link that opens apart, and the thumbnail."""
        body = self.item(page, message_id).locator(".message-body")
        body.locator("strong").filter(has_text="Lunch").wait_for()
        self.assertEqual(body.locator("code").text_content(), "12:30")
        link = body.locator("a")
        self.assertEqual(link.get_attribute("href"), "https://example.com/menu")
        self.assertEqual(link.get_attribute("rel"), "noopener nofollow ugc")
        thumbnail = self.item(page, message_id).locator("img.attachment-thumbnail")
        thumbnail.wait_for()
        self.assertEqual(thumbnail.get_attribute("src"), picture.thumbnail_url)
        self.assertEqual(
            (thumbnail.get_attribute("width"), thumbnail.get_attribute("height")), ("400", "300")
        )
        # The picture itself loaded (the file is served to a member of the room).
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle()
        )

    def test_format_attach_reply_and_react_as_two_people(self):
        alice = self.open_room_as(self.alice)
        bob = self.open_room_as(self.bob)

        # Alice: Markdown and a picture by the paperclip.
        with alice.expect_file_chooser() as chooser:
            alice.locator('[data-js="attach"]').click()
        chooser.value.set_files(
            files=[{"name": "menu.png", "mimeType": "image/png", "buffer": png(800, 600)}]
        )
        alice.locator(
            '[data-js="attachment-chips"] .attachment-chip[data-status="done"]'
        ).wait_for()
        self.type_and_send(alice, "**Lunch** at `12:30`? https://example.com/menu")
        alice.locator('[data-js="attachment-chips"]').wait_for(state="hidden")
        self.stored(alice, "Lunch at 12:30? https://example.com/menu").wait_for()

        message = Message.objects.get(body="**Lunch** at `12:30`? https://example.com/menu")
        stored = Attachment.objects.get(message=message)
        stored.thumbnail_url = f"/files/{stored.pk}/thumbnail/"
        for page in (alice, bob):
            self.assertRich(page, message.pk, stored)

        # Bob replies from the message's Reply action.
        self.act(bob, message.pk, "reply")
        bob.locator(".reply-bar").wait_for()
        self.type_and_send(bob, "yes, _see you there_")
        self.stored(bob, "yes, see you there").wait_for()
        reply = Message.objects.get(body="yes, _see you there_")
        self.assertEqual(reply.reply_to_id, message.pk)
        for page in (alice, bob):
            quote = self.item(page, reply.pk).locator("a.reply-quote")
            quote.locator(".reply-quote-text").filter(has_text="Lunch at 12:30?").wait_for()
            self.assertEqual(
                self.item(page, reply.pk).locator(".message-body em").text_content(),
                "see you there",
            )

        # Bob reacts to alice's message; alice sees it live with his name.
        self.act(bob, message.pk, "react")
        picker = bob.locator(".reaction-picker")
        picker.get_by_role("button", name="thumbs up").click()
        picker.wait_for(state="hidden")
        chip = self.item(alice, message.pk).locator('.message-reactions .reaction[data-emoji="👍"]')
        chip.locator(".reaction-count").filter(has_text="1").wait_for()
        self.assertEqual(chip.get_attribute("title"), "bob reacted with 👍")
        self.assertEqual(
            list(Reaction.objects.values_list("user__username", "emoji")), [("bob", "👍")]
        )

        # A picture alone; bob's reply to it quotes its file.
        with alice.expect_file_chooser() as chooser:
            alice.locator('[data-js="attach"]').click()
        chooser.value.set_files(
            files=[{"name": "map.png", "mimeType": "image/png", "buffer": png(200, 200)}]
        )
        alice.locator(
            '[data-js="attachment-chips"] .attachment-chip[data-status="done"]'
        ).wait_for()
        alice.locator('[data-js="send"]').click()
        alice.locator('[data-js="attachment-chips"]').wait_for(state="hidden")
        thumbnails = bob.locator('[data-js="messages"] li[data-id] img.attachment-thumbnail')
        thumbnails.nth(1).wait_for()
        picture_alone = Attachment.objects.get(name="map.png")
        self.act(bob, picture_alone.message_id, "reply")
        self.type_and_send(bob, "where is that?")
        self.stored(bob, "where is that?").wait_for()
        where = Message.objects.get(body="where is that?")
        self.item(alice, where.pk).locator(".reply-quote-text").filter(
            has_text="📎 map.png"
        ).wait_for()

        # A reload keeps all of it, drawn from the page the server renders.
        for page in (alice, bob):
            page.reload()
            self.wait_until_live(page)
            self.assertRich(page, message.pk, stored)
            self.item(page, message.pk).locator('.reaction[data-emoji="👍"]').wait_for()
            self.item(page, reply.pk).locator(".reply-quote-text").filter(
                has_text="Lunch at 12:30?"
            ).wait_for()
        self.assertEqual(self.problems, [])
