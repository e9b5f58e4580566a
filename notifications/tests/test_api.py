"""The inbox's HTTP API, and the rule that a snapshot plus the events equals a fresh fetch."""

import json

from django.test import Client, TestCase
from django.urls import reverse

from chat import events
from chat.tests.factories import (
    add_member,
    make_message,
    make_room,
    make_user,
    quiet_request_warnings,
)
from notifications import selectors
from notifications.models import Notification
from notifications.state import apply_event

from .factories import make_notification, send_mentions_changed, send_room_read

LIST_URL = reverse("notifications:api_notifications")
READ_URL = reverse("notifications:api_notifications_read")


class ApiTestCase(TestCase):
    def setUp(self):
        quiet_request_warnings(self)
        self.alice, self.bob = make_user("alice"), make_user("bob")
        self.room = make_room("General")
        add_member(self.room, self.alice)
        add_member(self.room, self.bob)
        self.client.force_login(self.bob)

    def get(self, **params) -> dict:
        response = self.client.get(LIST_URL, params)
        self.assertEqual(response.status_code, 200, response.content)
        return response.json()

    def post_read(self, body, client=None):
        client = client or self.client
        content = body if isinstance(body, str) else json.dumps(body)
        return client.post(READ_URL, content, content_type="application/json")

    def mention_bob(self, room=None, *, author=None):
        message = make_message(room or self.room, author or self.alice, "@bob")
        send_mentions_changed(message, added={self.bob.pk: "user"})
        return message


class NotificationListApiTestCase(ApiTestCase):
    def test_the_shape_of_a_page(self):
        message = self.mention_bob()
        make_notification(self.bob, reason="Welcome", read=True)
        answer = self.get()
        self.assertEqual(set(answer), {"notifications", "has_more", "unread"})
        self.assertEqual((answer["has_more"], answer["unread"]), (False, 1))
        welcome, mention = answer["notifications"]
        self.assertEqual(
            welcome,
            {
                "id": welcome["id"],
                "kind": "announcement",
                "reason": "Welcome",
                "room": None,
                "message": None,
                "actor": None,
                "created_at": welcome["created_at"],
                "read": True,
                "text": None,
                "invitation": None,
            },
        )
        notification = Notification.objects.get(message=message)
        self.assertEqual(
            mention,
            {
                "id": notification.pk,
                "kind": "mention",
                "reason": "@alice mentioned you in #General",
                "room": {"slug": "general", "name": "General", "kind": "room"},
                "message": {"id": message.pk, "created_rev": message.rev},
                "actor": {"id": self.alice.pk, "username": "alice", "display_name": ""},
                "created_at": notification.created_at.isoformat()[:26] + "Z",
                "read": False,
                "text": None,
                "invitation": None,
            },
        )

    def test_an_actor_who_is_gone_leaves_a_null(self):
        make_notification(self.bob, actor=self.alice)
        self.alice.delete()
        self.assertIsNone(self.get()["notifications"][0]["actor"])

    def test_newest_first_paged_by_id(self):
        ids = [make_notification(self.bob, reason=f"n{i}").pk for i in range(5)]
        ids.reverse()

        def page(**params):
            answer = self.get(**params)
            return [item["id"] for item in answer["notifications"]], answer["has_more"]

        self.assertEqual(page(limit=2), (ids[:2], True))
        self.assertEqual(page(limit=2, before=ids[1]), (ids[2:4], True))
        self.assertEqual(page(limit=2, before=ids[3]), (ids[4:], False))
        self.assertEqual(page(before=ids[4]), ([], False))
        self.assertEqual(page(), (ids, False))

    def test_the_default_page_holds_fifty(self):
        Notification.objects.bulk_create(
            Notification(user=self.bob, kind="announcement", reason=f"n{i}") for i in range(51)
        )
        answer = self.get()
        self.assertEqual((len(answer["notifications"]), answer["has_more"]), (50, True))
        self.assertEqual(answer["unread"], 51)
        self.assertEqual(len(self.get(limit=100)["notifications"]), 51)
        self.assertEqual(len(self.get(limit=1)["notifications"]), 1)

    def test_bad_paging_parameters(self):
        for params in [
            {"limit": 0},
            {"limit": 101},
            {"limit": "ten"},
            {"limit": "-1"},
            {"before": 0},
            {"before": "x"},
            {"before": "9" * 30},
        ]:
            with self.subTest(params=params):
                response = self.client.get(LIST_URL, params)
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.json()["error"]["code"], "bad_frame")

    def test_only_the_callers_notifications(self):
        make_notification(self.alice, reason="for alice")
        mine = make_notification(self.bob, reason="for bob")
        answer = self.get()
        self.assertEqual([item["id"] for item in answer["notifications"]], [mine.pk])
        self.assertEqual(answer["unread"], 1)

    def test_a_page_takes_the_same_queries_at_any_size(self):
        for size in (2, 20):
            while Notification.objects.count() < size:
                self.mention_bob(author=make_user(f"author{Notification.objects.count()}"))
            with self.subTest(size=size), self.assertNumQueries(2):
                page = selectors.notification_page(user=self.bob, limit=100)
            self.assertEqual(len(page["notifications"]), size)
            self.assertTrue(
                all(item["actor"] and item["message"] for item in page["notifications"])
            )

    def test_logged_out(self):
        self.client.logout()
        for response in (self.client.get(LIST_URL), self.post_read({"all": True})):
            self.assertEqual(response.status_code, 401)
            self.assertEqual(response.json()["error"]["code"], "unauthenticated")

    def test_methods(self):
        self.assertEqual(self.client.post(LIST_URL).status_code, 405)
        self.assertEqual(self.client.get(READ_URL).status_code, 405)


