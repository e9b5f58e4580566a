"""The room page in a real browser: two people, each in their own browser context.

Runs Debian's Chromium through Playwright against a live daphne server. Without
/usr/bin/chromium the tests skip, except under CI=true, where that is a failure.
"""

import os
import re
import time
import unittest
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from asgiref.sync import SyncToAsync
from channels.testing import ChannelsLiveServerTestCase
from channels.testing.live import make_application, set_database_connection
from daphne.testing import DaphneProcess
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.urls import reverse
from playwright.sync_api import sync_playwright

from chat import services
from chat.models import Message

CHROMIUM = "/usr/bin/chromium"
# Playwright cannot download its own browser here; Debian's needs these to run headless
# in a container and to stay off the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 10_000
PASSWORD = "correct-horse-battery-staple"


def require_chromium() -> None:
    """Skip when Chromium is missing, or fail under CI, where the browser tests must run."""
    if os.access(CHROMIUM, os.X_OK):
        return
    message = f"{CHROMIUM} is not installed (apt-get install chromium; `make test` does it)"
    if os.environ.get("CI") == "true":
        raise RuntimeError(message)
    raise unittest.SkipTest(message)


class ForkedDaphneProcess(DaphneProcess):
    """The live server, forked from the test process, with a database thread of its own."""

    def run(self):
        # asgiref's executor for database calls outside a request came along with the
        # fork, but its thread did not: once an earlier test had started that thread, the
        # child's executor counted the dead one as idle, and every database call of a
        # socket (the session, first of all) waited for ever. A new executor starts one.
        SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
        super().run()


class BrowserTestCase(ChannelsLiveServerTestCase):
    """A live daphne server and a headless Chromium, shared by the tests of a class."""

    ProtocolServerProcess = ForkedDaphneProcess

    @classmethod
    def setUpClass(cls):
        require_chromium()
        super().setUpClass()  # starts daphne in a subprocess, before any browser thread
        # Playwright's sync API runs an event loop in this thread, and Django refuses ORM
        # calls from a thread with a running loop unless told that this is intended.
        cls._async_unsafe_before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        cls.playwright = cls.browser = None
        try:
            cls.playwright = sync_playwright().start()
            cls.browser = cls.playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
        except BaseException:
            cls._stop_browser()
            super().tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        # A server started after the browser (a restart) holds copies of the browser
        # driver's pipes: stop it first, or the driver never sees them close.
        cls._server_process.terminate()
        cls._server_process.join()
        cls._stop_browser()
        super().tearDownClass()

    @classmethod
    def _stop_browser(cls):
        if cls.browser is not None:
            cls.browser.close()
        if cls.playwright is not None:
            cls.playwright.stop()
        if cls._async_unsafe_before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = cls._async_unsafe_before

    def _fixture_teardown(self):
        # The live server may still be finishing a closed tab's last request when the
        # test flushes the database: on PostgreSQL the flush's TRUNCATE can deadlock with
        # it, and PostgreSQL aborts one of the two. Flushing again then succeeds.
        for attempt in range(3):
            try:
                return super()._fixture_teardown()
            except CommandError as error:
                if attempt == 2 or "deadlock" not in str(error.__cause__).lower():
                    raise
                time.sleep(0.5)
        return None

    def setUp(self):
        users = get_user_model().objects
        self.alice = users.create_user(username="alice", password=PASSWORD)
        self.bob = users.create_user(username="bob", password=PASSWORD)
        self.room = services.room_create(name="Lobby", created_by=self.alice)
        # Uncaught exceptions, console errors and dialogs, from every page: none expected.
        self.problems = []

    # --- helpers ----------------------------------------------------------------------

    def new_context(self, **options):
        """A browser context of its own, closed after the test."""
        context = self.browser.new_context(**options)
        self.addCleanup(context.close)
        return context

    def watched_page(self, context, name):
        """A tab whose uncaught errors, console errors and dialogs count as problems."""
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda error: self.problems.append(f"{name}: {error}"))
        page.on(
            "console",
            lambda msg: msg.type == "error" and self.problems.append(f"{name}: {msg.text}"),
        )
        page.on("dialog", lambda dialog: self.problems.append(f"{name}: dialog {dialog.message}"))
        return page

    def log_in(self, page, user, path):
        """Sign `user` in through the real login form, landing on `path`."""
        page.goto(f"{self.live_server_url}{reverse('login')}?next={path}")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{self.live_server_url}{path}")

    def page_as(self, user, path, *, javascript=True):
        """A fresh context signed in as `user` (JavaScript on or off), open on `path`."""
        page = self.watched_page(self.new_context(java_script_enabled=javascript), user.username)
        self.log_in(page, user, path)
        return page

    def open_room_as(self, user):
        """Sign in in a fresh context and wait for the live room."""
        page = self.page_as(user, self.room.get_absolute_url())
        self.wait_until_live(page)
        return page

    def signed_in_context(self, user):
        """A browser context signed in as `user`, through the login form, for several tabs."""
        context = self.browser.new_context()
        self.addCleanup(context.close)
        login = context.new_page()
        login.goto(f"{self.live_server_url}{reverse('login')}")
        login.fill("#id_username", user.username)
        login.fill("#id_password", PASSWORD)
        login.click("button[type=submit]")
        login.wait_for_load_state()
        login.close()
        return context

    def wait_until_live(self, page):
        page.locator('[data-js="conn-state"][data-state="live"]').wait_for()

    def type_and_send(self, page, text):
        composer = page.locator("#composer-input")
        composer.press_sequentially(text)
        composer.press("Enter")

    def shown_message(self, page, text):
        """Locate a stored message's body (not a pending outbox entry) with exactly this text."""
        bodies = page.locator('[data-js="messages"] li[data-id] .message-body')
        return bodies.filter(has_text=re.compile(rf"^{re.escape(text)}$"))

    def shown_bodies(self, page) -> list[str]:
        """Return the bodies of the stored messages shown, top to bottom."""
        return page.locator('[data-js="messages"] li[data-id] .message-body').all_text_contents()


