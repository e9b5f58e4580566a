"""Moderation and access on the room page, in Chromium: the member list's actions, the
admin's, and what the person affected sees (docs/protocol.md: room.closed, member.updated,
rooms.updated).

The live server is another process with its own in-memory channel layer: every change
that must reach open sockets is made through a page of the live server (the members
panel, the admin), never through the ORM of this process.
"""

import re
import time

from django.contrib.auth import get_user_model
from django.urls import reverse

from chat import services
from chat.models import Membership, Room

from .factories import add_member, make_messages
from .test_browser import PASSWORD, TIMEOUT_MS, BrowserTestCase

# How soon the person affected must see it, from the server's answer to the action.
CUT_OFF_MS = 1_000
# How long a page must then stay without opening a new socket.
NO_RECONNECT_S = 3.0

# The visible elements whose whole text is the name but that are too narrow to show it.
CLIPPED_NAMES = """(name) => [...document.querySelectorAll("main *")]
  .filter((el) => el.children.length === 0 && el.textContent === name && el.offsetParent)
  .filter((el) => el.scrollWidth > el.clientWidth)
  .map((el) => el.className || el.tagName)"""

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}

# Drops the page's message.send frames before they leave, so that a message stays
# unacknowledged in the outbox ("sending…") however fast the server would have been.
DROP_SENDS = """() => {
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (typeof data === "string" && data.includes('"message.send"')) return;
    return send.call(this, data);
  };
}"""

# Keeps every frame the page's sockets receive in window.framesIn (an init script: it
# must replace WebSocket before room.js takes it).
RECORD_FRAMES_IN = """
window.framesIn = [];
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", (event) => window.framesIn.push(JSON.parse(event.data)));
  }
};
"""

# Deletes a message through a socket of its own, as a moderator's page would.
DELETE_OVER_A_SOCKET = """([path, id]) => new Promise((resolve, reject) => {
  const ws = new WebSocket(`ws://${location.host}${path}`);
  ws.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    if (frame.type === "hello") ws.send(JSON.stringify({type: "message.delete", id}));
    if (frame.type === "message.deleted") { ws.close(); resolve(); }
    if (frame.type === "error") { ws.close(); reject(new Error(event.data)); }
  };
})"""


class ModerationBrowserTestCase(BrowserTestCase):
    """Alice owns the room; bob is a member; root is staff (and may use the admin)."""

    def setUp(self):
        super().setUp()
        self.root = get_user_model().objects.create_user(
            username="root", password=PASSWORD, is_staff=True, is_superuser=True
        )
        # Reading a public room does not make a member; posting would. Rows, not services:
        # nothing is open yet to be told.
        self.bob_membership = add_member(self.room, self.bob)

    # --- helpers ------------------------------------------------------------------------

    def count_new_sockets(self, page) -> list:
        """Return a list that grows with every WebSocket the page opens from now on."""
        opened = []
        page.on("websocket", lambda ws: opened.append(ws.url))
        return opened

    def member_item(self, page, username):
        return page.locator(f'[data-js="member-list"] li.member[data-username="{username}"]')

    def open_member_menu(self, page, username):
        item = self.member_item(page, username)
        item.locator("summary").click()
        return item

    def admin_page(self):
        """Log root in to the admin in a context of its own (its pages are not checked)."""
        context = self.browser.new_context()
        self.addCleanup(context.close)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{self.live_server_url}{reverse('admin:login')}?next=/admin/")
        page.fill("#id_username", "root")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{self.live_server_url}/admin/")
        return page

    def post_answered(self, page, path_part):
        """Wait for the page's POST to a URL containing `path_part` (used as a context)."""
        return page.expect_response(
            lambda r: r.request.method == "POST" and path_part in r.url, timeout=TIMEOUT_MS
        )

    def assert_cut_off(self, page, reason, opened, detail_pattern):
        """The page says why, within CUT_OFF_MS, then stays closed without reconnecting."""
        page.locator(f'#room[data-closed="{reason}"]').wait_for(timeout=CUT_OFF_MS)
        notice = page.locator('[data-js="notice-text"]')
        self.assertRegex(notice.text_content(), detail_pattern)
        self.assertTrue(page.locator('[data-js="notice"]').is_visible())
        self.assertEqual(
            page.locator('[data-js="conn-state"]').get_attribute("data-state"), "closed"
        )
        composer = page.locator("#composer-input")
        self.assertTrue(composer.is_disabled())
        self.assertRegex(composer.get_attribute("placeholder"), detail_pattern)
        self.assertTrue(page.locator('[data-js="send"]').is_disabled())
        time.sleep(NO_RECONNECT_S)
        self.assertEqual(opened, [], "the page opened a new socket after being cut off")
        # Still saying so: nothing replaced the notice.
        self.assertRegex(notice.text_content(), detail_pattern)

    def send_unacknowledged(self, page, text):
        """Type and send a message whose frame never leaves: it waits in the outbox."""
        page.evaluate(DROP_SENDS)
        self.type_and_send(page, text)
        entry = page.locator('[data-js="outbox"] li', has_text=text)
        self.assertEqual(entry.locator(".message-status").text_content(), "sending…")
        return entry

    def assert_failed_for_good(self, entry, why):
        self.assertRegex(entry.get_attribute("class"), r"\bis-failed\b")
        self.assertEqual(entry.locator(".message-status").text_content(), f"Not sent: {why}")


