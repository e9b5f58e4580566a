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


def handshake(host: str | None = None, *, scheme: str = "ws", headers=(), server=None):
    """Build the scope of a WebSocket handshake that reached the site as `host`."""
    scope = {"type": "websocket", "scheme": scheme, "headers": list(headers)}
    if host is not None:
        scope["headers"].append((b"host", host.encode()))
    if server is not None:
        scope["server"] = server
    return scope


class OriginRuleTests(SimpleTestCase):
    """Only a page of this site may open a socket (cross-site WebSocket hijacking)."""

    def test_pages_of_the_site_are_allowed(self):
        for origin, host in [
            ("http://localhost", "localhost"),
            ("http://localhost:8000", "localhost:8000"),
            ("http://127.0.0.1:8000", "127.0.0.1:8000"),
            ("http://[::1]:8000", "[::1]:8000"),
            ("http://LOCALHOST:8000", "localhost:8000"),
        ]:
            self.assertTrue(origin_allowed(origin, handshake(host)), origin)
        self.assertTrue(origin_allowed("https://localhost", handshake("localhost", scheme="wss")))

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
            "http://@localhost",
            "http://localhost/chat/",
            "http://localhost?x=1",
            "ws://localhost",
        ]
        for origin in refused:
            self.assertFalse(origin_allowed(origin, handshake("localhost")), origin)

    def test_another_port_of_the_same_host_is_another_site(self):
        # Cookies are not isolated by port: a page there would ride the user's session.
        site = handshake("127.0.0.1:8000")
        for origin in ["http://127.0.0.1:1", "http://127.0.0.1", "https://127.0.0.1:1"]:
            self.assertFalse(origin_allowed(origin, site), origin)
        self.assertFalse(origin_allowed("http://localhost:8001", handshake("localhost")))

    def test_another_scheme_of_the_same_host_is_another_site(self):
        self.assertFalse(origin_allowed("https://localhost:8000", handshake("localhost:8000")))
        self.assertFalse(origin_allowed("https://localhost", handshake("localhost")))
        secure = handshake("localhost:8443", scheme="wss")
        self.assertFalse(origin_allowed("http://localhost:8443", secure))

    def test_an_http_page_may_not_open_a_secure_socket(self):
        self.assertFalse(origin_allowed("http://localhost", handshake("localhost", scheme="wss")))
        self.assertFalse(origin_allowed("http://localhost", handshake(scheme="wss")))

    @override_settings(ALLOWED_HOSTS=["example.com"])
    def test_default_ports_are_the_same_origin(self):
        for origin, host, scheme in [
            ("http://example.com:80", "example.com", "ws"),
            ("http://example.com", "example.com:80", "ws"),
            ("https://example.com:443", "example.com", "wss"),
            ("https://example.com", "example.com:443", "wss"),
        ]:
            self.assertTrue(origin_allowed(origin, handshake(host, scheme=scheme)), origin)
        self.assertFalse(origin_allowed("http://example.com:443", handshake("example.com")))

    @override_settings(CHAT_REQUIRE_HTTPS_ORIGIN=True)
    def test_an_https_site_refuses_http_pages_whatever_the_socket(self):
        self.assertFalse(origin_allowed("http://localhost", handshake("localhost")))
        self.assertTrue(origin_allowed("https://localhost", handshake("localhost")))

    @override_settings(ALLOWED_HOSTS=["chat.example.com"])
    def test_a_sibling_subdomain_is_another_site(self):
        site = handshake("chat.example.com", scheme="wss")
        self.assertTrue(origin_allowed("https://chat.example.com", site))
        for origin in [
            "https://files.example.com",
            "https://example.com",
            "https://x.chat.example.com",
        ]:
            self.assertFalse(origin_allowed(origin, site), origin)

    def test_a_host_outside_allowed_hosts_is_refused(self):
        # A rebound DNS name pointing at the server: its page and Host agree, but
        # the host is not one of the site's.
        self.assertFalse(origin_allowed("http://evil.test:8000", handshake("evil.test:8000")))
        two_hosts = handshake("localhost", headers=[(b"host", b"evil.test")])
        self.assertFalse(origin_allowed("http://localhost", two_hosts))

    @override_settings(
        ALLOWED_HOSTS=["chat.example.com"], CSRF_TRUSTED_ORIGINS=["https://app.example.com"]
    )
    def test_a_trusted_origin_is_accepted(self):
        site = handshake("chat.example.com", scheme="wss")
        for origin in ["https://app.example.com", "https://app.example.com:443"]:
            self.assertTrue(origin_allowed(origin, site), origin)
        for origin in [
            "https://app.example.com:8443",
            "https://x.app.example.com",
            "https://files.example.com",
        ]:
            self.assertFalse(origin_allowed(origin, site), origin)
        # A trusted page is still refused where the site itself is: an unknown Host.
        self.assertFalse(origin_allowed("https://app.example.com", handshake("evil.test")))

    @override_settings(
        ALLOWED_HOSTS=["chat.example.com"], CSRF_TRUSTED_ORIGINS=["https://*.example.com"]
    )
    def test_a_wildcard_trusted_origin_covers_the_subdomains(self):
        site = handshake("chat.example.com", scheme="wss")
        for origin in ["https://files.example.com", "https://a.b.example.com"]:
            self.assertTrue(origin_allowed(origin, site), origin)
        for origin in [
            "https://example.com.evil.test",
            "https://evilexample.com",
            "https://files.example.com:8443",
        ]:
            self.assertFalse(origin_allowed(origin, site), origin)
        plain = handshake("chat.example.com")
        self.assertFalse(origin_allowed("http://files.example.com", plain))

    @override_settings(
        ALLOWED_HOSTS=["chat.example.com"],
        SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    )
    def test_behind_a_tls_proxy_the_site_is_its_https_origin(self):
        # nginx ends TLS: the socket arrives as ws, with the browser's Host and scheme.
        site = handshake("chat.example.com", headers=[(b"x-forwarded-proto", b"https")])
        self.assertTrue(origin_allowed("https://chat.example.com", site))
        self.assertFalse(origin_allowed("http://chat.example.com", site))
        self.assertFalse(origin_allowed("https://chat.example.com:8443", site))
        plain = handshake("chat.example.com", headers=[(b"x-forwarded-proto", b"http")])
        self.assertTrue(origin_allowed("http://chat.example.com", plain))
        self.assertFalse(origin_allowed("https://chat.example.com", plain))

    def test_without_a_proxy_setting_x_forwarded_proto_is_not_believed(self):
        for name in [b"x-forwarded-proto", b"x_forwarded_proto"]:
            site = handshake("localhost:8000", headers=[(name, b"https")])
            self.assertFalse(origin_allowed("https://localhost:8000", site), name)
            self.assertTrue(origin_allowed("http://localhost:8000", site), name)

    def test_without_a_host_header_the_server_address_names_the_site(self):
        site = handshake(server=["127.0.0.1", 8000])
        self.assertTrue(origin_allowed("http://127.0.0.1:8000", site))
        self.assertFalse(origin_allowed("http://127.0.0.1:1", site))
        ipv6 = handshake(server=["::1", 8000])
        self.assertTrue(origin_allowed("http://[::1]:8000", ipv6))


