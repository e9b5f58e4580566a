"""Accept and Decline on the inbox page, without JavaScript: real forms posting to
/notifications/invitations/answer/, which answers through the invitation services."""

import re
from datetime import timedelta

from django.core.cache import cache
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone

from chat import services
from chat.models import Invitation, Membership
from chat.tests.factories import add_member, make_room, make_user

INBOX_URL = reverse("notifications:inbox")
ANSWER_URL = reverse("notifications:inbox_invitation_answer")
Status = Invitation.Status


def answer_form(page: str, invitation_id: int) -> str:
    """The invitation form of the item listed for `invitation_id` (not the JS template's)."""
    listed = page.split('data-js="inbox-list"', 1)[1].split("</ol>", 1)[0]
    forms = re.findall(r'<form class="invitation-actions".*?</form>', listed, re.S)
    [form] = [form for form in forms if f'name="invitation" value="{invitation_id}"' in form]
    return form


class InboxInvitationFormTests(TestCase):
    def setUp(self):
        cache.clear()  # the join rate limit's buckets
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.secret = make_room("Secret", is_private=True)
        add_member(self.secret, self.alice, role=Membership.Role.OWNER)
        # A browser without JavaScript: the CSRF token comes from the page's form.
        self.browser = Client(enforce_csrf_checks=True)
        self.browser.force_login(self.bob)

    def invite(self) -> Invitation:
        return services.invitation_create(
            room=self.secret, inviter=self.alice, invitee_username="bob"
        )

    def submit(self, invitation: Invitation, answer: str, **kwargs):
        """Load the inbox page and press the invitation's `answer` button."""
        page = self.browser.get(INBOX_URL).content.decode()
        form = answer_form(page, invitation.pk)
        self.assertIn(f'action="{ANSWER_URL}"', form)
        self.assertIn('method="post"', form)
        self.assertIn(f'name="answer" value="{answer}"', form)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        data = {
            "csrfmiddlewaretoken": token,
            "invitation": str(invitation.pk),
            "next": INBOX_URL,
            "answer": answer,
        }
        return self.browser.post(ANSWER_URL, data, **kwargs)

    def is_member(self) -> bool:
        return Membership.objects.filter(room=self.secret, user=self.bob, banned=False).exists()

    def status_of(self, invitation: Invitation) -> str:
        invitation.refresh_from_db()
        return invitation.status

    def test_accepting_makes_a_member_and_opens_the_room(self):
        invitation = self.invite()
        response = self.submit(invitation, "accept")
        self.assertRedirects(
            response, self.secret.get_absolute_url(), fetch_redirect_response=False
        )
        self.assertTrue(self.is_member())
        self.assertEqual(self.status_of(invitation), Status.ACCEPTED)
        # The room opens for its new member.
        self.assertEqual(self.browser.get(response["Location"]).status_code, 200)

    def test_declining_goes_back_to_the_inbox_and_says_so(self):
        invitation = self.invite()
        response = self.submit(invitation, "decline", follow=True)
        self.assertRedirects(response, INBOX_URL)
        self.assertContains(response, "You declined the invitation to #Secret.")
        self.assertEqual(self.status_of(invitation), Status.DECLINED)
        self.assertFalse(self.is_member())

    def test_a_revoked_invitation_comes_back_with_the_reason_and_joins_nothing(self):
        invitation = self.invite()
        page = self.browser.get(INBOX_URL).content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        services.invitation_revoke(invitation=invitation, actor=self.alice)
        data = {"csrfmiddlewaretoken": token, "invitation": invitation.pk, "answer": "accept"}
        response = self.browser.post(ANSWER_URL, data, follow=True)
        self.assertRedirects(response, INBOX_URL)
        self.assertContains(response, "This invitation was already revoked.")
        self.assertFalse(self.is_member())

    def test_an_expired_or_banned_answer_says_why(self):
        invitation = self.invite()
        Invitation.objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() - timedelta(minutes=1)
        )
        response = self.submit(invitation, "accept", follow=True)
        self.assertContains(response, "This invitation has expired; ask for a new one.")
        self.assertFalse(self.is_member())

        Invitation.objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() + timedelta(days=1)
        )
        add_member(self.secret, self.bob, banned=True)
        response = self.submit(invitation, "accept", follow=True)
        self.assertContains(response, "You can&#x27;t join this room.")
        self.assertEqual(self.status_of(invitation), Status.PENDING)

    def test_someone_elses_invitation_is_no_such_invitation(self):
        carol = make_user("carol")
        invitation = services.invitation_create(
            room=self.secret, inviter=self.alice, invitee_username="carol"
        )
        self.browser.get(INBOX_URL)
        token = self.browser.cookies["csrftoken"].value
        data = {"csrfmiddlewaretoken": token, "invitation": invitation.pk, "answer": "accept"}
        response = self.browser.post(ANSWER_URL, data, follow=True)
        self.assertContains(response, "No such invitation.")
        self.assertFalse(Membership.objects.filter(room=self.secret, user=carol).exists())
        self.assertEqual(self.status_of(invitation), Status.PENDING)

    def test_bad_forms_are_refused_plainly(self):
        invitation = self.invite()
        self.client.force_login(self.bob)
        for data in (
            {"invitation": invitation.pk, "answer": "revoke"},
            {"invitation": invitation.pk},
            {"invitation": "seven", "answer": "accept"},
            {"answer": "accept"},
        ):
            response = self.client.post(ANSWER_URL, data)
            self.assertEqual(response.status_code, 400, data)
        self.assertEqual(self.client.get(ANSWER_URL).status_code, 405)
        self.client.logout()
        response = self.client.post(ANSWER_URL, {"invitation": invitation.pk, "answer": "accept"})
        self.assertTrue(response["Location"].startswith(reverse("login")))
        self.assertEqual(self.status_of(invitation), Status.PENDING)

    def test_the_form_without_its_csrf_token_is_refused(self):
        invitation = self.invite()
        data = {"invitation": invitation.pk, "answer": "accept"}
        self.assertEqual(self.browser.post(ANSWER_URL, data).status_code, 403)
        self.assertFalse(self.is_member())

    def test_an_answered_invitation_shows_no_buttons(self):
        invitation = self.invite()
        services.invitation_decline(invitation=invitation, user=self.bob)
        page = self.browser.get(INBOX_URL).content.decode()
        self.assertIn(" hidden>", answer_form(page, invitation.pk).split("\n", 1)[0])
