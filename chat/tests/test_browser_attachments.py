"""Attachments in Chromium, as two people: alice attaches pictures by the paperclip, by
pasting and by dropping, and a text file; bob sees the thumbnails live at their size, the
file as a card, and opens a picture full size in the viewer; the page without JavaScript
lists them too; a message may be files alone; a file the server refuses shows its words;
and a file over the size limit is refused before it is uploaded, with nothing sent."""

import base64
import io
import os
import re

from django.test import override_settings
from PIL import Image

from chat.models import Attachment, Message

from .factories import add_member
from .test_browser import BrowserTestCase

# Put files on the page as a paste or a drop does: a DataTransfer holding them, sent with
# the event to the composer (paste) or to the timeline (a drag's enter, over and drop).
TRANSFER_JS = """([kind, files]) => {
  const data = new DataTransfer();
  for (const [name, type, encoded] of files) {
    const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
    data.items.add(new File([bytes], name, { type }));
  }
  if (kind === "paste") {
    const input = document.querySelector("#composer-input");
    input.focus();
    const init = { clipboardData: data, bubbles: true, cancelable: true };
    input.dispatchEvent(new ClipboardEvent("paste", init));
    return true;
  }
  const timeline = document.querySelector('[data-js="timeline"]');
  const init = { dataTransfer: data, bubbles: true, cancelable: true };
  timeline.dispatchEvent(new DragEvent("dragenter", init));
  timeline.dispatchEvent(new DragEvent("dragover", init));
  const zoneShown = !document.querySelector(".drop-zone").hidden;
  timeline.dispatchEvent(new DragEvent("drop", init));
  return zoneShown && document.querySelector(".drop-zone").hidden;
}"""


def png(width: int, height: int, *, noise: bool = False) -> bytes:
    """A PNG of this size: one colour, or random pixels (which do not compress)."""
    if noise:
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = Image.new("RGB", (width, height), (200, 40, 90))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def as_transfer(name: str, content_type: str, content: bytes) -> list[str]:
    return [name, content_type, base64.b64encode(content).decode()]


class AttachmentsTestCase(BrowserTestCase):
    def setUp(self):
        super().setUp()
        add_member(self.room, self.bob)

    def chips(self, page, status=None):
        selector = (
            ".attachment-chip" if status is None else f'.attachment-chip[data-status="{status}"]'
        )
        return page.locator(f'[data-js="attachment-chips"] {selector}')

    def attach_by_button(self, page, name, content_type, content):
        """Choose a file through the paperclip button's file picker."""
        with page.expect_file_chooser() as chooser:
            page.locator('[data-js="attach"]').click()
        self.assertTrue(chooser.value.is_multiple())
        chooser.value.set_files(files=[{"name": name, "mimeType": content_type, "buffer": content}])

    def item_with_files(self, page, count):
        """The stored message showing `count` files (not an outbox entry)."""
        items = page.locator('[data-js="messages"] li[data-id]')
        return items.filter(has=page.locator(f".attachments > li:nth-child({count})")).last


