"""Invitations in real browsers: alice invites bob into a private room from its page;
bob, on another page (the room list), gets the notification in the bell within a
second, accepts it, lands in the room and chats with alice.

The live server is another process: everything that must reach open sockets goes
through the pages (or the live server's API), never the ORM of this process.
"""

import time

from django.urls import reverse

from chat import services
from chat.models import Invitation, Membership

from .test_browser import BrowserTestCase

# The product's promise: what happens elsewhere shows within a second.
WITHIN_MS = 1000


class InvitationInBrowserTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        self.room = services.room_create(name="Hideout", created_by=self.alice, is_private=True)

    def open_page_as(self, user, path):
        """Sign in in a fresh context and open `path`; wait for the bell's hello."""
        page = self.page_as(user, path)
        page.locator('[data-js="bell-button"][aria-label^="Notifications, "]').wait_for()
        return page

    def test_alice_invites_bob_who_accepts_from_the_bell_and_chats(self):
        bob = self.open_page_as(self.bob, reverse("chat:room_list"))
        alice = self.open_room_as(self.alice)

        # Alice, the owner, invites bob from the room page, his name suggested as she types.
        alice.locator('[data-js="invite-open"]').click()
        dialog = alice.locator('[data-js="invite-dialog"]')
        dialog.wait_for()
        dialog.locator('[data-js="invite-username"]').press_sequentially("bo")
        alice.locator('#invite-suggestions option[value="bob"]').wait_for(state="attached")
        dialog.locator('[data-js="invite-username"]').press_sequentially("b")
        dialog.locator('[data-js="invite-form"] button[type=submit]').click()
        sent_at = time.monotonic()
        pending = dialog.locator('[data-js="invite-pending"] li')
        pending.first.wait_for()
        self.assertIn("@bob", pending.first.text_content())

        # Bob's bell rings on the room list within a second; he accepts from it.
        count = bob.locator('[data-js="bell-count"]:not([hidden])')
        count.wait_for(timeout=WITHIN_MS + 500)
        self.assertLess(time.monotonic() - sent_at, WITHIN_MS / 1000 + 0.5)
        self.assertEqual(count.text_content(), "1")
        bob.locator('[data-js="bell-button"]').click()
        item = bob.locator('.bell-item[data-kind="invitation"]')
        self.assertIn("@alice invited you to #Hideout", item.text_content())
        item.locator('button[data-invitation-action="accept"]').click()

        # He lands in the room, live; alice sees him among the members at once.
        bob.wait_for_url(f"{self.live_server_url}{self.room.get_absolute_url()}")
        self.wait_until_live(bob)
        alice.locator('[data-js="member-list"] li.member[data-username="bob"]').wait_for(
            timeout=WITHIN_MS * 2
        )
        self.type_and_send(bob, "Thanks for the invite!")
        self.shown_message(alice, "Thanks for the invite!").wait_for(timeout=WITHIN_MS * 2)
        alice.locator('[data-js="invite-close"]').click()
        dialog.wait_for(state="hidden")
        self.type_and_send(alice, "Welcome, bob")
        self.shown_message(bob, "Welcome, bob").wait_for(timeout=WITHIN_MS * 2)

        invitation = Invitation.objects.get(room=self.room, invitee=self.bob)
        self.assertEqual(invitation.status, Invitation.Status.ACCEPTED)
        self.assertTrue(Membership.objects.filter(room=self.room, user=self.bob).exists())
        self.assertEqual(self.problems, [])

    def test_the_invite_button_is_hidden_from_a_plain_member_of_a_private_room(self):
        Membership.objects.create(room=self.room, user=self.bob)
        alice = self.open_room_as(self.alice)
        alice.locator('[data-js="invite-open"]:not([hidden])').wait_for()
        bob = self.open_room_as(self.bob)
        # Once his page knows his access (the members are listed), still no button.
        bob.locator('[data-js="member-list"] li.member[data-username="alice"]').wait_for()
        self.assertTrue(bob.locator('[data-js="invite-open"]').is_hidden())
        self.assertEqual(self.problems, [])