class RoomInBrowserTests(BrowserTestCase):
    """Messages typed in one browser appear live in another, and stay after a reload."""

    def test_message_arrives_live_and_survives_a_reload(self):
        alice = self.open_room_as(self.alice)
        bob = self.open_room_as(self.bob)

        self.type_and_send(alice, "Hello from Alice")

        self.shown_message(bob, "Hello from Alice").wait_for()
        # On Alice's side the acknowledgement turns the outbox entry into the message.
        self.shown_message(alice, "Hello from Alice").wait_for()
        alice.locator('[data-js="outbox"] li').first.wait_for(state="detached")

        for page in (alice, bob):
            response = page.reload()
            # Rendered by the server, not fetched by room.js after the load.
            self.assertIn("Hello from Alice", response.text())
            self.wait_until_live(page)
            self.assertEqual(self.shown_message(page, "Hello from Alice").count(), 1)

        self.assertEqual(Message.objects.filter(room=self.room).count(), 1)
        self.assertEqual(self.problems, [])

    def test_markup_in_a_message_is_shown_as_text(self):
        payload = "<img src=x onerror=alert(1)>"
        alice = self.open_room_as(self.alice)
        bob = self.open_room_as(self.bob)

        self.type_and_send(alice, payload)

        body = self.shown_message(bob, payload)
        body.wait_for()
        self.assertEqual(body.text_content(), payload)
        self.assertEqual(bob.locator("#room img").count(), 0)

        # The server-rendered copy is escaped too.
        response = bob.reload()
        self.assertIn("&lt;img src=x onerror=alert(1)&gt;", response.text())
        body = self.shown_message(bob, payload)
        body.wait_for()
        self.assertEqual(body.text_content(), payload)
        self.assertEqual(bob.locator("#room img").count(), 0)
        self.assertEqual(self.problems, [])

    def test_a_room_named_with_markup_runs_nothing(self):
        name = "<script>window.pwned = 1</script>"
        topic = '<img src=x onerror="window.pwned = 2">'
        hostile = services.room_create(name=name, topic=topic, created_by=self.bob)
        self.room = hostile
        alice = self.open_room_as(self.alice)
        self.assertEqual(alice.locator('[data-js="room-name"]').text_content(), name)
        self.assertEqual(alice.locator('[data-js="room-topic"]').text_content(), topic)
        alice.goto(f"{self.live_server_url}{reverse('chat:room_list')}")
        alice.get_by_text(name, exact=True).first.wait_for()
        self.assertEqual(alice.locator("main img").count(), 0)
        self.assertIsNone(alice.evaluate("window.pwned"))
        self.assertEqual(self.problems, [])


class ServerOutageInBrowserTests(BrowserTestCase):
    """Messages typed while the server is down are delivered once it is back."""

    def restart_server_after(self, while_stopped):
        """Stop the live server, run `while_stopped`, then start it again on the same port."""
        cls = type(self)
        cls._server_process.terminate()
        cls._server_process.join()
        while_stopped()
        cls._server_process = cls.ProtocolServerProcess(
            cls.host,
            partial(make_application, static_wrapper=cls.static_wrapper),
            setup=set_database_connection,
            port=cls._port,
        )
        cls._server_process.start()
        if not cls._server_process.ready.wait(timeout=30):
            raise RuntimeError("The live server did not come back")

    def test_messages_sent_while_the_server_is_down_arrive_once_in_order(self):
        alice = self.open_room_as(self.alice)
        bob = self.open_room_as(self.bob)
        texts = ["first while down", "second while down", "third while down"]

        def send_three():
            alice.locator('[data-js="conn-state"]:not([data-state="live"])').wait_for()
            for text in texts:
                self.type_and_send(alice, text)
            # Shown at once, as pending, before any server has them.
            self.assertEqual(alice.locator('[data-js="outbox"] li').count(), 3)
            self.assertEqual(Message.objects.filter(room=self.room).count(), 0)

        self.restart_server_after(send_three)

        for page in (alice, bob):
            self.shown_message(page, texts[-1]).wait_for(timeout=45_000)
            self.assertEqual(self.shown_bodies(page), texts)
        alice.locator('[data-js="outbox"] li').first.wait_for(state="detached")
        self.assertEqual(
            list(
                Message.objects.filter(room=self.room).order_by("id").values_list("body", flat=True)
            ),
            texts,
        )
        # Chromium reports the refused reconnection attempts, and a request (the member
        # list, fetched after each hello) that the stopping server reset; nothing else.
        network = ("ERR_CONNECTION_REFUSED", "ERR_CONNECTION_RESET", "ERR_EMPTY_RESPONSE")
        unexpected = [p for p in self.problems if not any(code in p for code in network)]
        self.assertEqual(unexpected, [])
