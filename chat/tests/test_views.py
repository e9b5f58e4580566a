"""Pages, accounts and the HTTP API (PROTOCOL.md, "HTTP")."""

import json
from unittest import mock

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth import SESSION_KEY, get_user_model
from django.core.cache import cache
from django.db import connection
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory, TestCase, TransactionTestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chat import services
from chat.models import Membership, Message, Room
from chat.realtime import presence
from myproject.asgi import application

from .factories import (
    PASSWORD,
    add_member,
    make_message,
    make_messages,
    make_room,
    make_user,
    quiet_request_warnings,
    session_cookie,
)


class SignupTestCase(TestCase):
    url = reverse("signup")

    def test_form(self):
        response = self.client.get(self.url)
        self.assertEqual(response.status_code, 200)
        self.assertTemplateUsed(response, "registration/signup.html")
        self.assertContains(response, 'name="username"')
        self.assertContains(response, "csrfmiddlewaretoken")

    def test_signup_creates_the_user_and_logs_in(self):
        response = self.client.post(
            self.url,
            {
                "username": "newcomer",
                "password1": "a-long-pass-phrase",
                "password2": "a-long-pass-phrase",
            },
        )
        self.assertRedirects(response, reverse("chat:room_list"))
        user = get_user_model().objects.get(username="newcomer")
        self.assertTrue(user.check_password("a-long-pass-phrase"))
        self.assertEqual(self.client.session[SESSION_KEY], str(user.pk))

    def test_invalid_signup_creates_nothing(self):
        make_user("taken")
        for data in [
            {"username": "newcomer", "password1": "a-long-pass-phrase", "password2": "different!"},
            {
                "username": "taken",
                "password1": "a-long-pass-phrase",
                "password2": "a-long-pass-phrase",
            },
            {"username": "newcomer", "password1": "123", "password2": "123"},
        ]:
            response = self.client.post(self.url, data)
            self.assertEqual(response.status_code, 200)
            self.assertTrue(response.context["form"].errors)
        self.assertEqual(get_user_model().objects.count(), 1)
        self.assertNotIn(SESSION_KEY, self.client.session)

    def test_logged_in_users_go_to_the_rooms(self):
        self.client.force_login(make_user("alice"))
        self.assertRedirects(self.client.get(self.url), reverse("chat:room_list"))


class LoginLogoutTestCase(TestCase):
    def setUp(self):
        self.alice = make_user("alice")

    def test_login_page(self):
        response = self.client.get(reverse("login"))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, 'name="password"')

    def test_login_and_logout(self):
        response = self.client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
        self.assertRedirects(response, reverse("chat:room_list"))
        self.assertEqual(self.client.session[SESSION_KEY], str(self.alice.pk))
        response = self.client.post(reverse("logout"))
        self.assertRedirects(response, reverse("login"))
        self.assertNotIn(SESSION_KEY, self.client.session)
        self.assertEqual(self.client.get(reverse("chat:room_list")).status_code, 302)

    def test_wrong_password(self):
        response = self.client.post(reverse("login"), {"username": "alice", "password": "wrong"})
        self.assertEqual(response.status_code, 200)
        self.assertNotIn(SESSION_KEY, self.client.session)


