"""The room page's template tags: mentions drawn as the live page draws them."""

from django.core.cache import cache
from django.template import Context, Template
from django.test import TestCase
from django.urls import reverse

from chat import services
from chat.realtime import presence
from chat.selectors import mentioned_member_names
from chat.templatetags.chat_tags import mentions_me, message_body

from .factories import add_member, make_room, make_user


def message(body, *, author_id=1, mentions=(), mention_all=None, deleted=False) -> dict:
    """Return a protocol message object with what the tags read."""
    return {
        "id": 5,
        "author": {"id": author_id, "username": "author"},
        "body": body,
        "deleted": deleted,
        "mentions": list(mentions),
        "mention_all": mention_all,
    }


class MessageBodyTests(TestCase):
    def setUp(self):
        self.alice, self.bob = make_user("alice"), make_user("bob")

    def body(self, msg, names=None, user=None) -> str:
        return str(message_body(msg, user or self.alice, names or {}))

    def test_a_resolved_name_is_a_span_and_the_rest_is_escaped_text(self):
        msg = message("<b>hi</b> @bob & @nobody", mentions=[self.bob.pk])
        self.assertEqual(
            self.body(msg, {self.bob.pk: "bob"}),
            f'&lt;b&gt;hi&lt;/b&gt; <span class="mention" data-user-id="{self.bob.pk}">@bob</span>'
            " &amp; @nobody",
        )

    def test_a_name_not_resolved_by_the_server_stays_text(self):
        # bob is a known name, but the server did not resolve this message to him.
        msg = message("@bob hello", mentions=[])
        self.assertEqual(self.body(msg, {self.bob.pk: "bob"}), "@bob hello")

    def test_an_id_without_a_known_name_stays_text(self):
        msg = message("@bob hello", mentions=[self.bob.pk])
        self.assertEqual(self.body(msg, {}), "@bob hello")

    def test_markup_in_a_mentioned_name_is_escaped(self):
        hostile = make_user('x"><img')
        msg = message('@x"><img', mentions=[hostile.pk])
        # '"' and '>' end a name, as on the server: nothing here is a mention, all is text.
        self.assertEqual(self.body(msg, {hostile.pk: hostile.username}), "@x&quot;&gt;&lt;img")

    def test_a_mention_of_me_is_marked(self):
        msg = message("hey @Alice.", mentions=[self.alice.pk], author_id=self.bob.pk)
        self.assertEqual(
            self.body(msg),  # my own name needs no lookup
            f'hey <span class="mention mention-me" data-user-id="{self.alice.pk}">@Alice</span>.',
        )

    def test_room_and_here_only_with_mention_all(self):
        self.assertEqual(self.body(message("@room lunch")), "@room lunch")
        self.assertEqual(
            self.body(message("@room lunch", author_id=self.bob.pk, mention_all="room")),
            '<span class="mention mention-me">@room</span> lunch',
        )
        # My own @room does not mention me.
        self.assertEqual(
            self.body(message("@room lunch", author_id=self.alice.pk, mention_all="room")),
            '<span class="mention">@room</span> lunch',
        )
        # @here mentions me only when I was online (then my id is listed).
        self.assertEqual(
            self.body(message("@here now", author_id=self.bob.pk, mention_all="here")),
            '<span class="mention">@here</span> now',
        )

    def test_addresses_are_not_mentions(self):
        msg = message("mail bob@bob.org", mentions=[self.bob.pk])
        self.assertEqual(self.body(msg, {self.bob.pk: "bob"}), "mail bob@bob.org")

    def test_mentions_me(self):
        me = self.alice
        self.assertTrue(mentions_me(message("@alice", mentions=[me.pk], author_id=9), me))
        self.assertTrue(mentions_me(message("@room", mention_all="room", author_id=9), me))
        self.assertFalse(mentions_me(message("@here", mention_all="here", author_id=9), me))
        self.assertFalse(mentions_me(message("@room", mention_all="room", author_id=me.pk), me))
        self.assertFalse(mentions_me(message("", mentions=[me.pk], author_id=9, deleted=True), me))


class MentionNamesTests(TestCase):
    def test_names_of_current_members_in_one_query(self):
        room = make_room("General")
        bob, carol, dave = make_user("bob"), make_user("carol"), make_user("dave")
        add_member(room, bob)
        add_member(room, carol, banned=True)
        messages = [message("@bob @carol", mentions=[bob.pk, carol.pk]), message("@dave")]
        with self.assertNumQueries(1):
            names = mentioned_member_names(room=room, messages=messages)
        self.assertEqual(names, {bob.pk: "bob"})
        self.assertNotIn(dave.pk, names)
        with self.assertNumQueries(0):
            self.assertEqual(mentioned_member_names(room=room, messages=[message("no one")]), {})

    def test_the_tags_in_a_template(self):
        room = make_room("General")
        alice, bob = make_user("alice"), make_user("bob")
        add_member(room, bob)
        template = Template(
            "{% load chat_tags %}{% for m in timeline %}{% message_body m user names %}{% endfor %}"
        )
        timeline = [message("<i>@bob</i>", mentions=[bob.pk])]
        names = mentioned_member_names(room=room, messages=timeline)
        context = {"timeline": timeline, "user": alice, "names": names}
        html = template.render(Context(context))
        self.assertEqual(
            html, f'&lt;i&gt;<span class="mention" data-user-id="{bob.pk}">@bob</span>&lt;/i&gt;'
        )


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
            f'hi <span class="mention mention-me" data-user-id="{self.bob.pk}">@bob</span>'
            ", meet @nobody &lt;3",
            html=False,
        )
        self.assertContains(response, "is-mentioning-me")
        self.assertContains(response, f'data-mentions="{self.bob.pk}"')
        self.assertContains(response, 'data-mention-all-max="50"')

        self.client.force_login(self.alice)
        response = self.client.get(self.url)
        self.assertContains(
            response, f'<span class="mention" data-user-id="{self.bob.pk}">@bob</span>'
        )
        self.assertNotContains(response, "is-mentioning-me")