class MarkReadApiTestCase(ApiTestCase):
    def test_marks_the_given_ids(self):
        first, second = make_notification(self.bob), make_notification(self.bob)
        response = self.post_read({"ids": [first.pk]})
        self.assertEqual((response.status_code, response.json()), (200, {"unread": 1}))
        self.assertEqual([item["read"] for item in self.get()["notifications"]], [False, True])
        self.assertEqual(self.post_read({"ids": [first.pk, second.pk]}).json(), {"unread": 0})

    def test_other_users_ids_are_ignored_as_if_they_did_not_exist(self):
        mine = make_notification(self.bob)
        alices = make_notification(self.alice)
        missing = alices.pk + 1000
        answers = [self.post_read({"ids": [ids]}) for ids in (alices.pk, missing)]
        self.assertEqual([(r.status_code, r.json()) for r in answers], [(200, {"unread": 1})] * 2)
        self.assertIsNone(Notification.objects.get(pk=alices.pk).read_at)
        self.assertIsNone(Notification.objects.get(pk=mine.pk).read_at)

    def test_marks_all(self):
        for _ in range(3):
            make_notification(self.bob)
        alices = make_notification(self.alice)
        self.assertEqual(self.post_read({"all": True}).json(), {"unread": 0})
        self.assertEqual(self.get()["unread"], 0)
        self.assertIsNone(Notification.objects.get(pk=alices.pk).read_at)

    def test_bad_bodies(self):
        notification = make_notification(self.bob)
        for body, code in [
            ("not json", "bad_json"),
            ("", "bad_json"),
            ([notification.pk], "bad_frame"),
            ({}, "bad_frame"),
            ({"ids": notification.pk}, "bad_frame"),
            ({"ids": [str(notification.pk)]}, "bad_frame"),
            ({"ids": [True]}, "bad_frame"),
            ({"ids": [0]}, "bad_frame"),
            ({"ids": [1.5]}, "bad_frame"),
            ({"ids": [2**53]}, "bad_frame"),
            ({"ids": [None]}, "bad_frame"),
            ({"ids": [notification.pk] * 1001}, "bad_frame"),
            ({"all": False}, "bad_frame"),
            ({"all": 1}, "bad_frame"),
            ({"all": True, "ids": [notification.pk]}, "bad_frame"),
        ]:
            with self.subTest(body=body):
                response = self.post_read(body)
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.json()["error"]["code"], code)
        self.assertIsNone(Notification.objects.get().read_at)

    def test_a_request_over_the_frame_limit(self):
        response = self.post_read({"ids": [1] * 1000, "padding": "x" * 20000})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"]["code"], "too_long")

    def test_needs_the_csrf_token(self):
        notification = make_notification(self.bob)
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.bob)
        self.assertEqual(self.post_read({"all": True}, client=client).status_code, 403)
        self.assertIsNone(Notification.objects.get(pk=notification.pk).read_at)