class RoomListViewTestCase(TestCase):
    url = reverse("chat:room_list")

    def setUp(self):
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        make_room("Lobby", topic="Say hello")
        make_room("<i>Tricky</i>", slug="tricky")
        secret = make_room("Secret Plans", slug="secret", is_private=True)
        add_member(secret, self.alice)
        self.client.force_login(self.bob)

    def test_requires_login(self):
        self.client.logout()
        response = self.client.get(self.url)
        self.assertRedirects(response, f"{reverse('login')}?next={self.url}")

    def test_lists_the_rooms_the_user_may_see(self):
        response = self.client.get(self.url)
        self.assertEqual(response.status_code, 200)
        self.assertTemplateUsed(response, "chat/room_list.html")
        self.assertEqual(
            sorted(room.slug for room in response.context["rooms"]), ["lobby", "tricky"]
        )
        self.assertContains(response, "Lobby")
        self.assertContains(response, "Say hello")
        self.assertContains(response, 'href="/rooms/lobby/"')
        self.assertNotContains(response, "Secret Plans")
        self.assertContains(response, "&lt;i&gt;Tricky&lt;/i&gt;")
        self.assertNotContains(response, "<i>Tricky</i>")

    def test_members_see_their_private_rooms(self):
        self.client.force_login(self.alice)
        self.assertContains(self.client.get(self.url), "Secret Plans")

    def test_post_creates_a_room_and_redirects_to_it(self):
        response = self.client.post(
            self.url, {"name": "Book Club", "topic": "Novels", "is_private": "on"}
        )
        room = Room.objects.get(name="Book Club")
        self.assertRedirects(response, "/rooms/book-club/")
        self.assertEqual((room.topic, room.is_private, room.created_by), ("Novels", True, self.bob))
        self.assertTrue(Membership.objects.filter(room=room, user=self.bob, role="owner").exists())

    def test_invalid_post_creates_nothing(self):
        response = self.client.post(self.url, {"name": "   "})
        self.assertEqual(response.status_code, 200)
        self.assertIn("name", response.context["form"].errors)
        self.assertEqual(Room.objects.count(), 3)

    def test_a_name_taken_in_any_case_is_refused_by_the_form(self):
        for name in ["Lobby", "lobby", " LOBBY "]:
            response = self.client.post(self.url, {"name": name})
            self.assertEqual(response.status_code, 200)
            self.assertIn("already exists", " ".join(response.context["form"].errors["name"]))
        self.assertEqual(Room.objects.count(), 3)
        self.assertFalse(Membership.objects.filter(user=self.bob).exists())

    def test_a_name_taken_between_the_form_and_the_write_is_refused_too(self):
        # The form checked; another request created the room before this one's write.
        real_room_create = services.room_create

        def someone_else_first(**kwargs):
            make_room("book club", slug="someone-elses")
            return real_room_create(**kwargs)

        with mock.patch.object(services, "room_create", side_effect=someone_else_first):
            response = self.client.post(self.url, {"name": "Book Club"})
        self.assertEqual(response.status_code, 200)
        self.assertIn("already exists", " ".join(response.context["form"].errors["name"]))
        self.assertEqual(
            list(Room.objects.filter(name__iexact="book club")),
            [Room.objects.get(slug="someone-elses")],
        )

    def test_query_count_does_not_grow_with_the_rooms(self):
        def count_queries():
            with CaptureQueriesContext(connection) as queries:
                self.assertEqual(self.client.get(self.url).status_code, 200)
            return len(queries)

        before = count_queries()
        for i in range(10):
            room = make_room(f"More {i}")
            add_member(room, self.alice)
            make_message(room, self.alice)
        self.assertEqual(count_queries(), before)