class MemberListActionsTests(ModerationBrowserTestCase):
    """The owner acts from the member list; bob's open page follows at once."""

    def ban_or_remove(self, action, *, menu_item, confirm, reason_text, outbox_text):
        bob = self.open_room_as(self.bob)
        alice = self.open_room_as(self.alice)
        opened = self.count_new_sockets(bob)
        pending = self.send_unacknowledged(bob, "sent before the axe fell")

        item = self.open_member_menu(alice, "bob")
        item.get_by_role("button", name=menu_item, exact=True).click()
        item.get_by_label("Reason (optional)").fill("flooding")
        with self.post_answered(alice, f"/bob/{action}/") as answer:
            item.get_by_role("button", name=confirm, exact=True).click()
        self.assertEqual(answer.value.status, 200)

        self.assert_cut_off(bob, reason_text, opened, rf"^You were {reason_text} from Lobby")
        self.assert_failed_for_good(pending, outbox_text)
        # Gone from the owner's list, live.
        self.member_item(alice, "bob").wait_for(state="detached")
        self.assertEqual(self.problems, [])
        return alice

    def test_ban_from_the_member_list_cuts_bob_off(self):
        alice = self.ban_or_remove(
            "ban",
            menu_item="Ban",
            confirm="Ban bob",
            reason_text="banned",
            outbox_text="you were banned",
        )
        self.assertTrue(Membership.objects.get(room=self.room, user=self.bob).banned)
        # The owner sees him among the banned, with a way back.
        banned = alice.locator('[data-js="banned-list"] li[data-username="bob"]')
        banned.wait_for()
        self.assertTrue(banned.get_by_role("button", name="Unban bob").is_visible())

    def test_remove_from_the_member_list_cuts_bob_off(self):
        self.ban_or_remove(
            "remove",
            menu_item="Remove from room",
            confirm="Remove bob",
            reason_text="removed",
            outbox_text="you were removed",
        )
        self.assertFalse(Membership.objects.filter(room=self.room, user=self.bob).exists())

    def test_mute_and_unmute_reach_bob_live(self):
        bob = self.open_room_as(self.bob)
        alice = self.open_room_as(self.alice)
        composer = bob.locator("#composer-input")
        self.assertTrue(composer.is_enabled())

        item = self.open_member_menu(alice, "bob")
        with self.post_answered(alice, "/bob/mute/"):
            item.get_by_role("button", name="Mute 10 minutes").click()
        bob.locator('[data-js="composer"][data-blocked="muted"]').wait_for(timeout=CUT_OFF_MS)
        self.assertTrue(composer.is_disabled())
        # The day is named when the mute ends on another day (a test run near midnight).
        self.assertRegex(
            composer.get_attribute("placeholder"),
            r"^You are muted until (\w{3}, \w{3} \d{1,2}, )?\d\d:\d\d\.$",
        )
        # Everyone's list shows it.
        self.member_item(alice, "bob").locator(".member-muted").wait_for()
        self.member_item(bob, "bob").locator(".member-muted").wait_for()

        item = self.open_member_menu(alice, "bob")
        with self.post_answered(alice, "/bob/unmute/"):
            item.get_by_role("button", name="Unmute").click()
        bob.locator('[data-js="composer"][data-blocked=""]').wait_for(timeout=CUT_OFF_MS)
        self.assertTrue(composer.is_enabled())
        self.assertEqual(composer.get_attribute("placeholder"), "Message #Lobby")
        self.type_and_send(bob, "free to speak")
        self.shown_message(alice, "free to speak").wait_for()
        self.assertEqual(self.problems, [])

    def test_the_menu_offers_only_what_the_server_allows(self):
        carol = get_user_model().objects.create_user(username="carol", password=PASSWORD)
        add_member(self.room, carol)
        self.bob_membership.role = Membership.Role.MODERATOR
        self.bob_membership.save()
        self.open_room_as(carol)
        bob = self.open_room_as(self.bob)
        alice = self.open_room_as(self.alice)
        # A moderator acts on members only: carol, not alice (owner), not himself; anyone
        # but himself he may only message directly.
        self.member_item(bob, "carol").locator("summary").wait_for()
        alice_menu = (
            self.open_member_menu(bob, "alice").locator(".member-menu button").all_text_contents()
        )
        self.assertEqual(alice_menu, ["Message"])
        self.assertEqual(self.member_item(bob, "bob").locator("summary").count(), 0)
        moderator_menu = (
            self.open_member_menu(bob, "carol").locator(".member-menu button").all_text_contents()
        )
        self.assertNotIn("Make moderator", moderator_menu)
        # The owner may change roles.
        owner_menu = (
            self.open_member_menu(alice, "carol").locator(".member-menu button").all_text_contents()
        )
        self.assertIn("Make moderator", owner_menu)
        self.assertIn(
            "Moderator", self.member_item(alice, "bob").locator(".role-badge").text_content()
        )
        self.assertEqual(self.problems, [])