class AttachmentsInBrowserTests(AttachmentsTestCase):
    def test_alice_attaches_by_button_paste_and_drop_bob_sees_them_live_and_opens_one(self):
        alice = self.open_room_as(self.alice)
        bob = self.open_room_as(self.bob)

        self.attach_by_button(alice, "wide.png", "image/png", png(800, 400))
        self.chips(alice, "done").nth(0).wait_for()
        alice.evaluate(
            TRANSFER_JS, ["paste", [as_transfer("image.png", "image/png", png(300, 600))]]
        )
        self.chips(alice, "done").nth(1).wait_for()
        dropped = alice.evaluate(
            TRANSFER_JS, ["drop", [as_transfer("notes.txt", "text/plain", b"remember the milk\n")]]
        )
        self.assertTrue(dropped, "the drop zone shows while dragging, and goes after the drop")
        self.chips(alice, "done").nth(2).wait_for()
        chip_names = alice.locator(".attachment-chip-name").all_text_contents()
        self.assertEqual(chip_names, ["wide.png", "image.png", "notes.txt"])
        self.type_and_send(alice, "the plan, with pictures")
        alice.locator('[data-js="attachment-chips"]').wait_for(state="hidden")
        self.shown_message(alice, "the plan, with pictures").wait_for()  # stored

        message = Message.objects.get(body="the plan, with pictures")
        wide, tall, notes = Attachment.objects.filter(message=message).order_by("id")
        self.assertEqual(
            [
                (wide.thumbnail_width, wide.thumbnail_height),
                (tall.thumbnail_width, tall.thumbnail_height),
            ],
            [(400, 200), (200, 400)],
        )
        self.assertEqual(notes.content_type, "text/plain")

        for page in (alice, bob):
            item = page.locator(f'[data-js="messages"] li[data-id="{message.pk}"]')
            thumbnails = item.locator("img.attachment-thumbnail")
            thumbnails.nth(1).wait_for()
            # Drawn at the thumbnail's size from the start, and the thumbnail is what loads.
            sizes = thumbnails.evaluate_all(
                """imgs => Promise.all(imgs.map((img) => img.decode().then(
                     () => [img.getAttribute("width"), img.getAttribute("height"),
                            img.naturalWidth, img.naturalHeight, img.offsetWidth])))"""
            )
            self.assertEqual(sizes, [["400", "200", 400, 200, 400], ["200", "400", 200, 400, 200]])
            card = item.locator("a.attachment-file")
            self.assertEqual(card.locator(".attachment-name").text_content(), "notes.txt")
            self.assertEqual(
                card.locator(".attachment-meta").text_content(), "18 bytes · Text file"
            )
            self.assertEqual(card.get_attribute("download"), "notes.txt")
            self.assertEqual(card.get_attribute("href"), f"/files/{notes.pk}/notes.txt")

        # Bob opens the wide one full size; Escape closes the viewer.
        item = bob.locator(f'[data-js="messages"] li[data-id="{message.pk}"]')
        item.locator("a.attachment-image").first.click()
        viewer = bob.locator("dialog.attachment-viewer")
        viewer.wait_for()
        self.assertEqual(viewer.locator(".attachment-viewer-name").text_content(), "wide.png")
        image = viewer.locator("img.attachment-viewer-image")
        self.assertEqual(
            image.evaluate("img => img.decode().then(() => [img.naturalWidth, img.naturalHeight])"),
            [800, 400],
        )
        download = viewer.get_by_role("link", name="Download")
        self.assertEqual(download.get_attribute("href"), f"/files/{wide.pk}/wide.png")
        self.assertEqual(download.get_attribute("download"), "wide.png")
        bob.keyboard.press("Escape")
        viewer.wait_for(state="hidden")

        # The server-rendered page carries them too: taken over by the page, and listed
        # for a reader without JavaScript.
        bob.reload()
        self.wait_until_live(bob)
        self.item_with_files(bob, 3).locator("img.attachment-thumbnail").nth(1).wait_for()
        plain = self.page_as(self.bob, self.room.get_absolute_url(), javascript=False)
        links = plain.locator(f'li[data-id="{message.pk}"] .attachments a')
        self.assertEqual(
            [link.get_attribute("href") for link in links.all()],
            [
                f"/files/{wide.pk}/wide.png",
                f"/files/{tall.pk}/image.png",
                f"/files/{notes.pk}/notes.txt",
            ],
        )
        self.assertEqual(
            plain.locator(f'li[data-id="{message.pk}"] img').first.get_attribute("width"), "400"
        )
        self.assertEqual(self.problems, [])

    def test_a_message_of_files_alone_goes_and_shows_no_empty_body(self):
        alice = self.open_room_as(self.alice)
        bob = self.open_room_as(self.bob)
        send = alice.locator('[data-js="send"]')
        self.assertTrue(send.is_disabled())

        self.attach_by_button(alice, "dot.png", "image/png", png(40, 30))
        self.chips(alice, "done").wait_for()
        self.assertTrue(send.is_enabled(), "a finished upload is enough to send")
        send.click()
        alice.locator('[data-js="attachment-chips"]').wait_for(state="hidden")

        item = self.item_with_files(bob, 1)
        thumbnail = item.locator("img.attachment-thumbnail")
        thumbnail.wait_for()
        self.assertEqual(
            [thumbnail.get_attribute("width"), thumbnail.get_attribute("height")], ["40", "30"]
        )
        self.assertFalse(item.locator(".message-body").is_visible())
        message = Message.objects.get()
        self.assertEqual(message.body, "")
        self.assertEqual(list(message.attachments.values_list("name", flat=True)), ["dot.png"])
        self.assertEqual(self.problems, [])

    def test_a_file_the_server_refuses_shows_its_words_and_is_removed_by_its_cross(self):
        alice = self.open_room_as(self.alice)
        self.attach_by_button(alice, "broken.png", "image/png", b"this is no picture at all")
        chip = self.chips(alice, "failed")
        chip.wait_for()
        self.assertEqual(
            chip.locator(".attachment-chip-reason").text_content(),
            "This file is not a picture that can be shown (or it is damaged).",
        )
        self.assertTrue(alice.locator('[data-js="send"]').is_disabled())
        chip.get_by_role("button", name="Remove broken.png").click()
        alice.locator('[data-js="attachment-chips"]').wait_for(state="hidden")

        # Removing an upload that went through drops it on the server too.
        self.attach_by_button(alice, "dot.png", "image/png", png(20, 20))
        done = self.chips(alice, "done")
        done.wait_for()
        self.assertEqual(Attachment.objects.count(), 1)
        with alice.expect_response(lambda response: response.request.method == "DELETE") as drop:
            done.get_by_role("button", name="Remove dot.png").click()
        self.assertEqual(drop.value.status, 204)
        alice.locator('[data-js="attachment-chips"]').wait_for(state="hidden")
        self.assertFalse(Attachment.objects.exists())
        self.assertFalse(Message.objects.exists())
        # The browser itself logs the refused upload's 400; nothing else went wrong.
        refused = "alice: Failed to load resource: the server responded with a status of 400"
        self.assertEqual([p for p in self.problems if not p.startswith(refused)], [])
        self.assertEqual(len(self.problems), 1)


