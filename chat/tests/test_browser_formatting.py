"""Formatting in Chromium: what alice types as Markdown, bob sees formatted, live and after
a reload (server-rendered); and the XSS corpus of test_rendering.py runs nothing.

Every page counts what would have run: an init script sets window.__xss = 0 and each
payload would raise it (or open an alert, which BrowserTestCase records as a problem).
"""

import re

from django.test import override_settings
from playwright.sync_api import expect

from .factories import add_member
from .test_browser import BrowserTestCase
from .test_rendering import XSS_CORPUS

MESSAGES = '[data-js="messages"] li[data-id]'
FORMATTED = (
    "**bold** and *italics*, ~~struck~~ and `inline code` for @bob\n"
    "```python\nprint(1 < 2)\n```\n"
    "> a quote\n\n"
    "- one\n- two\n\n"
    "see [the docs](https://example.com/docs) or https://example.org/x"
)


# The corpus is long: more messages than the default rate allows in its period, and than
# the first page of the room holds.
@override_settings(CHAT_RATE_MESSAGES=200, CHAT_PAGE_SIZE=100)
class FormattingInBrowserTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        add_member(self.room, self.bob)

    def open_counting(self, user):
        """Open the room as `user` in a page that counts window.__xss from the start."""
        context = self.new_context()
        context.add_init_script("window.__xss = 0;")
        page = self.watched_page(context, user.username)
        self.log_in(page, user, self.room.get_absolute_url())
        self.wait_until_live(page)
        return page

    def send(self, page, text):
        """Type a message (line breaks included) and send it with Enter."""
        composer = page.locator("#composer-input")
        composer.fill(text)
        composer.press("Enter")

    def wait_for_messages(self, page, count):
        page.locator(f"{MESSAGES} >> nth={count - 1}").wait_for()
        page.locator('[data-js="outbox"] li').first.wait_for(state="detached")

    def assertRanNothing(self, page):
        self.assertEqual(page.evaluate("window.__xss"), 0)
        for tag in ("script", "img", "svg", "iframe", "form", "object", "style", "math", "h1"):
            self.assertEqual(page.locator(f"{MESSAGES} .message-body {tag}").count(), 0, tag)
        for attributes in page.locator(f"{MESSAGES} .message-body *").evaluate_all(
            "(nodes) => nodes.flatMap((n) => [...n.attributes].map((a) => a.name))"
        ):
            self.assertFalse(attributes.startswith("on"), attributes)
        links = page.locator(f"{MESSAGES} .message-body a").evaluate_all(
            "(links) => links.map((a) => [a.getAttribute('href'), a.rel, a.target])"
        )
        for href, rel, target in links:
            self.assertRegex(href, r"^(https?:|mailto:)")
            self.assertEqual((rel, target), ("noopener nofollow ugc", "_blank"))
        self.assertEqual(self.problems, [])

    def assertFormatted(self, page):
        body = page.locator(f"{MESSAGES} .message-body").first
        self.assertEqual(body.locator("strong").text_content(), "bold")
        self.assertEqual(body.locator("em").text_content(), "italics")
        self.assertEqual(body.locator("s").text_content(), "struck")
        self.assertEqual(body.locator("p > code").text_content(), "inline code")
        self.assertEqual(
            body.locator("pre > code.language-python").text_content(), "print(1 < 2)\n"
        )
        self.assertEqual(body.locator("blockquote").text_content().strip(), "a quote")
        self.assertEqual(body.locator("ul > li").all_text_contents(), ["one", "two"])
        docs = body.get_by_role("link", name="the docs")
        self.assertEqual(docs.get_attribute("href"), "https://example.com/docs")
        self.assertEqual(docs.get_attribute("rel"), "noopener nofollow ugc")
        self.assertEqual(docs.get_attribute("target"), "_blank")
        bare = body.get_by_role("link", name="https://example.org/x")
        self.assertEqual(bare.get_attribute("href"), "https://example.org/x")
        # Retried: after a reload the page may redraw the message under the locator.
        expect(body.locator("pre > code")).to_have_css("font-family", re.compile("monospace"))
        mention = body.locator(f'span.mention[data-user-id="{self.bob.pk}"]')
        self.assertEqual(mention.text_content(), "@bob")

    def test_bob_sees_the_formatting_live_and_after_a_reload(self):
        alice = self.open_counting(self.alice)
        bob = self.open_counting(self.bob)
        self.send(alice, FORMATTED)
        self.wait_for_messages(bob, 1)
        self.assertFormatted(bob)
        self.assertEqual(bob.locator("span.mention.mention-me").text_content(), "@bob")
        self.assertEqual(alice.locator("span.mention.mention-me").count(), 0)
        self.assertRanNothing(bob)

        response = bob.reload()
        self.assertIn("<strong>bold</strong>", response.text())
        self.wait_until_live(bob)
        self.assertFormatted(bob)
        self.assertEqual(bob.locator("span.mention.mention-me").text_content(), "@bob")
        self.assertRanNothing(bob)

    def test_the_edit_box_holds_the_text_as_typed(self):
        alice = self.open_counting(self.alice)
        self.send(alice, FORMATTED)
        self.wait_for_messages(alice, 1)
        for reload in (False, True):
            with self.subTest(reloaded=reload):
                if reload:
                    alice.reload()
                    self.wait_until_live(alice)
                item = alice.locator(MESSAGES).first
                item.hover()
                item.locator('[data-action="edit"]').click()
                self.assertEqual(item.locator("textarea").input_value(), FORMATTED)
                item.locator("textarea").press("Escape")
                item.locator("pre > code.language-python").wait_for()
        self.assertEqual(self.problems, [])

    def test_the_xss_corpus_runs_nothing_live_or_after_a_reload(self):
        alice = self.open_counting(self.alice)
        bob = self.open_counting(self.bob)
        for payload in XSS_CORPUS:
            self.send(alice, payload)
        self.wait_for_messages(bob, len(XSS_CORPUS))
        self.wait_for_messages(alice, len(XSS_CORPUS))
        for page in (alice, bob):
            self.assertRanNothing(page)
        # Raw HTML stays text, as written.
        bodies = bob.locator(f"{MESSAGES} .message-body").all_text_contents()
        self.assertIn(XSS_CORPUS[0], bodies)

        for page in (alice, bob):
            response = page.reload()
            self.assertNotIn("<script>window.__xss", response.text())
            self.wait_until_live(page)
            self.wait_for_messages(page, len(XSS_CORPUS))
            self.assertRanNothing(page)
