"""Message bodies as HTML (chat.rendering): the Markdown subset, mentions, an XSS corpus,
and the HTML stored by the services and carried by every record."""

import io
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.test import SimpleTestCase, TestCase
from django.urls import reverse
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from chat import rendering, selectors, services
from chat.models import Message, MessageMention
from chat.realtime import presence, protocol
from chat.rendering import parse_body, render_body
from chat.services.message_html import messages_render

from .factories import add_member, make_message, make_room, make_user
from .test_consumers import SocketTestCase

# Payloads that would run script if any of them got through: each does window.__xss++
# or alert(), so that the browser test (test_browser_formatting.py) can count.
XSS_CORPUS = [
    "<script>window.__xss++</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    '<img src=x onerror="window.__xss++">',
    "<svg onload=window.__xss++>",
    "<svg><script>window.__xss++</script></svg>",
    '<math><mi xlink:href="javascript:window.__xss++">x</mi></math>',
    "[click](javascript:window.__xss++)",
    "[click](JaVaScRiPt:window.__xss++)",
    "[click](java&#x09;script:window.__xss++)",
    "[click](&#106;avascript:window.__xss++)",
    "[click](javascript&colon;window.__xss++)",
    "[click](  javascript:window.__xss++  )",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    "[click](\u202ejavascript:window.__xss++)",
    # "javascript" in fullwidth letters
    "[click](\uff4a\uff41\uff56\uff41\uff53\uff43\uff52\uff49\uff50\uff54:window.__xss++)",
    "<javascript:window.__xss++>",
    "<JAVASCRIPT:alert(1)>",
    "![pic](javascript:window.__xss++)",
    "![pic](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![pic](data:image/png;base64,iVBORw0KGgo=)",
    "![<img src=x onerror=window.__xss++>](https://example.com/a.png)",
    '<a href="javascript:window.__xss++">x</a>',
    '<a href="https://example.com" onclick="window.__xss++">x</a>',
    '<iframe src="javascript:window.__xss++"></iframe>',
    '<form action="javascript:window.__xss++"><button>go</button></form>',
    "<style>*{background:url(javascript:window.__xss++)}</style>",
    '<object data="javascript:window.__xss++"></object>',
    '<meta http-equiv="refresh" content="0;url=javascript:window.__xss++">',
    '<details open ontoggle="window.__xss++">x</details>',
    "<<script>script>window.__xss++<</script>/script>",
    "<scr<script>ipt>window.__xss++</script>",
    '<b onmouseover="window.__xss++">hover</b>',
    '<noscript><p title="</noscript><img src=x onerror=window.__xss++>">',
    "<!--<img src=x onerror=window.__xss++>-->",
    '[x](https://example.com/" onmouseover="window.__xss++)',
    '[x](https://example.com "t\\" onmouseover=\\"window.__xss++")',
    "[x](https://example.com 'a\" onmouseover=window.__xss++ b')",
    "[<img src=x onerror=window.__xss++>](https://example.com)",
    "**<img src=x onerror=window.__xss++>**",
    "> <script>window.__xss++</script>",
    "- <img src=x onerror=window.__xss++>",
    "`<script>window.__xss++</script>`",
    '```js" onload="window.__xss++\n<script>window.__xss++</script>\n```',
    '```"><img src=x onerror=window.__xss++>\ncode\n```',
    "&lt;script&gt;window.__xss++&lt;/script&gt;",
    "&#60;img src=x onerror=window.__xss++&#62;",
    "https://example.com/<script>window.__xss++</script>",
    'www.example.com/"><img src=x onerror=window.__xss++>',
    "https://example.com/?q=\"onmouseover='window.__xss++'",
    "@alice<img src=x onerror=window.__xss++>",
    "`@alice` and\n```\n@alice <script>window.__xss++</script>\n```",
    "[@alice](javascript:window.__xss++)",
    "mailto:x@example.com?body=<script>window.__xss++</script>",
    "<script>window.__xss++</script>" * 120,  # long, within CHAT_BODY_MAX
]

