"""Time in the timeline, in a real browser: day separators and times in the viewer's zone.

The browser runs in Los Angeles (a context's `timezone_id`), the server in UTC: a message
written at 23:50 in Los Angeles is on the next day in UTC, so its separator proves whose
days the page uses. And on a phone, a tap on a message reaches its actions, 44px targets.
"""

import datetime as dt
import re
from zoneinfo import ZoneInfo

from chat import services
from chat.models import Membership, Message

from .factories import make_message
from .test_browser import BrowserTestCase

VIEWER_ZONE = "America/Los_Angeles"
LA = ZoneInfo(VIEWER_ZONE)
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
TOUCH_TARGET_PX = 44

# The timeline as a reader sees it, top to bottom: "[label]" for a day separator, the
# body for a message.
SHOWN_ITEMS = """(list) => [...list.children].map((li) => li.dataset.id
  ? li.querySelector(".message-body").textContent
  : `[${li.textContent}]`)"""

# Send a message through the HTTP API, from a signed-in page.
SEND_BY_API = """async (body) => {
  const url = document.getElementById("room").dataset.apiUrl;
  const token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const response = await fetch(url, {
    method: "POST",
    headers: {"Content-Type": "application/json", "X-CSRFToken": token},
    body: JSON.stringify({body}),
    credentials: "same-origin",
  });
  return response.status;
}"""


def day_label(day: dt.date, today: dt.date) -> str:
    """What the separator of `day` says on `today` (day_labels.js's dayLabel)."""
    if day == today:
        return "Today"
    if day == today - dt.timedelta(days=1):
        return "Yesterday"
    label = f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]}"
    return label if day.year == today.year else f"{label} {day.year}"


def in_la(day: dt.date, hour: int, minute: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LA)


class TimeInBrowserTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        Membership.objects.get_or_create(room=self.room, user=self.bob)
        self.today = dt.datetime.now(LA).date()

    def days_ago(self, days: int) -> dt.date:
        return self.today - dt.timedelta(days=days)

    def message_at(self, author, body: str, when: dt.datetime) -> Message:
        """Store a message written at `when` (an aware time)."""
        message = make_message(self.room, author, body)
        Message.objects.filter(pk=message.pk).update(created_at=when)
        return message

    def open_in_la(self, user, **options):
        """Open the room as `user`, in a browser set to Los Angeles and British English."""
        context = self.new_context(timezone_id=VIEWER_ZONE, locale="en-GB", **options)
        page = self.watched_page(context, user.username)
        self.log_in(page, user, self.room.get_absolute_url())
        self.wait_until_live(page)
        return page

    def shown_items(self, page) -> list[str]:
        return page.locator('[data-js="messages"]').evaluate(SHOWN_ITEMS)

    def item(self, page, body: str):
        exactly = re.compile(rf"^{re.escape(body)}$")
        body_locator = page.locator(".message-body").filter(has_text=exactly)
        return page.locator('[data-js="messages"] li[data-id]').filter(has=body_locator)

    def send_by_api(self, page, body: str) -> None:
        self.assertEqual(page.evaluate(SEND_BY_API, body), 201)

    def shown_time(self, message: Message) -> str:
        """The time of a stored message as the page must show it: HH:MM in Los Angeles."""
        message.refresh_from_db()
        return message.created_at.astimezone(LA).strftime("%H:%M")

    def test_days_and_times_are_the_viewers(self):
        late = self.message_at(self.alice, "late night", in_la(self.days_ago(3), 23, 58))
        # Three minutes later, but after midnight in Los Angeles: a new day and a new group.
        # In UTC both are on the same morning (07:58 and 08:01), one group, no separator.
        self.message_at(self.alice, "after midnight", in_la(self.days_ago(2), 0, 1))
        # The first message of yesterday, deleted: it keeps its place and its day.
        gone = self.message_at(self.bob, "soon gone", in_la(self.days_ago(1), 8, 0))
        services.message_delete(room=self.room, user=self.bob, message_id=gone.pk)
        self.message_at(self.bob, "last evening", in_la(self.days_ago(1), 23, 50))
        self.message_at(self.bob, "one more thing", in_la(self.days_ago(1), 23, 52))
        bob = self.open_in_la(self.bob)
        self.send_by_api(bob, "fresh news")  # now

        alice = self.open_in_la(self.alice)

        self.assertEqual(
            self.shown_items(alice),
            [
                f"[{day_label(self.days_ago(3), self.today)}]",
                "late night",
                f"[{day_label(self.days_ago(2), self.today)}]",
                "after midnight",
                "[Yesterday]",
                "message deleted",
                "last evening",
                "one more thing",
                "[Today]",
                "fresh news",
            ],
        )
        # Times in Los Angeles, though the server rendered the page in UTC.
        times = {
            body: self.item(alice, body).locator(".message-time")
            for body in ("late night", "after midnight", "last evening", "one more thing")
        }
        self.assertEqual(times["late night"].text_content(), "23:58")
        self.assertEqual(times["after midnight"].text_content(), "00:01")
        self.assertEqual(times["last evening"].text_content(), "23:50")
        self.assertEqual(times["one more thing"].text_content(), "23:52")
        fresh = Message.objects.get(body="fresh news")
        self.assertEqual(
            self.item(alice, "fresh news").locator(".message-time").text_content(),
            self.shown_time(fresh),
        )
        # The tooltip: the full local date and time; datetime: the moment itself.
        day = self.days_ago(3)
        title = times["late night"].get_attribute("title")
        self.assertIn(WEEKDAYS[day.weekday()], title)
        self.assertIn(f"{day.day} {MONTHS[day.month - 1]} {day.year}", title)
        self.assertIn("23:58", title)
        late.refresh_from_db()
        moment = times["late night"].evaluate("(time) => Date.parse(time.dateTime)")
        self.assertEqual(moment, int(late.created_at.timestamp() * 1000))

        # A group never spans midnight; within a day it does, its time shown on demand.
        self.assertNotIn(
            "is-continuation", self.item(alice, "after midnight").get_attribute("class")
        )
        follow_up = self.item(alice, "one more thing")
        self.assertIn("is-continuation", follow_up.get_attribute("class"))
        opacity = "(time) => getComputedStyle(time).opacity"
        self.assertEqual(times["last evening"].evaluate(opacity), "1")
        self.assertEqual(times["one more thing"].evaluate(opacity), "0")
        follow_up.hover()
        self.assertEqual(times["one more thing"].evaluate(opacity), "1")
        alice.mouse.move(0, 0)
        self.assertEqual(times["one more thing"].evaluate(opacity), "0")
        # Reached by the keyboard: the hidden time is a tab stop, shown when focused.
        self.assertEqual(times["one more thing"].get_attribute("tabindex"), "0")
        self.assertIsNone(times["last evening"].get_attribute("tabindex"))
        times["one more thing"].focus()
        self.assertEqual(times["one more thing"].evaluate(opacity), "1")

        # A live message lands under Today with its time in Los Angeles.
        self.send_by_api(bob, "live one")
        self.shown_message(alice, "live one").wait_for()
        self.assertEqual(self.shown_items(alice)[-3:], ["[Today]", "fresh news", "live one"])
        live = Message.objects.get(body="live one")
        self.assertEqual(
            self.item(alice, "live one").locator(".message-time").text_content(),
            self.shown_time(live),
        )
        self.assertEqual(self.problems, [])

    def test_an_earlier_page_and_a_live_message_get_their_own_days(self):
        older = self.days_ago(4)
        for minute in range(3):
            self.message_at(self.alice, f"old {minute}", in_la(older, 10, minute))
        yesterday = self.days_ago(1)
        for minute in range(50):  # the first page, all of it yesterday
            self.message_at(self.bob, f"recent {minute:02d}", in_la(yesterday, 9, minute))

        alice = self.open_in_la(self.alice)
        separators = alice.locator('[data-js="messages"] .day-separator')
        self.assertEqual(separators.all_text_contents(), ["Yesterday"])

        alice.locator('[data-js="timeline"]').evaluate("(timeline) => { timeline.scrollTop = 0; }")
        self.shown_message(alice, "old 0").wait_for()
        items = self.shown_items(alice)
        self.assertEqual(
            items[:5],
            [f"[{day_label(older, self.today)}]", "old 0", "old 1", "old 2", "[Yesterday]"],
        )
        self.assertEqual(len(items), 3 + 50 + 2)

        # No message of today on the page yet: a live one begins Today.
        bob = self.open_in_la(self.bob)
        self.send_by_api(bob, "hello today")
        self.shown_message(alice, "hello today").wait_for()
        self.assertEqual(self.shown_items(alice)[-3:], ["recent 49", "[Today]", "hello today"])
        self.assertEqual(
            separators.all_text_contents(), [day_label(older, self.today), "Yesterday", "Today"]
        )
        self.assertEqual(self.problems, [])

    def test_a_tap_reaches_the_actions_of_my_message_with_44px_targets(self):
        self.message_at(self.bob, "from bob", in_la(self.today, 0, 0))
        message = make_message(self.room, self.alice, "mine to edit")
        phone = {
            "viewport": {"width": 390, "height": 844},
            "device_scale_factor": 3,
            "is_mobile": True,
            "has_touch": True,
        }
        alice = self.open_in_la(self.alice, **phone)
        mine = alice.locator(f'[data-js="messages"] li[data-id="{message.pk}"]')
        edit = mine.locator('button[data-action="edit"]')
        self.assertFalse(edit.is_visible())  # no hover on a phone: hidden until asked for

        mine.locator(".message-body").tap()

        edit.wait_for(state="visible")
        for action in ("edit", "delete"):
            box = mine.locator(f'button[data-action="{action}"]').bounding_box()
            self.assertGreaterEqual(box["width"], TOUCH_TARGET_PX, action)
            self.assertGreaterEqual(box["height"], TOUCH_TARGET_PX, action)
        # One message's actions at a time; a second tap puts them away.
        self.item(alice, "from bob").locator(".message-body").tap()
        edit.wait_for(state="hidden")
        mine.locator(".message-body").tap()
        edit.tap()
        editor = mine.locator(".message-editor-input")
        editor.wait_for()
        self.assertEqual(editor.input_value(), "mine to edit")
        save = mine.locator(".message-editor button[type=submit]")
        self.assertGreaterEqual(save.bounding_box()["height"], TOUCH_TARGET_PX)
        self.assertEqual(self.problems, [])
