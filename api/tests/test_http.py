"""`Authorization: Bearer` on the HTTP API (api/middleware.py): who it signs in, scopes,
CSRF, refusals, and the limits it shares with the session."""

import json
import tempfile
from datetime import timedelta
from unittest import mock

from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory, TestCase, override_settings
from django.urls import reverse
from django.utils import timezone

from api.models import ApiToken
from chat.models import Message
from chat.tests.factories import add_member, make_room, make_user, quiet_request_warnings

from .factories import bearer, make_token

READ_ONLY = {"error": {"code": "forbidden", "detail": "This token may only read."}}


class BearerTestCase(TestCase):
    def setUp(self):
        cache.clear()  # rate-limit buckets
        quiet_request_warnings(self)
        self.alice = make_user("alice")
        self.room = make_room("General")
        add_member(self.room, self.alice)
        self.writer, self.write_raw = make_token(self.alice, scope="write")
        self.reader, self.read_raw = make_token(self.alice, scope="read")
        # As a script: no cookie, and CSRF enforced as a browser's request would have it.
        self.script = Client(enforce_csrf_checks=True)

    def messages_url(self, slug="general"):
        return reverse("chat:api_room_messages", kwargs={"slug": slug})

    def send(self, client, raw=None, client_id="c-1", body="hi"):
        headers = bearer(raw) if raw is not None else {}
        return client.post(
            self.messages_url(),
            json.dumps({"client_id": client_id, "body": body}),
            content_type="application/json",
            **headers,
        )

    def assertError(self, response, status: int, code: str) -> dict:
        self.assertEqual(response.status_code, status, response.content)
        error = response.json()["error"]
        self.assertEqual(error["code"], code)
        self.assertTrue(error["detail"])
        return error


class ScopeTests(BearerTestCase):
    def test_a_read_token_reads(self):
        response = self.script.get(reverse("chat:api_rooms"), **bearer(self.read_raw))
        self.assertEqual(response.status_code, 200)
        self.assertEqual([room["slug"] for room in response.json()["rooms"]], ["general"])
        response = self.script.get(self.messages_url(), **bearer(self.read_raw))
        self.assertEqual(response.status_code, 200)
        self.assertIn("messages", response.json())

    def test_a_read_token_may_not_write(self):
        response = self.send(self.script, self.read_raw)
        self.assertEqual(response.status_code, 403)
        self.assertEqual(response.json(), READ_ONLY)
        read = reverse("chat:api_room_read", kwargs={"slug": "general"})
        response = self.script.post(
            read, '{"rev": 0}', content_type="application/json", **bearer(self.read_raw)
        )
        self.assertEqual(response.json(), READ_ONLY)
        self.assertFalse(Message.objects.exists())

    def test_a_write_token_posts_without_csrf(self):
        response = self.send(self.script, self.write_raw)
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["message"]["author"]["username"], "alice")
        self.assertEqual(Message.objects.get().author, self.alice)

    def test_the_token_wins_over_a_session_cookie(self):
        bob = make_user("bob")
        add_member(self.room, bob)
        self.script.force_login(bob)
        self.assertEqual(self.send(self.script, self.write_raw).status_code, 201)
        self.assertEqual(Message.objects.get().author, self.alice)

    def test_the_token_is_marked_used(self):
        self.assertIsNone(self.reader.last_used_at)
        self.script.get(reverse("chat:api_rooms"), **bearer(self.read_raw))
        self.reader.refresh_from_db()
        self.assertIsNotNone(self.reader.last_used_at)

    def test_files_take_the_token_too(self):
        media_root = self.enterContext(tempfile.TemporaryDirectory(prefix="chat-media-"))
        self.enterContext(override_settings(MEDIA_ROOT=media_root))
        upload = SimpleUploadedFile("notes.txt", b"some notes\n")
        response = self.script.post(
            reverse("chat:api_room_attachments", args=["general"]),
            {"file": upload},
            **bearer(self.write_raw),
        )
        self.assertEqual(response.status_code, 201, response.content)
        attachment = response.json()["attachment"]
        response = self.script.post(
            self.messages_url(),
            json.dumps({"attachments": [attachment["id"]]}),
            content_type="application/json",
            **bearer(self.write_raw),
        )
        self.assertEqual(response.status_code, 201, response.content)
        file = self.script.get(attachment["url"], **bearer(self.read_raw))
        self.assertEqual(file.status_code, 200)
        self.assertEqual(b"".join(file.streaming_content), b"some notes\n")
        # Without the token, a script is sent to the login page; with a bad one, 401.
        self.assertEqual(self.script.get(attachment["url"]).status_code, 302)
        self.assertEqual(self.script.get(attachment["url"], **bearer("chat_nope")).status_code, 401)


