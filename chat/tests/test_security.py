"""Attacks tried and refused: cross-site sockets, forged posts, framing, inline script,
and the production settings that `check --deploy` judges."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from channels.db import database_sync_to_async
from channels.sessions import CookieMiddleware
from channels.testing import WebsocketCommunicator
from django.test import Client, SimpleTestCase, TestCase, TransactionTestCase, override_settings
from django.urls import reverse

from chat.realtime.auth import WebSocketSessionMiddleware
from chat.realtime.origin import origin_allowed
from myproject.asgi import application

from .factories import make_room, make_user, session_cookie

BASE_DIR = Path(__file__).resolve().parents[2]


class OriginRuleTests(SimpleTestCase):
    """Only a page of this site may open a socket (cross-site WebSocket hijacking)."""

    def test_pages_of_the_site_are_allowed(self):
        for origin in ["http://localhost", "http://localhost:8000", "http://127.0.0.1:8000"]:
            self.assertTrue(origin_allowed(origin, secure_socket=False), origin)
        self.assertTrue(origin_allowed("http://[::1]:8000", secure_socket=False))
        self.assertTrue(origin_allowed("https://localhost", secure_socket=True))

    def test_other_sites_and_non_origins_are_refused(self):
        refused = [
            None,
            "",
            "null",
            "https://evil.test",
            "http://localhost.evil.test",
            "http://evil.localhost",
            "file://",
            "javascript:alert(1)",
            "http://localhost:notaport",
            "http://user@localhost",
            "ws://localhost",
        ]
        for origin in refused:
            self.assertFalse(origin_allowed(origin, secure_socket=False), origin)

    def test_an_http_page_may_not_open_a_secure_socket(self):
        self.assertFalse(origin_allowed("http://localhost", secure_socket=True))

    @override_settings(CHAT_REQUIRE_HTTPS_ORIGIN=True)
    def test_an_https_site_refuses_http_pages_whatever_the_socket(self):
        self.assertFalse(origin_allowed("http://localhost", secure_socket=False))
        self.assertTrue(origin_allowed("https://localhost", secure_socket=False))

    @override_settings(ALLOWED_HOSTS=["chat.example.com"])
    def test_a_sibling_subdomain_is_another_site(self):
        self.assertTrue(origin_allowed("https://chat.example.com", secure_socket=True))
        for origin in [
            "https://files.example.com",
            "https://example.com",
            "https://x.chat.example.com",
        ]:
            self.assertFalse(origin_allowed(origin, secure_socket=True), origin)


class HandshakeAttackTests(TransactionTestCase):
    """The same rules at the real handshake, with a valid session cookie attached."""

    def setUp(self):
        self.alice = make_user("alice")
        self.room = make_room("General")
        self.cookie = session_cookie(self.alice)

    def communicator(self, origin: bytes | None, *, scheme: str = "ws", cookie=True):
        headers = [(b"cookie", self.cookie)] if cookie else []
        if origin is not None:
            headers.append((b"origin", origin))
        communicator = WebsocketCommunicator(application, "/ws/rooms/general/", headers=headers)
        communicator.scope["scheme"] = scheme
        return communicator

    async def test_hijacking_attempts_are_refused_at_the_handshake(self):
        attempts = [
            (b"https://evil.test", "ws"),
            (b"null", "ws"),
            (None, "ws"),
            (b"http://localhost", "wss"),  # scheme downgrade
            (b"http://localhost.evil.test", "ws"),
        ]
        for origin, scheme in attempts:
            communicator = self.communicator(origin, scheme=scheme)
            connected, _ = await communicator.connect(timeout=5)
            self.assertFalse(connected, (origin, scheme))
            await communicator.disconnect()

    async def test_the_same_site_over_tls_is_let_in(self):
        communicator = self.communicator(b"https://localhost", scheme="wss")
        connected, _ = await communicator.connect(timeout=5)
        self.assertTrue(connected)
        self.assertEqual((await communicator.receive_json_from(timeout=5))["type"], "hello")
        await communicator.disconnect()

    async def test_anonymous_is_closed_before_any_data(self):
        communicator = self.communicator(b"http://localhost", cookie=False)
        connected, _ = await communicator.connect(timeout=5)
        self.assertTrue(connected)
        # The very first thing after the accept is the close: no hello, no room data.
        self.assertEqual(
            await communicator.receive_output(timeout=5),
            {"type": "websocket.close", "code": 4401},
        )
        await communicator.disconnect()


class WebSocketSessionTests(TransactionTestCase):
    async def test_the_session_reaches_the_scope_and_send_is_not_wrapped(self):
        user = await database_sync_to_async(make_user)("alice")
        cookie = await database_sync_to_async(session_cookie)(user)
        seen = {}

        async def consumer(scope, receive, send):
            seen["user_id"] = await database_sync_to_async(scope["session"].get)("_auth_user_id")
            seen["send"] = send

        async def server_send(message):
            raise AssertionError("nothing is sent here")

        app = CookieMiddleware(WebSocketSessionMiddleware(consumer))
        await app({"type": "websocket", "headers": [(b"cookie", cookie)]}, None, server_send)
        self.assertEqual(seen["user_id"], str(user.pk))
        # Frames go to the server as they are: no session check on each one.
        self.assertIs(seen["send"], server_send)


class SecurityHeaderTests(TestCase):
    def setUp(self):
        self.client.force_login(make_user("alice"))
        self.room = make_room("General")

    def test_pages_forbid_inline_script_and_framing(self):
        for url in [reverse("chat:room_list"), self.room.get_absolute_url(), reverse("login")]:
            response = self.client.get(url)
            policy = response.headers["Content-Security-Policy"]
            directives = dict(
                part.strip().split(" ", 1) for part in policy.split(";") if part.strip()
            )
            self.assertEqual(directives["script-src"], "'self'", url)
            self.assertEqual(directives["object-src"], "'none'", url)
            self.assertEqual(directives["frame-ancestors"], "'none'", url)
            self.assertEqual(response.headers["X-Frame-Options"], "DENY", url)
            self.assertEqual(response.headers["X-Content-Type-Options"], "nosniff", url)

    def test_pages_contain_no_inline_script(self):
        for url in [reverse("chat:room_list"), self.room.get_absolute_url()]:
            html = self.client.get(url).content.decode()
            for tag in html.split("<script")[1:]:
                opening = tag.split(">", 1)[0]
                self.assertIn("src=", opening, f"inline script on {url}")
            self.assertNotIn(" onclick=", html)
            self.assertNotIn(" onerror=", html)


class CsrfTests(TestCase):
    """Every state-changing POST needs the CSRF token."""

    def test_every_post_without_the_token_is_refused(self):
        alice = make_user("alice")
        room = make_room("General")
        client = Client(enforce_csrf_checks=True)
        anonymous_posts = [
            (reverse("login"), {"username": "alice", "password": "x"}),
            (reverse("signup"), {"username": "mallory", "password1": "p", "password2": "p"}),
        ]
        for url, data in anonymous_posts:
            self.assertEqual(client.post(url, data).status_code, 403, url)
        client.force_login(alice)
        logged_in_posts = [
            (reverse("chat:room_list"), {"name": "Forged"}),
            (reverse("logout"), {}),
            (reverse("password_change"), {}),
        ]
        for url, data in logged_in_posts:
            self.assertEqual(client.post(url, data).status_code, 403, url)
        api = reverse("chat:api_room_messages", kwargs={"slug": room.slug})
        response = client.post(
            api, '{"client_id": "c1", "body": "forged"}', content_type="application/json"
        )
        self.assertEqual(response.status_code, 403)
        self.assertFalse(room.messages.exists())
        self.assertFalse(room.__class__.objects.filter(name="Forged").exists())


class DeployCheckTests(SimpleTestCase):
    """`manage.py check --deploy` is clean under the production settings."""

    def run_check(self, **env) -> subprocess.CompletedProcess:
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))
        }
        environment.update(env)
        return subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            cwd=BASE_DIR,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def test_production_settings_pass(self):
        result = self.run_check(
            DJANGO_DEBUG="0",
            DJANGO_HTTPS="1",
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            DJANGO_ALLOWED_HOSTS="chat.example.com",
        )
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_the_check_does_fail_without_https(self):
        result = self.run_check(
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            DJANGO_ALLOWED_HOSTS="chat.example.com",
        )
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("SECURE_SSL_REDIRECT", result.stdout + result.stderr)