# Staff act in the Django admin; bob's open page follows within a second. One test per
# class, so one live server each: the admin's log entries name content types by id, the
# server process caches those ids, and the flush between two tests of a class renumbers
# them (the second admin save then fails on a foreign key).


class AdminDeletesTheRoomTests(ModerationBrowserTestCase):
    def test_room_deleted_in_the_admin(self):
        bob = self.open_room_as(self.bob)
        opened = self.count_new_sockets(bob)
        admin = self.admin_page()
        admin.goto(f"{self.live_server_url}/admin/chat/room/{self.room.pk}/delete/")
        with self.post_answered(admin, f"/admin/chat/room/{self.room.pk}/delete/"):
            admin.locator("input[type=submit]").click()

        self.assert_cut_off(bob, "deleted", opened, r"Lobby was deleted")
        self.assertFalse(Room.objects.filter(pk=self.room.pk).exists())
        self.assertEqual(self.problems, [])


class AdminBansTests(ModerationBrowserTestCase):
    def test_ban_ticked_in_the_admin(self):
        bob = self.open_room_as(self.bob)
        opened = self.count_new_sockets(bob)
        admin = self.admin_page()
        path = f"/admin/chat/membership/{self.bob_membership.pk}/change/"
        admin.goto(f"{self.live_server_url}{path}")
        admin.check("#id_banned")
        with self.post_answered(admin, path):
            admin.click("input[name=_save]")

        self.assert_cut_off(bob, "banned", opened, r"^You were banned from Lobby")
        self.assertEqual(self.problems, [])


class AdminRemovesTests(ModerationBrowserTestCase):
    def test_membership_deleted_in_the_admin(self):
        bob = self.open_room_as(self.bob)
        opened = self.count_new_sockets(bob)
        admin = self.admin_page()
        path = f"/admin/chat/membership/{self.bob_membership.pk}/delete/"
        admin.goto(f"{self.live_server_url}{path}")
        with self.post_answered(admin, path):
            admin.locator("input[type=submit]").click()

        self.assert_cut_off(bob, "removed", opened, r"^You were removed from Lobby")
        self.assertFalse(Membership.objects.filter(pk=self.bob_membership.pk).exists())
        self.assertEqual(self.problems, [])


