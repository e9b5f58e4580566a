"""The live staff dashboard in Chromium: staff watch people online and a room's messages
move, without a reload; a member who is not staff is refused, over HTTP and over the
dashboard's socket.

The live server is another process: people online and the heartbeats are its own, and
every message is sent through a page of it.
"""

import re

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.urls import reverse
from playwright.sync_api import expect

from chat.tests.test_browser import PASSWORD, TIMEOUT_MS, BrowserTestCase
from ops.processes import RedisProcesses

# Opens the dashboard's socket from a page; resolves with the code it was closed with.
CLOSE_CODE_OF = """(path) => new Promise((resolve) => {
  const ws = new WebSocket(`ws://${location.host}${path}`);
  ws.onclose = (event) => resolve(event.code);
})"""

SUM_OF_BARS = """() => [...document.querySelectorAll('[data-js="chart"] rect.ops-bar')]
  .reduce((sum, bar) => sum + Number(bar.dataset.value), 0)"""


def forget_sockets_in_redis():
    """With Redis, forget the sockets and the heartbeats that earlier tests' servers (and
    this process's own socket tests) left there: the one process listed must be this
    test's live server."""
    if not settings.REDIS_URL:
        return
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        for pattern in ("chat:sockets:*", "chat:presence:*"):
            keys = list(client.scan_iter(pattern))
            if keys:
                client.delete(*keys)
        client.delete(RedisProcesses.KEY)
    finally:
        client.close()


@override_settings(OPS_DASHBOARD_INTERVAL=0.3, OPS_HEARTBEAT_INTERVAL=0.3)
class DashboardInBrowserTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        forget_sockets_in_redis()  # people online must be this test's
        self.root = get_user_model().objects.create_user(
            username="root", password=PASSWORD, is_staff=True
        )

    def test_staff_see_people_online_and_messages_arrive_without_a_reload(self):
        bob = self.open_room_as(self.bob)
        dashboard = self.page_as(self.root, reverse("ops:dashboard"))
        root = dashboard.locator('[data-js="ops-dashboard"]')
        expect(root).to_have_attribute("data-state", "live", timeout=TIMEOUT_MS)
        dashboard.evaluate("window.sameDocument = true")

        # bob's tab is the one socket open: the admin page opens none of the chat's.
        expect(dashboard.locator('[data-js="people-online"]')).to_have_text("1", timeout=TIMEOUT_MS)
        expect(dashboard.locator('[data-js="rooms"]')).to_contain_text(
            "No messages in rooms", timeout=TIMEOUT_MS
        )
        process = dashboard.locator('[data-js="processes"] tr[data-process]')
        expect(process).to_have_count(1, timeout=TIMEOUT_MS)
        tabs = process.locator("td").nth(1)  # protocol 2
        expect(tabs).to_have_text("1", timeout=TIMEOUT_MS)

        for number in range(3):
            self.type_and_send(bob, f"busy {number}")
            self.shown_message(bob, f"busy {number}").wait_for()

        lobby = dashboard.locator('[data-js="rooms"] tr[data-slug="lobby"]')
        expect(lobby.locator("td").nth(1)).to_have_text("3", timeout=TIMEOUT_MS)
        expect(lobby.locator(".ops-room-name")).to_have_text("Lobby", timeout=TIMEOUT_MS)
        expect(dashboard.locator('[data-js="messages-window"]')).to_have_text(
            "3", timeout=TIMEOUT_MS
        )
        bars = dashboard.locator('[data-js="chart"] rect.ops-bar')
        self.assertEqual(bars.count(), 30)
        self.assertEqual(dashboard.evaluate(SUM_OF_BARS), 3)
        self.assertEqual(lobby.locator(".ops-sparkline polyline").count(), 1)
        self.assertTrue(dashboard.evaluate("window.sameDocument"))  # never reloaded

        # No longer staff: the page says so and stops, within a few snapshots.
        get_user_model().objects.filter(pk=self.root.pk).update(is_staff=False)
        expect(root).to_have_attribute("data-state", "stopped", timeout=TIMEOUT_MS)
        expect(dashboard.locator('[data-js="status"]')).to_have_text(
            "Only staff may see this dashboard.", timeout=TIMEOUT_MS
        )
        self.assertEqual(self.problems, [])

    def test_a_member_who_is_not_staff_is_refused_over_http_and_the_socket(self):
        page = self.watched_page(self.new_context(), "bob")
        self.log_in(page, self.bob, reverse("chat:room_list"))
        page.goto(f"{self.live_server_url}{reverse('ops:dashboard')}")

        page.wait_for_url(re.compile(r"/admin/login/\?next=/admin/ops/dashboard/$"))
        expect(page.locator(".errornote")).to_contain_text("not authorized", timeout=TIMEOUT_MS)
        self.assertEqual(page.locator('[data-js="ops-dashboard"]').count(), 0)
        self.assertEqual(page.evaluate(CLOSE_CODE_OF, "/ws/ops/dashboard/"), 4403)
        self.assertEqual(self.problems, [])