class SnapshotPlusEventsTestCase(ApiTestCase):
    """What a client holds after applying the events is what a fresh fetch answers."""

    def snapshot(self) -> dict:
        answer = self.get(limit=100)
        return {"notifications": answer["notifications"], "unread": answer["unread"]}

    def test_snapshot_plus_events_equals_a_fresh_fetch(self):
        carol = make_user("carol")
        add_member(self.room, carol)
        random = make_room("Random")
        early = self.mention_bob()
        make_notification(self.bob, reason="Welcome", read=True)
        make_notification(self.bob, kind="invitation", room=random, actor=self.alice)
        held = self.snapshot()

        with events.captured_events() as captured, self.captureOnCommitCallbacks(execute=True):
            # New mentions, one of them of carol too (her events are not bob's).
            edited = self.mention_bob()
            send_mentions_changed(edited, added={carol.pk: "room"})
            here = make_message(random, self.alice, "@here")
            send_mentions_changed(here, added={self.bob.pk: "here", carol.pk: "here"})
            self.mention_bob(random)
            # An edit takes bob's mention back before he read it.
            send_mentions_changed(edited, removed={self.bob.pk})
            # Bob reads General up to the early message, then one notification by id.
            send_room_read(self.room, self.bob, early.created_rev)
            here_notification = Notification.objects.get(message=here, user=self.bob)
            self.post_read({"ids": [here_notification.pk]})
            # Then all of them, and one more arrives after.
            self.post_read({"all": True})
            self.mention_bob()

        for event in captured:
            if self.bob.pk in event.audience.user_ids:
                held = apply_event(held, event.kind, event.data)
        self.assertEqual(held, self.snapshot())
        self.assertEqual(held["unread"], 1)
        kinds = [event.kind for event in captured if self.bob.pk in event.audience.user_ids]
        self.assertEqual(
            kinds,
            [
                "notification.new",
                "notification.new",
                "notification.new",
                "notification.removed",
                "notifications.read",
                "notifications.read",
                "notifications.read",
                "notification.new",
            ],
        )


class InboxSchemaTestCase(ApiTestCase):
    """The inbox's operations are read and described by their schemas."""

    def test_a_string_where_an_id_goes_is_refused_and_marks_nothing(self):
        notification = make_notification(self.bob)
        response = self.post_read({"ids": [notification.pk, str(notification.pk)]})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"]["code"], "bad_frame")
        self.assertIsNone(Notification.objects.get().read_at)

    def test_unknown_fields_are_ignored_as_before(self):
        make_notification(self.bob)
        response = self.post_read({"all": True, "since": "now"})
        self.assertEqual((response.status_code, response.json()), (200, {"unread": 0}))

    def test_the_schema_names_the_query_and_the_body(self):
        schema = self.client.get("/api/schema/").json()
        page = schema["paths"]["/api/notifications/"]["get"]
        parameters = {parameter["name"]: parameter for parameter in page["parameters"]}
        self.assertEqual(set(parameters), {"before", "limit"})
        self.assertEqual(parameters["limit"]["schema"]["default"], selectors.PAGE_SIZE)
        read = schema["paths"]["/api/notifications/read/"]["post"]
        body = read["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        fields = schema["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]
        self.assertEqual(set(fields), {"ids", "all"})
        self.assertEqual(fields["ids"]["maxItems"], 1000)