class AdminMakesTheRoomPrivateTests(ModerationBrowserTestCase):
    def test_a_reader_is_cut_off_and_a_member_stays(self):
        carol = get_user_model().objects.create_user(username="carol", password=PASSWORD)
        reader = self.open_room_as(carol)  # reads the public room without being a member
        opened = self.count_new_sockets(reader)
        bob = self.open_room_as(self.bob)
        admin = self.admin_page()
        path = f"/admin/chat/room/{self.room.pk}/change/"
        admin.goto(f"{self.live_server_url}{path}")
        admin.check("#id_is_private")
        with self.post_answered(admin, path):
            admin.click("input[name=_save]")

        self.assert_cut_off(reader, "private", opened, r"^Lobby is now private")
        self.wait_until_live(bob)
        self.assertTrue(bob.locator("#composer-input").is_enabled())
        self.assertEqual(self.problems, [])


class AdminRenamesTests(ModerationBrowserTestCase):
    def test_sidebar_follows_a_rename(self):
        other = services.room_create(name="Garden", created_by=self.alice)
        bob = self.open_room_as(self.bob)
        entry = bob.locator(f'.sidebar-rooms li[data-slug="{other.slug}"] .sidebar-room-name')
        self.assertEqual(entry.text_content(), "Garden")
        admin = self.admin_page()
        path = f"/admin/chat/room/{other.pk}/change/"
        admin.goto(f"{self.live_server_url}{path}")
        admin.fill("#id_name", "Greenhouse")
        with self.post_answered(admin, path):
            admin.click("input[name=_save]")

        bob.locator(
            f'.sidebar-rooms li[data-slug="{other.slug}"] .sidebar-room-name',
            has_text=re.compile("^Greenhouse$"),
        ).wait_for(timeout=CUT_OFF_MS)
        # Still connected to its own room, which did not change.
        self.wait_until_live(bob)
        self.assertEqual(bob.locator('[data-js="room-name"]').text_content(), "Lobby")
        self.assertEqual(self.problems, [])


class FailedMessageAfterAMuteTests(ModerationBrowserTestCase):
    """A message refused while bob was muted waits in his outbox ("Not sent"), across a
    reload; its Edit gives the text back to the composer, and never loses it."""

    FAILED = "a long careful answer, refused while I was muted"

    def open_with_failed_entry(self):
        """Open the room as bob with the refused message in his outbox, as after a reload."""
        bob = self.open_room_as(self.bob)
        # The outbox as the page keeps it in sessionStorage (outbox.js), with the entry
        # that the server's `muted` error failed.
        bob.evaluate(
            """([slug, body]) => sessionStorage.setItem(`rooms.outbox.v1.${slug}`,
                 JSON.stringify([{clientId: "c-refused-1", body, failed: true,
                                  detail: "You are muted in this room."}]))""",
            [self.room.slug, self.FAILED],
        )
        bob.reload()
        self.wait_until_live(bob)
        entry = bob.locator('[data-js="outbox"] li', has_text=self.FAILED)
        self.assert_failed_for_good(entry, "You are muted in this room.")
        return bob, entry

    def test_edit_over_a_draft_keeps_both_texts(self):
        bob, entry = self.open_with_failed_entry()

        composer = bob.locator("#composer-input")
        composer.fill("a new draft")
        entry.get_by_role("button", name="Edit", exact=True).click()

        # Neither text is gone: the draft stays, and so does the refused message.
        self.assertEqual(composer.input_value(), "a new draft")
        self.assertEqual(entry.count(), 1, "the refused message's text was thrown away")
        self.assertTrue(bob.locator('[data-js="notice"]').is_visible())

        # With the composer empty, Edit gives the text back (and the entry goes).
        composer.fill("")
        entry.get_by_role("button", name="Edit", exact=True).click()
        self.assertEqual(composer.input_value(), self.FAILED)
        entry.wait_for(state="detached")
        self.assertEqual(self.problems, [])

    def test_edit_after_a_ban_keeps_the_text_where_it_can_be_read(self):
        bob, entry = self.open_with_failed_entry()
        alice = self.open_room_as(self.alice)
        item = self.open_member_menu(alice, "bob")
        item.get_by_role("button", name="Ban", exact=True).click()
        with self.post_answered(alice, "/bob/ban/"):
            item.get_by_role("button", name="Ban bob", exact=True).click()
        bob.locator('#room[data-closed="banned"]').wait_for(timeout=CUT_OFF_MS)

        entry.get_by_role("button", name="Edit", exact=True).click()
        # Not moved into a composer disabled for good, where it could not be copied.
        self.assertEqual(entry.count(), 1, "the refused message left the outbox")
        self.assertEqual(bob.locator("#composer-input").input_value(), "")
        self.assertEqual(self.problems, [])