class CsrfTests(BearerTestCase):
    def test_a_session_post_without_a_csrf_token_is_still_refused(self):
        self.script.force_login(self.alice)
        response = self.send(self.script)
        self.assertEqual(response.status_code, 403)
        self.assertFalse(Message.objects.exists())
        # The same request with the CSRF token goes through: only the token was missing.
        request = RequestFactory().get("/")
        csrf = get_token(request)
        self.script.cookies["csrftoken"] = request.META["CSRF_COOKIE"]
        response = self.script.post(
            self.messages_url(),
            json.dumps({"client_id": "c-1", "body": "hi"}),
            content_type="application/json",
            headers={"X-CSRFToken": csrf},
        )
        self.assertEqual(response.status_code, 201)

    def test_another_authorization_scheme_is_ignored_and_the_session_applies(self):
        basic = {"HTTP_AUTHORIZATION": "Basic YWxpY2U6c2VjcmV0"}
        response = self.script.get(reverse("chat:api_rooms"), **basic)
        self.assertEqual(response.json()["error"]["code"], "unauthenticated")
        # api_view's own 401 (the session's), not the token middleware's.
        self.assertEqual(response.json()["error"]["detail"], "Log in first, or send an API token.")
        self.script.force_login(self.alice)
        self.assertEqual(self.script.get(reverse("chat:api_rooms"), **basic).status_code, 200)
        # ... and so does its CSRF check.
        response = self.script.post(self.messages_url(), "{}", "application/json", **basic)
        self.assertEqual(response.status_code, 403)

    def test_pages_outside_the_api_ignore_the_token(self):
        response = self.script.get(reverse("api:tokens"), **bearer(self.write_raw))
        self.assertEqual(response.status_code, 302)
        self.assertIn(reverse("login"), response["Location"])
        # Nor does it lift the CSRF check of a page's form.
        self.script.force_login(self.alice)
        response = self.script.post(
            reverse("api:tokens"), {"name": "x", "scope": "write", "expiry": "never"},
            **bearer(self.write_raw),
        )  # fmt: skip
        self.assertEqual(response.status_code, 403)
        self.assertEqual(ApiToken.objects.count(), 2)


class RefusedTokenTests(BearerTestCase):
    def assertUnauthenticated(self, raw, method="get"):
        call = getattr(self.script, method)
        response = call(reverse("chat:api_rooms"), **bearer(raw))
        self.assertError(response, 401, "unauthenticated")
        self.assertEqual(response["WWW-Authenticate"], "Bearer")

    def test_unknown_tokens(self):
        for raw in ["chat_unknown", "", "not-even-ours", self.write_raw + "x"]:
            with self.subTest(raw=raw):
                self.assertUnauthenticated(raw)

    def test_a_revoked_token(self):
        self.assertEqual(self.send(self.script, self.write_raw).status_code, 201)
        ApiToken.objects.filter(pk=self.writer.pk).update(revoked_at=timezone.now())
        self.assertUnauthenticated(self.write_raw)
        response = self.send(self.script, self.write_raw, client_id="c-2")
        self.assertError(response, 401, "unauthenticated")
        self.assertEqual(Message.objects.count(), 1)

    def test_an_expired_token(self):
        ApiToken.objects.filter(pk=self.writer.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        self.assertUnauthenticated(self.write_raw)

    def test_a_deactivated_user(self):
        self.alice.is_active = False
        self.alice.save()
        self.assertUnauthenticated(self.write_raw)

    def test_a_bad_token_is_refused_even_with_a_session(self):
        self.script.force_login(self.alice)
        self.assertUnauthenticated("chat_unknown")

    def test_a_database_outage_is_a_json_500(self):
        with mock.patch("api.middleware.token_authenticate", side_effect=OperationalError("gone")):
            response = self.script.get(reverse("chat:api_rooms"), **bearer(self.write_raw))
        self.assertError(response, 500, "server_error")


class SharedLimitTests(BearerTestCase):
    @override_settings(CHAT_RATE_MESSAGES=4, CHAT_RATE_PERIOD=60)
    def test_token_and_session_share_the_users_message_limit(self):
        browser = Client()
        browser.force_login(self.alice)
        for i in range(2):
            self.assertEqual(self.send(browser, client_id=f"s-{i}").status_code, 201)
            self.assertEqual(self.send(self.script, self.write_raw, f"t-{i}").status_code, 201)
        error = self.assertError(self.send(self.script, self.write_raw, "t-2"), 429, "rate_limited")
        self.assertGreater(error["retry_after"], 0)
        self.assertError(self.send(browser, client_id="s-2"), 429, "rate_limited")
        self.assertEqual(Message.objects.count(), 4)