class HandshakeAttackTests(TransactionTestCase):
    """The same rules at the real handshake, with a valid session cookie attached."""

    def setUp(self):
        self.alice = make_user("alice")
        self.room = make_room("General")
        self.cookie = session_cookie(self.alice)

    def communicator(
        self, origin: bytes | None, *, scheme: str = "ws", cookie=True, host: bytes | None = None
    ):
        headers = [(b"cookie", self.cookie)] if cookie else []
        if origin is not None:
            headers.append((b"origin", origin))
        if host is not None:
            headers.append((b"host", host))
        communicator = WebsocketCommunicator(application, "/ws/rooms/general/", headers=headers)
        communicator.scope["scheme"] = scheme
        return communicator

    async def test_hijacking_attempts_are_refused_at_the_handshake(self):
        attempts = [
            (b"https://evil.test", "ws", None),
            (b"null", "ws", None),
            (None, "ws", None),
            (b"http://localhost", "wss", None),  # scheme downgrade
            (b"http://localhost.evil.test", "ws", None),
            # The same host, on another port or scheme, is another site.
            (b"http://127.0.0.1:1", "ws", b"127.0.0.1:8000"),
            (b"https://127.0.0.1:1", "ws", b"127.0.0.1:8000"),
            (b"https://127.0.0.1:8000", "ws", b"127.0.0.1:8000"),
        ]
        for origin, scheme, host in attempts:
            communicator = self.communicator(origin, scheme=scheme, host=host)
            connected, _ = await communicator.connect(timeout=5)
            self.assertFalse(connected, (origin, scheme, host))
            await communicator.disconnect()

    async def test_the_same_site_is_let_in(self):
        for origin, scheme, host in [
            (b"http://127.0.0.1:8000", "ws", b"127.0.0.1:8000"),
            (b"https://localhost", "wss", b"localhost"),
            (b"https://localhost", "wss", None),
        ]:
            communicator = self.communicator(origin, scheme=scheme, host=host)
            connected, _ = await communicator.connect(timeout=5)
            self.assertTrue(connected, (origin, scheme, host))
            hello = await communicator.receive_json_from(timeout=5)
            self.assertEqual(hello["type"], "hello")
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
