"""Direct messages in real browsers: alice writes to bob from the member list of a room
they share; bob, on another room's page, sees the conversation appear under "Direct
messages" with its badge and his bell within a second, opens it and answers."""

import re
import time

from chat import services
from chat.models import Membership, Room

from .test_browser import BrowserTestCase

# The product's promise: what happens elsewhere shows within a second.
WITHIN_MS = 1000


class DirectMessagesInBrowserTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        Membership.objects.get_or_create(room=self.room, user=self.bob)
        self.garden = services.room_create(name="Garden", created_by=self.bob)

    def test_alice_messages_bob_from_the_member_list_and_he_answers(self):
        lobby = self.room
        self.room = self.garden
        bob = self.open_room_as(self.bob)  # bob looks at the Garden
        self.room = lobby
        alice = self.open_room_as(self.alice)

        bob_item = alice.locator('[data-js="member-list"] li.member[data-username="bob"]')
        bob_item.locator("summary").click()
        bob_item.get_by_role("button", name="Message", exact=True).click()
        alice.wait_for_url(re.compile(r"/rooms/dm-[0-9a-f]+/$"))
        self.wait_until_live(alice)
        conversation = Room.objects.get(kind=Room.Kind.DIRECT)
        self.assertEqual(alice.locator('[data-js="room-name"]').text_content(), "bob")
        self.assertEqual(alice.title(), "bob")  # as "#Lobby" for a room

        self.type_and_send(alice, "hi bob, a word in private")
        started = time.monotonic()
        entry = bob.locator(f'.sidebar-direct [data-unread-slug="{conversation.slug}"]')
        entry.locator(".badge-unread").wait_for(timeout=WITHIN_MS)
        self.assertEqual(entry.locator(".sidebar-room-name").text_content(), "alice")
        self.assertEqual(entry.locator(".badge-unread").text_content(), "1")
        bob.locator('[data-js="bell-count"]:not([hidden])').wait_for(timeout=WITHIN_MS)
        self.assertEqual(bob.locator('[data-js="bell-count"]').text_content(), "1")
        self.assertLess(time.monotonic() - started, WITHIN_MS / 1000 + 0.5)
        # Not a room: the room list of the sidebar does not show it.
        self.assertEqual(
            bob.locator(f'.sidebar-rooms [data-unread-slug="{conversation.slug}"]').count(), 0
        )

        entry.click()
        bob.wait_for_url(f"**{conversation.get_absolute_url()}")
        self.wait_until_live(bob)
        self.shown_message(bob, "hi bob, a word in private").wait_for()
        self.assertEqual(bob.locator('[data-js="room-name"]').text_content(), "alice")
        self.type_and_send(bob, "hi alice")
        self.shown_message(alice, "hi alice").wait_for(timeout=WITHIN_MS * 3)
        # Reading it cleared bob's notification.
        bob.locator('[data-js="bell-count"]').wait_for(state="hidden", timeout=WITHIN_MS * 3)
        self.assertEqual(self.problems, [])
