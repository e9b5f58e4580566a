"""The room page's template tags: stored message HTML, marked for its reader."""

from django.core.cache import cache
from django.template import Context, Template
from django.test import TestCase
from django.urls import reverse

from chat import services
from chat.realtime import presence
from chat.rendering import render_body
from chat.templatetags.chat_tags import mentions_me, message_html

from .factories import add_member, make_room, make_user


def message(body, *, author_id=1, mentions=(), mention_all=None, deleted=False, html=None):
    """Return a protocol message object with what the tags read."""
    return {
        "id": 5,
        "author": {"id": author_id, "username": "author"},
        "body": body,
        "html": html if html is not None else "",
        "deleted": deleted,
        "mentions": list(mentions),
        "mention_all": mention_all,
    }


class MessageHtmlTests(TestCase):
    def setUp(self):
        self.alice, self.bob = make_user("alice"), make_user("bob")

    def html(self, msg, user=None) -> str:
        return str(message_html(msg, user or self.alice))

    def stored(self, body, *, names=None, everyone="", **fields) -> dict:
        html = render_body(body, names=names, everyone=everyone)
        return message(body, html=html, mention_all=everyone or None, **fields)

    def test_the_stored_html_is_shown_as_it_is(self):
        msg = self.stored("**hi** <b>x</b> @bob", names={"bob": self.bob.pk})
        msg["mentions"] = [self.bob.pk]
        self.assertEqual(
            self.html(msg),
            "<p><strong>hi</strong> &lt;b&gt;x&lt;/b&gt; "
            f'<span class="mention" data-user-id="{self.bob.pk}">@bob</span></p>',
        )

    def test_a_mention_of_me_is_marked(self):
        msg = self.stored("hey @Alice.", names={"alice": self.alice.pk}, author_id=self.bob.pk)
        msg["mentions"] = [self.alice.pk]
        self.assertEqual(
            self.html(msg),
            f'<p>hey <span class="mention mention-me" data-user-id="{self.alice.pk}">'
            "@Alice</span>.</p>",
        )
        # bob reads the same message unmarked.
        self.assertNotIn("mention-me", self.html(msg, self.bob))

    def test_room_is_marked_for_everyone_but_its_author(self):
        msg = self.stored("@room lunch", everyone="room", author_id=self.bob.pk)
        self.assertEqual(
            self.html(msg), '<p><span class="mention mention-all mention-me">@room</span> lunch</p>'
        )
        mine = self.stored("@room lunch", everyone="room", author_id=self.alice.pk)
        self.assertEqual(
            self.html(mine), '<p><span class="mention mention-all">@room</span> lunch</p>'
        )
        # @here mentions me only when I was online (then my id is listed).
        here = self.stored("@here now", everyone="here", author_id=self.bob.pk)
        self.assertNotIn("mention-me", self.html(here))
        here["mentions"] = [self.alice.pk]
        self.assertIn("mention-me", self.html(here))

    def test_text_that_spells_a_mention_is_not_marked(self):
        spelled = f'<span class="mention" data-user-id="{self.alice.pk}">@alice</span>'
        msg = self.stored(spelled, author_id=self.bob.pk, mentions=[self.alice.pk])
        html = self.html(msg)
        self.assertNotIn("mention-me", html)
        self.assertNotIn("<span", html)

    def test_a_message_stored_without_html_shows_its_body_as_text(self):
        msg = message("<script>x</script>\nline two", html="")
        self.assertEqual(self.html(msg), "<p>&lt;script&gt;x&lt;/script&gt;<br>line two</p>")

    def test_mentions_me(self):
        me = self.alice
        self.assertTrue(mentions_me(message("@alice", mentions=[me.pk], author_id=9), me))
        self.assertTrue(mentions_me(message("@room", mention_all="room", author_id=9), me))
        self.assertFalse(mentions_me(message("@here", mention_all="here", author_id=9), me))
        self.assertFalse(mentions_me(message("@room", mention_all="room", author_id=me.pk), me))
        self.assertFalse(mentions_me(message("", mentions=[me.pk], author_id=9, deleted=True), me))

    def test_the_tag_in_a_template(self):
        template = Template(
            "{% load chat_tags %}{% for m in timeline %}{% message_html m user %}{% endfor %}"
        )
        timeline = [self.stored("*hi* & bye")]
        html = template.render(Context({"timeline": timeline, "user": self.alice}))
        self.assertEqual(html, "<p><em>hi</em> &amp; bye</p>")


class RoomPageMentionsTests(TestCase):
    """The server-rendered first page draws the mentions the server resolved."""

    def setUp(self):
        cache.clear()  # rate-limit buckets
        presence._store = None
        self.alice, self.bob = make_user("alice"), make_user("bob")
        self.room = make_room("General")
        for user in (self.alice, self.bob):
            add_member(self.room, user)
        self.url = reverse("chat:room_detail", kwargs={"slug": self.room.slug})

    def test_bob_sees_his_mention_and_the_row_marked(self):
        services.message_send(room=self.room, author=self.alice, body="hi @bob, meet @nobody <3")
        self.client.force_login(self.bob)
        response = self.client.get(self.url)
        self.assertContains(
            response,
            f'<p>hi <span class="mention mention-me" data-user-id="{self.bob.pk}">@bob</span>'
            ", meet @nobody &lt;3</p>",
            html=False,
        )
        # What room.js redraws from: the body as typed, escaped in its attribute.
        self.assertContains(response, 'data-body="hi @bob, meet @nobody &lt;3"')
        self.assertContains(response, "is-mentioning-me")
        self.assertContains(response, f'data-mentions="{self.bob.pk}"')
        self.assertContains(response, 'data-mention-all-max="50"')

        self.client.force_login(self.alice)
        response = self.client.get(self.url)
        self.assertContains(
            response, f'<span class="mention" data-user-id="{self.bob.pk}">@bob</span>'
        )
        self.assertNotContains(response, "is-mentioning-me")