ALLOWED_SCHEMES = ("http:", "https:", "mailto:")
LANGUAGE_CLASS = re.compile(r"language-[A-Za-z0-9_+-]{1,32}")


class _Elements(HTMLParser):
    """Every element and attribute of some HTML, as a browser's tokenizer would see them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list]] = []
        self.other: list[str] = []  # comments, declarations, processing instructions

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, attrs))

    def handle_comment(self, data):
        self.other.append(f"<!--{data}-->")

    def handle_decl(self, decl):
        self.other.append(decl)

    def handle_pi(self, data):
        self.other.append(data)


def unsafe_parts(html: str) -> list[str]:
    """Return what in `html` is not allowed: elements, attributes, values (nothing: [])."""
    parser = _Elements()
    parser.feed(html)
    parser.close()
    problems = list(parser.other)
    for tag, attrs in parser.elements:
        if tag not in rendering.ALLOWED_TAGS:
            problems.append(f"<{tag}>")
            continue
        allowed = rendering.ALLOWED_ATTRIBUTES.get(tag, set())
        if tag == "a":
            allowed = allowed | {"rel", "target"}
        for name, value in attrs:
            value = value or ""
            if name not in allowed:
                problems.append(f"<{tag} {name}>")
            elif name == "href" and not value.lower().startswith(ALLOWED_SCHEMES):
                problems.append(f"href={value!r}")
            elif name == "rel" and value != rendering.LINK_REL:
                problems.append(f"rel={value!r}")
            elif name == "target" and value != rendering.LINK_TARGET:
                problems.append(f"target={value!r}")
            elif name == "class" and tag == "code" and not LANGUAGE_CLASS.fullmatch(value):
                problems.append(f"code class={value!r}")
            elif (
                name == "class"
                and tag == "span"
                and value not in ("mention", "mention mention-all")
            ):
                problems.append(f"span class={value!r}")
            elif name in ("data-user-id", "start") and not value.isdigit():
                problems.append(f"{name}={value!r}")
    return problems


class SubsetTests(SimpleTestCase):
    def html(self, body, **mentions) -> str:
        return render_body(body, **mentions)

    def assertRenders(self, body, expected, **mentions):
        self.assertEqual(self.html(body, **mentions), expected)

    def test_emphasis_strikethrough_and_inline_code(self):
        self.assertRenders(
            "**bold** *italics* _too_ ~~gone~~ `a < b`",
            "<p><strong>bold</strong> <em>italics</em> <em>too</em> <s>gone</s> "
            "<code>a &lt; b</code></p>",
        )

    def test_a_fenced_block_keeps_its_language_as_a_class(self):
        self.assertRenders(
            "```python\nif a < b:\n    pass\n```",
            '<pre><code class="language-python">if a &lt; b:\n    pass\n</code></pre>',
        )
        self.assertRenders("```\nplain\n```", "<pre><code>plain\n</code></pre>")
        self.assertRenders(
            "```c++ extra words\nx\n```", '<pre><code class="language-c++">x\n</code></pre>'
        )

    def test_a_language_that_is_not_a_plain_name_is_dropped(self):
        for info in ('py"><b', "c#", "x" * 33, "a/b"):
            with self.subTest(info=info):
                html = self.html(f"```{info}\ncode\n```")
                self.assertTrue(html.startswith("<pre><code>"), html)

    def test_quotes_and_lists(self):
        self.assertRenders(
            "> quoted\n\n- one\n- two\n\n3. three\n4. four",
            "<blockquote>\n<p>quoted</p>\n</blockquote>\n<ul>\n<li>one</li>\n<li>two</li>\n"
            '</ul>\n<ol start="3">\n<li>three</li>\n<li>four</li>\n</ol>',
        )

    def test_line_breaks_are_kept(self):
        self.assertRenders("one\ntwo\n\nthree", "<p>one<br>\ntwo</p>\n<p>three</p>")

    def test_links_open_a_new_tab_without_the_opener(self):
        attrs = 'target="_blank" rel="noopener nofollow ugc"'
        self.assertRenders(
            "[docs](https://example.com/a?b=1&c=2)",
            f'<p><a href="https://example.com/a?b=1&amp;c=2" {attrs}>docs</a></p>',
        )
        self.assertRenders(
            "see https://example.com/x.",
            f'<p>see <a href="https://example.com/x" {attrs}>https://example.com/x</a>.</p>',
        )
        self.assertRenders(
            "mail bob@example.com",
            f'<p>mail <a href="mailto:bob@example.com" {attrs}>bob@example.com</a></p>',
        )
        self.assertRenders(
            "www.example.org",
            f'<p><a href="http://www.example.org" {attrs}>www.example.org</a></p>',
        )

    def test_file_names_and_other_schemes_are_not_links(self):
        self.assertRenders("edit views.py and notes.md", "<p>edit views.py and notes.md</p>")
        self.assertRenders("ftp://example.com/f", "<p>ftp://example.com/f</p>")
        self.assertRenders(
            "[up](/admin/) [x](//evil.example)", "<p>[up](/admin/) [x](//evil.example)</p>"
        )

    def test_an_image_is_a_link_to_it_and_loads_nothing(self):
        self.assertRenders(
            "![a cat](https://example.com/cat.png)",
            '<p><a href="https://example.com/cat.png" target="_blank" '
            'rel="noopener nofollow ugc">a cat</a></p>',
        )

    def test_what_is_not_in_the_subset_stays_text(self):
        self.assertRenders("# Title", "<p># Title</p>")
        self.assertRenders("Title\n===", "<p>Title<br>\n===</p>")
        self.assertRenders("---", "<p>---</p>")
        self.assertRenders("    indented", "<p>indented</p>")
        self.assertRenders("| a | b |\n|---|---|", "<p>| a | b |<br>\n|---|---|</p>")
        self.assertRenders(
            "[a]: https://example.com",
            '<p>[a]: <a href="https://example.com" '
            'target="_blank" rel="noopener nofollow ugc">https://example.com</a></p>',
        )

    def test_raw_html_stays_text(self):
        self.assertRenders(
            '<b>hi</b> <span class="mention">x</span> &amp;',
            '<p>&lt;b&gt;hi&lt;/b&gt; &lt;span class="mention"&gt;x&lt;/span&gt; &amp;</p>',
        )

    def test_nesting_past_the_parser_limit_shows_the_whole_body_as_text(self):
        body = ">" * 30 + " deep"
        self.assertEqual(self.html(body), f"<p>{'&gt;' * 30} deep</p>")

    def test_html_too_large_for_a_frame_shows_the_body_as_text(self):
        body = ("http://a.io " * 400)[: settings.CHAT_BODY_MAX].strip()
        html = self.html(body)
        self.assertEqual(html, rendering.plain_html(body))
        self.assertNotIn("<a", html)


class MentionTests(SimpleTestCase):
    def test_resolved_names_are_spans_with_the_id(self):
        self.assertEqual(
            render_body("hi @Bob. and @nobody", names={"bob": 8}),
            '<p>hi <span class="mention" data-user-id="8">@Bob</span>. and @nobody</p>',
        )

    def test_room_and_here_only_when_the_message_mentions_everyone(self):
        self.assertEqual(render_body("@room @here lunch"), "<p>@room @here lunch</p>")
        self.assertEqual(
            render_body("@room lunch", everyone="room"),
            '<p><span class="mention mention-all">@room</span> lunch</p>',
        )

    def test_never_inside_code_or_links(self):
        html = render_body(
            "`@bob` [@bob](https://example.com) https://example.social/@bob **@bob**\n"
            "```\n@bob\n```",
            names={"bob": 8},
        )
        self.assertEqual(html.count("<span"), 1)
        self.assertIn('<strong><span class="mention" data-user-id="8">@bob</span></strong>', html)
        self.assertIn("<code>@bob</code>", html)
        self.assertIn("<pre><code>@bob\n</code></pre>", html)

    def test_the_text_mentions_are_resolved_from_leaves_out_code_and_links(self):
        parsed = parse_body("`@alice` [@bob](https://example.com) @carol\n```\n@room\n```")
        self.assertEqual(parsed.mention_text.strip(), "@carol")
        self.assertEqual(parse_body("just words here").mention_text, "")

    def test_addresses_are_not_mentions(self):
        self.assertNotIn("<span", render_body("x@bob.org", names={"bob": 8}))

    def test_a_hostile_name_is_escaped(self):
        html = render_body('@x"><img', names={'x"><img': 3, "x": 4})
        self.assertEqual(unsafe_parts(html), [])
        self.assertIn('data-user-id="4">@x</span>"&gt;&lt;img', html)


# Characters of plain prose and of every construct: the shortcut for plain bodies must
# give what the parser gives, whatever the mix.
BODY_CHARS = st.sampled_from(list("aZé日Я1 ,;?!'\"().") + list("*_`~[]<>&@:#-+=|\\/\n\t"))


class PlainShortcutTests(SimpleTestCase):
    @hypothesis_settings(max_examples=400, deadline=None)
    @given(st.text(BODY_CHARS, min_size=1, max_size=40).map(str.strip).filter(bool))
    def test_the_shortcut_gives_what_the_parser_gives(self, body):
        full = rendering.ParsedBody(body, rendering._MD.parse(body))  # the parser, always
        self.assertEqual(render_body(body), rendering.render_html(full))

    def test_plain_prose_takes_the_shortcut(self):
        self.assertIsNone(parse_body("Yes, I'll be there (at noon). Won't you?").tokens)
        for body in ("see example.com", "1. item", "a_b", "@bob", "a\nb", "e.g. this"):
            with self.subTest(body=body):
                self.assertIsNotNone(parse_body(body).tokens)


class XssCorpusTests(SimpleTestCase):
    def test_the_corpus_is_large_enough(self):
        self.assertGreaterEqual(len(XSS_CORPUS), 30)
        for body in XSS_CORPUS:
            self.assertLessEqual(len(body), settings.CHAT_BODY_MAX)

    def test_nothing_executable_comes_out(self):
        for body in XSS_CORPUS:
            with self.subTest(body=body[:80]):
                html = render_body(body, names={"alice": 1}, everyone="room")
                self.assertEqual(unsafe_parts(html), [], html)
                # Whatever the renderer kept, the sanitizer keeps it as it is.
                self.assertEqual(rendering.sanitize(html), html)

    def test_raw_html_is_shown_as_written(self):
        html = render_body("<script>window.__xss++</script>")
        self.assertEqual(html, "<p>&lt;script&gt;window.__xss++&lt;/script&gt;</p>")

    def test_the_sanitizer_alone_stops_what_the_parser_would_let_through(self):
        hostile = (
            '<p onclick="x()">a<script>b()</script><style>c</style>'
            '<a href="javascript:d()">e</a><a href="/relative">f</a>'
            '<a href="https://example.com" target="_self" rel="opener">g</a>'
            '<img src="https://example.com/t.png"><iframe src="https://example.com"></iframe>'
            '<span class="mention evil" data-user-id="x">h</span>'
            '<code class="language-a b">i</code><h1 title="t">j</h1></p>'
        )
        html = rendering.sanitize(hostile)
        self.assertEqual(unsafe_parts(html), [])
        # A link to nowhere allowed loses its href; <h1> ends the paragraph, as in a browser.
        blank = '<a target="_blank" rel="noopener nofollow ugc">'
        self.assertEqual(
            html,
            f"<p>a{blank}e</a>{blank}f</a>"
            '<a href="https://example.com" target="_blank" rel="noopener nofollow ugc">g</a>'
            "<span>h</span><code>i</code></p>j<p></p>",
        )

    def test_a_message_frame_stays_within_the_send_limit(self):
        # Bodies that grow most as HTML (escapes, links, list items, control characters).
        longest = settings.CHAT_BODY_MAX
        bodies = [
            "&" * longest,
            "<" * longest,
            ("-\n" * longest)[:longest],
            ("http://a.io " * longest)[:longest],
            ("[x](http://a.io)" * longest)[:longest],
            ("@a " * longest)[:longest],
            "\x01" * longest,
            "\u2028" * longest,
        ]
        author = get_user_model()(id=7, username="a")
        author.profile = None
        for body in bodies:
            with self.subTest(body=body[:12]):
                message = Message(
                    id=1, rev=1, created_rev=1, author=author, body=body,
                    body_html=render_body(body, names={"a": 9}),
                    created_at=datetime(2026, 12, 1, tzinfo=UTC),
                )  # fmt: skip
                data = protocol.message_data(
                    message, room_slug="general", display_name="", is_bot=False
                )
                frame = protocol.encode({"type": "message.new", "message": data})
                self.assertLessEqual(len(frame.encode()), settings.CHAT_SEND_FRAME_MAX)


class StoredHtmlTests(TestCase):
    """The services render a body as they store it; every read carries the HTML."""

    def setUp(self):
        cache.clear()  # rate-limit buckets
        presence._store = None
        self.alice, self.bob = make_user("alice"), make_user("bob")
        self.room = make_room("General")
        for user in (self.alice, self.bob):
            add_member(self.room, user)

    def send(self, body, author=None):
        data, _created = services.message_send(
            room=self.room, author=author or self.alice, body=body
        )
        return data

    def test_send_stores_the_html_and_the_body_as_typed(self):
        data = self.send("**hi** @bob, see https://example.com")
        message = Message.objects.get(pk=data["id"])
        self.assertEqual(message.body, "**hi** @bob, see https://example.com")
        self.assertEqual(
            message.body_html,
            f'<p><strong>hi</strong> <span class="mention" data-user-id="{self.bob.pk}">@bob</span>'
            ', see <a href="https://example.com" target="_blank" rel="noopener nofollow ugc">'
            "https://example.com</a></p>",
        )
        self.assertEqual(data["html"], message.body_html)
        self.assertEqual(data["body"], message.body)

    def test_a_mention_inside_code_notifies_no_one(self):
        data = self.send("try `@bob` or\n```\n@bob\n```")
        self.assertEqual(data["mentions"], [])
        self.assertFalse(MessageMention.objects.filter(message_id=data["id"]).exists())
        self.assertNotIn("<span", data["html"])

    def test_an_edit_renders_again(self):
        data = self.send("plain")
        self.assertEqual(data["html"], "<p>plain</p>")
        edited = services.message_edit(
            room=self.room, user=self.alice, message_id=data["id"], body="*now* @bob"
        )
        expected = (
            f'<p><em>now</em> <span class="mention" data-user-id="{self.bob.pk}">@bob</span></p>'
        )
        self.assertEqual(edited["html"], expected)
        self.assertEqual(Message.objects.get(pk=data["id"]).body_html, expected)
        self.assertEqual(edited["mentions"], [self.bob.pk])

    def test_pages_and_catch_up_carry_the_html_and_a_deletion_empties_it(self):
        first = self.send("~~old~~")
        second = self.send("`new`")
        page = selectors.message_page(room=self.room)
        self.assertEqual(
            [m["html"] for m in page["messages"]], ["<p><s>old</s></p>", "<p><code>new</code></p>"]
        )
        services.message_delete(room=self.room, user=self.alice, message_id=first["id"])
        since = selectors.messages_since(room=self.room, since=second["rev"])
        self.assertEqual(
            [(m["id"], m["html"], m["body"]) for m in since["messages"]], [(first["id"], "", "")]
        )

    def test_the_api_and_the_page_show_the_stored_html(self):
        self.send("**bold** <script>x</script>")
        self.client.force_login(self.bob)
        api = self.client.get(reverse("chat:api_room_messages", kwargs={"slug": self.room.slug}))
        self.assertEqual(
            api.json()["messages"][-1]["html"],
            "<p><strong>bold</strong> &lt;script&gt;x&lt;/script&gt;</p>",
        )
        page = self.client.get(reverse("chat:room_detail", kwargs={"slug": self.room.slug}))
        self.assertContains(page, "<p><strong>bold</strong> &lt;script&gt;x&lt;/script&gt;</p>")
        self.assertNotContains(page, "<script>x")

    def test_the_admin_shows_the_html_sanitized(self):
        data = self.send("**bold** [x](https://example.com)")
        Message.objects.filter(pk=data["id"]).update(
            body_html=data["html"] + '<img src=x onerror="alert(1)"><script>alert(2)</script>'
        )
        admin = make_user("admin", is_staff=True, is_superuser=True)
        self.client.force_login(admin)
        response = self.client.get(reverse("admin:chat_message_change", args=[data["id"]]))
        self.assertContains(response, "<strong>bold</strong>")
        self.assertContains(response, 'rel="noopener nofollow ugc"')
        self.assertNotContains(response, "onerror")
        self.assertNotContains(response, "alert(2)")


class RenderStoredTests(TestCase):
    """Messages stored before bodies had HTML: the migration and `render_messages`."""

    def setUp(self):
        self.alice, self.bob = make_user("alice"), make_user("Bob")
        self.room = make_room("General")
        add_member(self.room, self.bob)

    def test_renders_those_without_html_with_their_stored_mentions(self):
        mentioning = make_message(self.room, self.alice, "**hi** @bob and @carol")
        MessageMention.objects.create(message=mentioning, user=self.bob, kind="user")
        everyone = make_message(self.room, self.alice, "@room hello")
        Message.objects.filter(pk=everyone.pk).update(mention_all="room")
        done = make_message(self.room, self.alice, "kept")
        Message.objects.filter(pk=done.pk).update(body_html="<p>already</p>")
        self.assertEqual(messages_render(batch_size=1), 2)
        html = dict(Message.objects.values_list("pk", "body_html"))
        self.assertEqual(
            html[mentioning.pk],
            f'<p><strong>hi</strong> <span class="mention" data-user-id="{self.bob.pk}">@bob</span>'
            " and @carol</p>",
        )
        self.assertEqual(
            html[everyone.pk], '<p><span class="mention mention-all">@room</span> hello</p>'
        )
        self.assertEqual(html[done.pk], "<p>already</p>")
        self.assertEqual(messages_render(), 0)

    def test_the_command_renders_every_message_with_all(self):
        message = make_message(self.room, self.alice, "*again*")
        Message.objects.filter(pk=message.pk).update(body_html="<p>stale</p>")
        out = io.StringIO()
        call_command("render_messages", stdout=out)
        self.assertIn("0 message(s) rendered.", out.getvalue())
        call_command("render_messages", "--all", "--batch-size", "10", stdout=out)
        self.assertIn("1 message(s) rendered.", out.getvalue())
        self.assertEqual(Message.objects.get(pk=message.pk).body_html, "<p><em>again</em></p>")


class LiveHtmlTests(SocketTestCase):
    """The HTML reaches the room live, and again in a catch-up after a reconnect."""

    async def test_message_new_and_sync_carry_the_html(self):
        await sync_to_async(add_member)(self.room, self.alice)
        await sync_to_async(add_member)(self.room, self.bob)
        alice, _ = await self.join(self.alice)
        bob, _ = await self.join(self.bob, others=[alice])
        await self.send(alice, type="message.send", client_id="c-1", body="**hi** @bob")
        await self.expect(alice, "message.new")
        live = (await self.expect(bob, "message.new"))["message"]
        mention = f'<span class="mention" data-user-id="{self.bob.pk}">@bob</span>'
        expected = f"<p><strong>hi</strong> {mention}</p>"
        self.assertEqual(live["html"], expected)
        await bob.disconnect()
        again = await self.connect(self.bob, "/ws/rooms/general/?since=0")
        await self.expect(again, "hello")
        sync = await self.expect(again, "sync")
        self.assertEqual([m["html"] for m in sync["messages"]], [expected])