@override_settings(CHAT_UPLOAD_MAX_BYTES=50 * 1024)
class UploadLimitInBrowserTests(AttachmentsTestCase):
    def test_a_file_over_the_limit_is_refused_before_uploading_and_nothing_is_sent(self):
        alice = self.open_room_as(self.alice)
        bob = self.open_room_as(self.bob)
        big = png(200, 200, noise=True)  # about 120 KB: random pixels do not compress
        self.assertGreater(len(big), 50 * 1024)
        uploads = []
        alice.on("request", lambda request: "/attachments/" in request.url and uploads.append(1))

        self.attach_by_button(alice, "noise.png", "image/png", big)
        chip = self.chips(alice, "failed")
        chip.wait_for()
        self.assertRegex(
            chip.locator(".attachment-chip-reason").text_content(),
            re.escape("“noise.png” is too large (")
            + r"\d+ KB"
            + re.escape("): files can be at most 50 KB."),
        )
        send = alice.locator('[data-js="send"]')
        self.assertTrue(send.is_disabled())
        alice.locator("#composer-input").press("Enter")
        alice.wait_for_timeout(300)
        self.assertEqual(uploads, [])
        self.assertFalse(Attachment.objects.exists())
        self.assertFalse(Message.objects.exists())
        self.assertEqual(bob.locator('[data-js="messages"] li[data-id]').count(), 0)
        self.assertEqual(self.problems, [])