class RoomDetailViewTestCase(TestCase):
    def setUp(self):
        quiet_request_warnings(self)
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.room = make_room("General")
        self.client.force_login(self.bob)

    def url(self, slug="general"):
        return reverse("chat:room_detail", kwargs={"slug": slug})

    def test_requires_login(self):
        self.client.logout()
        response = self.client.get(self.url())
        self.assertRedirects(response, f"{reverse('login')}?next={self.url()}")

    def test_renders_the_latest_50_messages(self):
        make_messages(self.room, self.alice, 55)
        response = self.client.get(self.url())
        self.assertEqual(response.status_code, 200)
        self.assertTemplateUsed(response, "chat/room_detail.html")
        self.assertEqual(len(response.context["timeline"]), 50)
        self.assertIs(response.context["has_more"], True)
        self.assertContains(response, "message 054")
        self.assertContains(response, "message 005")
        self.assertNotContains(response, "message 004")
        html = response.content.decode()
        self.assertLess(html.index("message 005"), html.index("message 054"))  # oldest first

    def test_message_text_is_escaped(self):
        make_message(self.room, self.alice, "<b>x</b> & <script>alert(1)</script>")
        response = self.client.get(self.url())
        self.assertContains(
            response, "&lt;b&gt;x&lt;/b&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt;"
        )
        self.assertNotContains(response, "<b>x</b>")
        self.assertNotContains(response, "<script>alert(1)</script>")

    def test_deleted_messages_show_no_body(self):
        message = make_message(self.room, self.alice, "regrettable")
        Message.objects.filter(pk=message.pk).update(deleted_at=message.created_at)
        response = self.client.get(self.url())
        self.assertNotContains(response, "regrettable")
        self.assertContains(response, f'data-id="{message.pk}"')

    def test_visiting_a_public_room_makes_no_member_the_first_message_does(self):
        self.assertEqual(self.client.get(self.url()).status_code, 200)
        self.assertFalse(Membership.objects.filter(room=self.room, user=self.bob).exists())
        services.message_send(room=self.room, author=self.bob, body="hi")
        self.assertTrue(Membership.objects.filter(room=self.room, user=self.bob).exists())

    def test_private_room_is_404_for_non_members(self):
        make_room("Secret", is_private=True)
        self.assertEqual(self.client.get(self.url("secret")).status_code, 404)
        self.assertFalse(Membership.objects.filter(user=self.bob).exists())

    def test_private_room_renders_for_members(self):
        room = make_room("Secret", is_private=True)
        add_member(room, self.bob)
        self.assertEqual(self.client.get(self.url("secret")).status_code, 200)

    def test_banned_and_unknown_rooms_are_404(self):
        add_member(self.room, self.bob, banned=True)
        self.assertEqual(self.client.get(self.url()).status_code, 404)
        self.assertEqual(self.client.get(self.url("nothing")).status_code, 404)

    def test_query_count_does_not_grow_with_the_messages(self):
        make_messages(self.room, self.alice, 5)
        self.client.get(self.url())  # the first visit warms up what is cached
        with CaptureQueriesContext(connection) as first:
            self.client.get(self.url())
        make_messages(self.room, make_user("carol"), 30, prefix="more")
        with CaptureQueriesContext(connection) as second:
            self.client.get(self.url())
        self.assertEqual(len(second), len(first))


class ApiTestCase(TestCase):
    def setUp(self):
        quiet_request_warnings(self)
        cache.clear()  # rate-limit buckets
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.room = make_room("General")
        self.client.force_login(self.alice)

    def url(self, slug="general"):
        return reverse("chat:api_room_messages", kwargs={"slug": slug})

    def post(self, data, *, slug="general", raw=None):
        body = raw if raw is not None else json.dumps(data)
        return self.client.post(self.url(slug), body, content_type="application/json")

    def assertError(self, response, status: int, code: str):
        self.assertEqual(response.status_code, status, msg=response.content[:300])
        self.assertEqual(response["Content-Type"], "application/json")
        error = response.json()["error"]
        self.assertEqual(error["code"], code)
        self.assertTrue(error["detail"])
        return error


