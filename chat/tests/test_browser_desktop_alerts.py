"""Desktop notifications in Chromium: one alert per message per browser, however many tabs
are open, closed again when the message is read on another tab
(static/js/chat/desktop_alerts.js).

Chromium grants the live server's origin the notifications permission; an init script
wraps window.Notification so that each page keeps what it showed, and whether its
close() was called, in window.desktopAlertsShown.
"""

import time

from chat import services
from chat.models import Message

from .factories import add_member
from .test_browser import TIMEOUT_MS, BrowserTestCase

# How soon after the message is sent its alert must be on screen.
ALERT_WITHIN_S = 1.0
# How long after the first alert a second one (a duplicate from the other tab) is awaited.
NO_DUPLICATE_S = 1.0
POLL_S = 0.05

# An init script: it must replace Notification before app.js hands it to DesktopAlerts.
RECORD_ALERTS = """
window.desktopAlertsShown = [];
const NativeNotification = window.Notification;
if (NativeNotification) {
  window.Notification = class extends NativeNotification {
    constructor(title, options = {}) {
      super(title, options);
      this.record = {title, body: options.body ?? null, tag: options.tag ?? null, closed: false};
      window.desktopAlertsShown.push(this.record);
    }
    close() {
      this.record.closed = true;
      super.close();
    }
  };
}
"""

# An init script: counts the calls that would show the browser's permission prompt.
COUNT_PERMISSION_REQUESTS = """
window.permissionRequests = 0;
const requestPermission = Notification.requestPermission.bind(Notification);
Notification.requestPermission = (...args) => {
  window.permissionRequests += 1;
  return requestPermission(...args);
};
"""

SHOWN = "() => window.desktopAlertsShown"

# True once this page's DesktopAlerts has asked for the alerting tab's Web Lock (held or
# waiting): from then on, a message reaches a tab that decides about it.
ASKED_FOR_LOCK = """async () => {
  const {held, pending} = await navigator.locks.query();
  return [...held, ...pending].filter((lock) => lock.name === "chat-desktop-alerts").length;
}"""

# Move the read marker through the HTTP API, as a page of this tab would.
READ_ROOM = """async ([slug, rev]) => {
  const token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const response = await fetch(`/api/rooms/${slug}/read/`, {
    method: "POST",
    headers: {"Content-Type": "application/json", "X-CSRFToken": token},
    body: JSON.stringify({rev}),
    credentials: "same-origin",
  });
  return response.status;
}"""


class DesktopAlertsInBrowserTests(BrowserTestCase):
    """Alice writes in the Lobby; bob has two tabs open on another room of his."""

    def setUp(self):
        super().setUp()
        add_member(self.room, self.bob)
        self.elsewhere = services.room_create(name="Elsewhere", created_by=self.bob)

    def bob_browser(self, *, granted=True, init_script=RECORD_ALERTS):
        """A browser context of bob's, with or without the notifications permission."""
        context = self.browser.new_context()
        self.addCleanup(context.close)
        if granted:
            context.grant_permissions(["notifications"], origin=self.live_server_url)
        context.add_init_script(init_script)
        return context

    def open_tabs_as_bob(self, context, count):
        """Log bob in once, then have `count` tabs of the context on his other room."""
        room_path = self.elsewhere.get_absolute_url()
        pages = []
        for number in range(count):
            page = self.watched_page(context, f"bob tab {number + 1}")
            if number == 0:
                self.log_in(page, self.bob, room_path)
            else:
                page.goto(f"{self.live_server_url}{room_path}")
            self.wait_until_live(page)
            page.wait_for_function(ASKED_FOR_LOCK)
            pages.append(page)
        return pages

    def alerts_by_page(self, pages) -> list[list[dict]]:
        return [page.evaluate(SHOWN) for page in pages]

    def test_one_alert_across_two_tabs_closed_when_read_on_the_other(self):
        tabs = self.open_tabs_as_bob(self.bob_browser(), 2)
        alice = self.open_room_as(self.alice)
        # Granted, so the top bar offers nothing.
        for tab in tabs:
            self.assertFalse(tab.locator('[data-js="desktop-alerts"]').is_visible())

        composer = alice.locator("#composer-input")
        composer.press_sequentially("@bob are you there?")
        sent_at = time.monotonic()
        composer.press("Enter")
        while sum(map(len, self.alerts_by_page(tabs))) == 0:
            self.assertLess(time.monotonic() - sent_at, ALERT_WITHIN_S, "no alert in time")
            time.sleep(POLL_S)
        time.sleep(NO_DUPLICATE_S)

        shown = self.alerts_by_page(tabs)
        self.assertEqual(sum(map(len, shown)), 1, shown)
        alerting = 0 if shown[0] else 1
        other = 1 - alerting
        message = Message.objects.get(room=self.room, body="@bob are you there?")
        self.assertEqual(
            shown[alerting][0],
            {
                "title": "alice in #Lobby",
                "body": "@bob are you there?",
                "tag": str(message.pk),
                "closed": False,
            },
        )

        # Bob reads the Lobby from the tab that did not alert: the alert closes.
        status = tabs[other].evaluate(READ_ROOM, [self.room.slug, message.created_rev])
        self.assertEqual(status, 200)
        tabs[alerting].wait_for_function(
            "() => window.desktopAlertsShown[0].closed", timeout=TIMEOUT_MS
        )
        self.assertEqual(self.problems, [])

    def test_permission_is_asked_only_from_the_button(self):
        context = self.bob_browser(granted=False, init_script=COUNT_PERMISSION_REQUESTS)
        (page,) = self.open_tabs_as_bob(context, 1)
        button = page.locator('[data-js="desktop-alerts-enable"]')
        button.wait_for()
        self.assertEqual(button.text_content().strip(), "Enable desktop notifications")
        self.assertEqual(page.evaluate("window.permissionRequests"), 0)

        button.click()

        page.wait_for_function("window.permissionRequests === 1")