class DeletedWhileItsPageLoadsTests(ModerationBrowserTestCase):
    """A message above bob's loaded window is deleted while the earlier page that holds
    it is on its way: the page, read before the deletion, must not bring it back."""

    def test_the_deletion_outranks_the_older_page(self):
        target = make_messages(self.room, self.alice, 60)[3]  # bob's page shows the last 50
        bob = self.open_room_as(self.bob)
        bob.add_init_script(RECORD_FRAMES_IN)
        held = []  # the earlier page's request, answered as the server answered it then
        bob.route(
            re.compile(r"/api/rooms/[^/]+/messages/\?.*before="),
            lambda route: held.append((route, route.fetch())),
        )
        bob.reload()
        self.wait_until_live(bob)
        bob.locator('[data-js="timeline"]').evaluate("(el) => { el.scrollTop = 0; }")
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while not held and time.monotonic() < deadline:
            bob.wait_for_timeout(50)
        self.assertEqual(len(held), 1, "the page did not ask for the earlier messages")

        alice = self.open_room_as(self.alice)
        alice.evaluate(DELETE_OVER_A_SOCKET, [f"/ws/rooms/{self.room.slug}/", target.id])
        bob.wait_for_function(
            """(id) => window.framesIn.some(
                 (frame) => frame.type === "message.deleted" && frame.message.id === id)""",
            arg=target.id,
        )
        route, answer = held[0]
        route.fulfill(response=answer)

        item = bob.locator(f'[data-js="messages"] li[data-id="{target.id}"]')
        item.wait_for()
        self.assertRegex(item.get_attribute("class"), r"\bis-deleted\b")
        self.assertEqual(item.locator(".message-body").text_content(), "message deleted")
        self.assertEqual(self.problems, [])


class LongNameLayoutTests(BrowserTestCase):
    """A long unbroken room name wraps; it never makes the page wider than the screen."""

    def test_an_80_character_name_wraps_on_a_phone_and_a_desktop(self):
        name = "Supercalifragilisticexpialidocious" * 3
        name = name[:80]
        self.assertNotIn(" ", name)
        self.room = services.room_create(name=name, created_by=self.alice)
        page = self.open_room_as(self.alice)
        for size in (PHONE, DESKTOP):
            page.set_viewport_size(size)
            pages = [
                (self.room.get_absolute_url(), '[data-js="room-name"]'),
                (reverse("chat:room_list"), ".room-card-name"),
            ]
            for path, shown_name in pages:
                with self.subTest(width=size["width"], path=path):
                    page.goto(f"{self.live_server_url}{path}")
                    page.locator(shown_name, has_text=name).wait_for()
                    widths = page.evaluate(
                        "[document.documentElement.scrollWidth, window.innerWidth]"
                    )
                    self.assertLessEqual(widths[0], widths[1])
                    self.assertEqual(widths[1], size["width"])
                    # Wrapped, not cut short: every copy shown has room for all of it.
                    clipped = page.evaluate(CLIPPED_NAMES, name)
                    self.assertEqual(clipped, [])
        self.assertEqual(self.problems, [])