class ApiGetTestCase(ApiTestCase):
    def setUp(self):
        super().setUp()
        self.messages = make_messages(self.room, self.bob, 60)

    def ids(self, response) -> list[int]:
        return [message["id"] for message in response.json()["messages"]]

    def test_newest_page(self):
        response = self.client.get(self.url())
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.ids(response), [m.pk for m in self.messages[-50:]])
        self.assertIs(response.json()["has_more"], True)
        first = response.json()["messages"][0]
        self.assertEqual(
            first["author"], {"id": self.bob.pk, "username": "bob", "display_name": ""}
        )
        self.assertTrue(first["created_at"].endswith("Z"))

    def test_before_and_limit(self):
        response = self.client.get(self.url(), {"before": self.messages[20].pk, "limit": 5})
        self.assertEqual(self.ids(response), [m.pk for m in self.messages[15:20]])
        self.assertIs(response.json()["has_more"], True)
        response = self.client.get(self.url(), {"before": self.messages[3].pk, "limit": 100})
        self.assertEqual(self.ids(response), [m.pk for m in self.messages[:3]])
        self.assertIs(response.json()["has_more"], False)

    def test_invalid_parameters_are_bad_frame(self):
        for params in [
            {"limit": 0},
            {"limit": 101},
            {"limit": "ten"},
            {"limit": -1},
            {"limit": "1.5"},
            {"before": 0},
            {"before": "abc"},
            {"before": 2**60},
            {"since": -1},
            {"since": "x"},
            {"since": "٣"},  # a digit, but not an ASCII one
        ]:
            self.assertError(self.client.get(self.url(), params), 400, "bad_frame")

    def test_since(self):
        services.message_edit(
            room=self.room, user=self.bob, message_id=self.messages[0].pk, body="edited"
        )
        response = self.client.get(self.url(), {"since": 59})
        self.assertEqual(response.status_code, 200)
        data = response.json()
        self.assertEqual(
            [(m["id"], m["rev"], m["body"]) for m in data["messages"]],
            [(self.messages[59].pk, 60, "message 059"), (self.messages[0].pk, 61, "edited")],
        )
        self.assertEqual((data["rev"], data["complete"]), (61, True))

    def test_anonymous_is_401_json(self):
        self.client.logout()
        self.assertError(self.client.get(self.url()), 401, "unauthenticated")

    def test_private_banned_and_unknown_rooms_are_404(self):
        make_room("Secret", is_private=True)
        self.assertError(self.client.get(self.url("secret")), 404, "not_found")
        self.assertError(self.client.get(self.url("nothing")), 404, "not_found")
        add_member(self.room, self.alice, banned=True)
        self.assertError(self.client.get(self.url()), 404, "not_found")

    def test_archived_rooms_can_be_read(self):
        Room.objects.filter(pk=self.room.pk).update(is_archived=True)
        self.assertEqual(self.client.get(self.url()).status_code, 200)

    def test_reading_makes_no_member(self):
        self.assertEqual(self.client.get(self.url()).status_code, 200)
        self.assertFalse(Membership.objects.filter(room=self.room, user=self.alice).exists())

    def test_other_methods_are_refused(self):
        self.assertEqual(self.client.put(self.url()).status_code, 405)
        self.assertEqual(self.client.delete(self.url()).status_code, 405)


