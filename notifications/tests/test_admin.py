"""The notifications admin: a read-only list for staff."""

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chat.tests.factories import make_room, make_user
from notifications.models import Notification

from .factories import make_notification

CHANGELIST = reverse("admin:notifications_notification_changelist")


class NotificationAdminTestCase(TestCase):
    def setUp(self):
        self.client.force_login(make_user("root", is_staff=True, is_superuser=True))
        self.bob = make_user("bob")
        self.notification = make_notification(
            self.bob, reason="@alice mentioned you in #General", room=make_room("General")
        )

    def change_url(self) -> str:
        return reverse("admin:notifications_notification_change", args=[self.notification.pk])

    def test_lists_notifications_in_queries_that_do_not_grow(self):
        def queries() -> int:
            with CaptureQueriesContext(connection) as context:
                response = self.client.get(CHANGELIST)
            self.assertContains(response, "@alice mentioned you in #General")
            return len(context.captured_queries)

        one = queries()
        for i in range(10):
            make_notification(make_user(f"user{i}"), reason="@alice mentioned you in #General")
        self.assertEqual(queries(), one)

    def test_nothing_can_be_added_changed_or_deleted(self):
        self.assertEqual(self.client.get(CHANGELIST + "add/").status_code, 403)
        self.assertContains(self.client.get(self.change_url()), "@alice mentioned you in #General")
        self.client.post(self.change_url(), {"reason": "changed"})
        self.assertEqual(Notification.objects.get().reason, "@alice mentioned you in #General")
        delete_url = reverse("admin:notifications_notification_delete", args=[self.notification.pk])
        self.assertEqual(self.client.post(delete_url, {"post": "yes"}).status_code, 403)
        self.assertTrue(Notification.objects.exists())
