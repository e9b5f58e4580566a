"""A room's pending invitations, live, in real browsers: alice keeps the invite dialog
open while bob accepts on his inbox page (JavaScript), carol declines on hers without
JavaScript (the page's form), and dave, a moderator, invites erin from his room page;
alice's list follows each without a reload.

The live server is another process: everything that must reach open sockets goes
through the pages, never the ORM of this process.
"""

from django.contrib.auth import get_user_model
from django.urls import reverse

from chat import services
from chat.models import Invitation, Membership

from .test_browser import PASSWORD, BrowserTestCase

Status = Invitation.Status


class PendingInvitationsInBrowserTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        users = get_user_model().objects
        self.carol = users.create_user(username="carol", password=PASSWORD)
        self.dave = users.create_user(username="dave", password=PASSWORD)
        self.erin = users.create_user(username="erin", password=PASSWORD)
        self.room = services.room_create(name="Hideout", created_by=self.alice, is_private=True)
        Membership.objects.create(room=self.room, user=self.dave, role=Membership.Role.MODERATOR)
        for username in ("bob", "carol"):
            services.invitation_create(
                room=self.room, inviter=self.alice, invitee_username=username
            )

    def open_invite_dialog(self, page):
        self.wait_until_live(page)
        page.locator('[data-js="invite-open"]:not([hidden])').click()
        dialog = page.locator('[data-js="invite-dialog"]')
        dialog.wait_for()
        return dialog

    def pending_item(self, dialog, username):
        return dialog.locator('[data-js="invite-pending"] li').filter(has_text=f"@{username}")

    def invitation_item(self, inbox, invitee):
        invitation = Invitation.objects.get(room=self.room, invitee=invitee)
        return inbox.locator(
            f'.inbox-item[data-kind="invitation"]:has(input[value="{invitation.pk}"])'
        )

    def test_alices_list_follows_answers_and_invitations_made_elsewhere(self):
        room_path = self.room.get_absolute_url()
        inbox_path = reverse("notifications:inbox")
        alice = self.page_as(self.alice, room_path)
        dialog = self.open_invite_dialog(alice)
        for username in ("bob", "carol"):
            self.pending_item(dialog, username).wait_for()
        alice.evaluate("window.__notReloaded = true")

        # Bob accepts on his inbox page, through the API: he lands in the room.
        bob = self.page_as(self.bob, inbox_path)
        bob.locator('[data-js="bell-button"][aria-label^="Notifications, "]').wait_for()
        self.invitation_item(bob, self.bob).locator('button[value="accept"]').click()
        bob.wait_for_url(f"{self.live_server_url}{room_path}")
        self.pending_item(dialog, "bob").wait_for(state="detached")

        # Carol declines without JavaScript: the form posts, and the page says so.
        carol = self.page_as(self.carol, inbox_path, javascript=False)
        self.invitation_item(carol, self.carol).locator('button[value="decline"]').click()
        carol.wait_for_url(f"{self.live_server_url}{inbox_path}")
        self.assertIn(
            "You declined the invitation to #Hideout.",
            carol.locator(".flash-list").text_content(),
        )
        self.pending_item(dialog, "carol").wait_for(state="detached")
        self.assertEqual(dialog.locator('[data-js="invite-pending"] li').count(), 0)

        # Dave, a moderator, invites erin from his own page: she shows in alice's list.
        dave = self.page_as(self.dave, room_path)
        dave_dialog = self.open_invite_dialog(dave)
        dave_dialog.locator('[data-js="invite-username"]').fill("erin")
        dave_dialog.locator('[data-js="invite-form"] button[type=submit]').click()
        self.pending_item(dialog, "erin").wait_for()
        self.assertIn("invited by @dave", self.pending_item(dialog, "erin").text_content())

        self.assertTrue(alice.evaluate("window.__notReloaded === true"))
        statuses = dict(
            Invitation.objects.filter(room=self.room).values_list("invitee__username", "status")
        )
        self.assertEqual(
            statuses, {"bob": Status.ACCEPTED, "carol": Status.DECLINED, "erin": Status.PENDING}
        )
        self.assertEqual(self.problems, [])
