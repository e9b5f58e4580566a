"""Staff and API tokens in the admin: a read-only list, revoked through the service."""

from datetime import timedelta

from django.contrib.auth.models import Permission
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from api.models import ApiToken
from chat import events
from chat.tests.factories import make_user

from .factories import make_token

CHANGELIST = "admin:api_apitoken_changelist"


class ApiTokenAdminTests(TestCase):
    def setUp(self):
        self.admin = make_user("admin", is_staff=True, is_superuser=True)
        self.alice, self.bob = make_user("alice"), make_user("bob")
        self.client.force_login(self.admin)
        now = timezone.now()
        self.alices, _ = make_token(self.alice, name="deploy bot", scope="read")
        self.bobs, _ = make_token(self.bob, name="backup script")
        self.revoked, _ = make_token(self.alice, name="old thing", revoked_at=now)
        self.expired, _ = make_token(self.bob, name="trial", expires_at=now - timedelta(days=1))

    def changelist(self, **query):
        return self.client.get(reverse(CHANGELIST), query)

    def listed(self, response) -> set[str]:
        return {token.name for token in response.context["cl"].result_list}

    def test_the_list_search_and_filters(self):
        response = self.changelist()
        self.assertEqual(
            self.listed(response), {"deploy bot", "backup script", "old thing", "trial"}
        )
        self.assertContains(response, self.alices.prefix)
        self.assertNotContains(response, self.alices.key_hash)
        self.assertEqual(self.listed(self.changelist(q="alice")), {"deploy bot", "old thing"})
        self.assertEqual(self.listed(self.changelist(q=self.bobs.prefix)), {"backup script"})
        self.assertEqual(
            self.listed(self.changelist(state="active")), {"deploy bot", "backup script"}
        )
        self.assertEqual(self.listed(self.changelist(state="revoked")), {"old thing"})
        self.assertEqual(self.listed(self.changelist(state="expired")), {"trial"})
        self.assertEqual(self.listed(self.changelist(scope="read")), {"deploy bot"})

    def test_tokens_are_seen_not_added_changed_or_deleted(self):
        self.assertEqual(self.client.get(reverse("admin:api_apitoken_add")).status_code, 403)
        change = reverse("admin:api_apitoken_change", args=[self.alices.pk])
        page = self.client.get(change)
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, "deploy bot")
        self.assertNotContains(page, self.alices.key_hash)
        self.assertNotContains(page, 'name="name"')  # no field to edit
        self.client.post(change, {"name": "renamed", "scope": "write"})
        self.alices.refresh_from_db()
        self.assertEqual((self.alices.name, self.alices.scope), ("deploy bot", "read"))
        delete = reverse("admin:api_apitoken_delete", args=[self.alices.pk])
        self.assertEqual(self.client.post(delete, {"post": "yes"}).status_code, 403)
        self.assertTrue(ApiToken.objects.filter(pk=self.alices.pk).exists())

    def test_revoke_selected_goes_through_the_service(self):
        chosen = [self.alices.pk, self.bobs.pk, self.revoked.pk]
        revoked_before = self.revoked.revoked_at
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(
                reverse(CHANGELIST),
                {"action": "revoke", "_selected_action": chosen},
                follow=True,
            )
        self.assertContains(response, "Revoked 2 token(s).")
        for token in (self.alices, self.bobs, self.revoked):
            token.refresh_from_db()
            self.assertIsNotNone(token.revoked_at)
        self.assertEqual(self.revoked.revoked_at, revoked_before)
        # Each revoked token's sockets are told, through its user's topic.
        self.assertEqual(
            sorted(
                (event.kind, event.data["ended_token"], event.audience.topics()[0])
                for event in sent
            ),
            sorted(
                [
                    (events.SESSION_CHECK, self.alices.pk, f"user:{self.alice.pk}"),
                    (events.SESSION_CHECK, self.bobs.pk, f"user:{self.bob.pk}"),
                ]
            ),
        )

    def test_staff_without_the_change_permission_cannot_revoke(self):
        viewer = make_user("viewer", is_staff=True)
        viewer.user_permissions.add(Permission.objects.get(codename="view_apitoken"))
        self.client.force_login(viewer)
        response = self.changelist()
        self.assertEqual(response.status_code, 200)
        self.assertIsNone(response.context["action_form"])  # no action offered
        self.client.post(
            reverse(CHANGELIST), {"action": "revoke", "_selected_action": [self.alices.pk]}
        )
        self.alices.refresh_from_db()
        self.assertIsNone(self.alices.revoked_at)