class ApiPostTestCase(ApiTestCase):
    def test_created_then_repeated(self):
        response = self.post({"client_id": "c-1", "body": "  hello  "})
        self.assertEqual(response.status_code, 201)
        message = response.json()["message"]
        self.assertEqual(
            (message["body"], message["client_id"], message["rev"]), ("hello", "c-1", 1)
        )
        self.assertEqual(message["author"]["username"], "alice")
        stored = Message.objects.get()
        self.assertEqual(
            (stored.pk, stored.author, stored.room), (message["id"], self.alice, self.room)
        )
        again = self.post({"client_id": "c-1", "body": "hello"})
        self.assertEqual(again.status_code, 200)
        self.assertEqual(again.json()["message"], message)
        self.assertEqual(Message.objects.count(), 1)

    def test_makes_a_member_of_a_public_room(self):
        self.post({"client_id": "c-1", "body": "hello"})
        self.assertTrue(Membership.objects.filter(room=self.room, user=self.alice).exists())

    def test_invalid_bodies(self):
        cases = [
            ({"client_id": "c-1", "body": "   "}, None, "empty"),
            ({"client_id": "c-1", "body": "x" * 4001}, None, "too_long"),
            (None, "{not json", "bad_json"),
            (None, "[1, 2]", "bad_frame"),
            ({"client_id": "has space", "body": "hi"}, None, "bad_frame"),
            ({"client_id": "c" * 65, "body": "hi"}, None, "bad_frame"),
            ({"client_id": "c-1", "body": 42}, None, "bad_frame"),
            ({"client_id": "c-1"}, None, "bad_frame"),
            (None, json.dumps({"client_id": "c-1", "body": "x" * 17000}), "too_long"),
            (None, '{"client_id": "c-1", "body": "lone \\ud800"}', "bad_frame"),
        ]
        for data, raw, code in cases:
            self.assertError(self.post(data, raw=raw), 400, code)
        self.assertFalse(Message.objects.exists())
        self.assertEqual(Room.objects.get().rev, 0)

    def test_an_empty_body_is_bad_json(self):
        # PROTOCOL.md, "HTTP": a body that is not valid JSON is `bad_json`, and no bytes at
        # all are not JSON.
        self.assertError(self.post(None, raw=""), 400, "bad_json")
        self.assertFalse(Message.objects.exists())
        self.assertEqual(Room.objects.get().rev, 0)

    def test_anonymous_is_401_json(self):
        self.client.logout()
        self.assertError(self.post({"client_id": "c-1", "body": "hi"}), 401, "unauthenticated")
        self.assertFalse(Message.objects.exists())

    def test_private_room_is_404(self):
        make_room("Secret", is_private=True)
        self.assertError(
            self.post({"client_id": "c-1", "body": "hi"}, slug="secret"), 404, "not_found"
        )
        self.assertFalse(Message.objects.exists())

    def test_archived_room_is_409(self):
        Room.objects.filter(pk=self.room.pk).update(is_archived=True)
        self.assertError(self.post({"client_id": "c-1", "body": "hi"}), 409, "room_archived")
        self.assertFalse(Message.objects.exists())

    def test_rate_limited_is_429_with_retry_after(self):
        for i in range(10):
            self.assertEqual(self.post({"client_id": f"c-{i}", "body": "hi"}).status_code, 201)
        response = self.post({"client_id": "c-10", "body": "hi"})
        error = self.assertError(response, 429, "rate_limited")
        self.assertGreater(error["retry_after"], 0)
        self.assertGreaterEqual(int(response["Retry-After"]), 1)
        self.assertEqual(Message.objects.count(), 10)

    def test_csrf_token_is_required(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.alice)
        body = json.dumps({"client_id": "c-1", "body": "hi"})
        response = client.post(self.url(), body, content_type="application/json")
        self.assertEqual(response.status_code, 403)
        # The API's error body, as every refusal (not Django's HTML page).
        self.assertEqual(response.json()["error"]["code"], "csrf_failed")
        self.assertFalse(Message.objects.exists())
        # A page's form keeps Django's own page.
        page = client.post(reverse("chat:room_list"), {"name": "Elsewhere"})
        self.assertEqual(page.status_code, 403)
        self.assertIn("text/html", page["Content-Type"])
        # With the token, the same request goes through.
        request = RequestFactory().get("/")
        token = get_token(request)
        client.cookies["csrftoken"] = request.META["CSRF_COOKIE"]
        response = client.post(
            self.url(), body, content_type="application/json", headers={"X-CSRFToken": token}
        )
        self.assertEqual(response.status_code, 201)


class ApiBroadcastTestCase(TransactionTestCase):
    """A message posted over HTTP reaches the room's open sockets."""

    def setUp(self):
        cache.clear()
        presence._store = None
        async_to_sync(get_channel_layer().flush)()
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        make_room("General")
        self.bob_cookie = session_cookie(self.bob)
        self.client.force_login(self.alice)

    async def test_post_is_broadcast_live(self):
        bob = WebsocketCommunicator(
            application,
            "/ws/rooms/general/",
            headers=[(b"origin", b"http://localhost"), (b"cookie", self.bob_cookie)],
        )
        try:
            connected, _ = await bob.connect()
            self.assertTrue(connected)
            self.assertEqual((await bob.receive_json_from(timeout=3))["type"], "hello")
            self.assertEqual((await bob.receive_json_from(timeout=3))["type"], "presence")
            response = await sync_to_async(self.client.post)(
                reverse("chat:api_room_messages", kwargs={"slug": "general"}),
                json.dumps({"client_id": "c-1", "body": "over http"}),
                content_type="application/json",
            )
            self.assertEqual(response.status_code, 201)
            frame = await bob.receive_json_from(timeout=3)
            self.assertEqual(frame, {"type": "message.new", "message": response.json()["message"]})
            # A repeat stores nothing and broadcasts nothing.
            response = await sync_to_async(self.client.post)(
                reverse("chat:api_room_messages", kwargs={"slug": "general"}),
                json.dumps({"client_id": "c-1", "body": "over http"}),
                content_type="application/json",
            )
            self.assertEqual(response.status_code, 200)
            self.assertTrue(await bob.receive_nothing(timeout=0.2))
        finally:
            await bob.disconnect()
