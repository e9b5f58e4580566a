"""Staff tools: the Room, Message and Membership admin pages."""

import json
from unittest import mock

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chat.models import Membership, Message, Room

from .factories import add_member, make_message, make_room, make_user


def changelist(model) -> str:
    return reverse(f"admin:chat_{model._meta.model_name}_changelist")


def change(obj) -> str:
    return reverse(f"admin:chat_{obj._meta.model_name}_change", args=[obj.pk])


class AdminTestCase(TestCase):
    def setUp(self):
        self.admin = make_user("admin", is_staff=True, is_superuser=True)
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.general = make_room("General", topic="Anything goes")
        self.books = make_room("Book Club", is_private=True)
        self.old = make_room("Old Times", is_archived=True)
        add_member(self.general, self.alice)
        add_member(self.general, self.bob)
        add_member(self.general, make_user("troll"), banned=True)
        add_member(self.books, self.alice, role=Membership.Role.OWNER)
        self.hello = make_message(self.general, self.alice, "hello everyone")
        make_message(self.general, self.bob, "hi alice")
        gone = make_message(self.general, self.bob, "spam spam spam")
        Message.objects.filter(pk=gone.pk).update(deleted_at=gone.created_at)
        make_message(self.books, self.alice, "chapter one")
        self.client.force_login(self.admin)

    def results(self, url, params=None) -> list:
        response = self.client.get(url, params or {})
        self.assertEqual(response.status_code, 200)
        return list(response.context["cl"].result_list)


class AccessTestCase(AdminTestCase):
    def test_staff_opens_every_page(self):
        membership = Membership.objects.first()
        for url in [
            reverse("admin:index"),
            changelist(Room),
            changelist(Message),
            changelist(Membership),
            change(self.general),
            change(self.hello),
            change(membership),
            reverse("admin:chat_room_add"),
        ]:
            self.assertEqual(self.client.get(url).status_code, 200, msg=url)

    def test_non_staff_go_to_the_admin_login(self):
        for user in [self.alice, None]:
            self.client.logout()
            if user is not None:
                self.client.force_login(user)
            for url in [changelist(Room), changelist(Message), change(self.general)]:
                response = self.client.get(url)
                self.assertRedirects(
                    response, f"{reverse('admin:login')}?next={url}", msg_prefix=str(user)
                )


class RoomAdminTestCase(AdminTestCase):
    def test_counts_members_and_messages(self):
        rooms = {room.slug: room for room in self.results(changelist(Room))}
        general = rooms["general"]
        # Banned members and deleted messages are not counted.
        self.assertEqual((general._member_count, general._message_count), (2, 2))
        self.assertEqual(
            (rooms["book-club"]._member_count, rooms["book-club"]._message_count), (1, 1)
        )
        self.assertEqual(
            (rooms["old-times"]._member_count, rooms["old-times"]._message_count), (0, 0)
        )

    def test_sorts_by_the_counts(self):
        for column in ["5", "-5", "6", "-6"]:
            names = [room.name for room in self.results(changelist(Room), {"o": column})]
            self.assertEqual(len(names), 3)
        names = [room.name for room in self.results(changelist(Room), {"o": "-6"})]
        self.assertEqual(names[0], "General")

    def test_search(self):
        self.assertEqual(
            [r.name for r in self.results(changelist(Room), {"q": "book"})], ["Book Club"]
        )
        self.assertEqual(
            [r.name for r in self.results(changelist(Room), {"q": "anything"})], ["General"]
        )
        self.assertEqual(self.results(changelist(Room), {"q": "nothing like it"}), [])

    def test_filters(self):
        self.assertEqual(
            [r.name for r in self.results(changelist(Room), {"is_private__exact": "1"})],
            ["Book Club"],
        )
        self.assertEqual(
            [r.name for r in self.results(changelist(Room), {"is_archived__exact": "1"})],
            ["Old Times"],
        )
        self.assertEqual(
            [r.name for r in self.results(changelist(Room), {"is_archived__exact": "0"})],
            ["Book Club", "General"],
        )

    def test_change_page_lists_the_members(self):
        response = self.client.get(change(self.general))
        self.assertContains(response, "alice")
        self.assertContains(response, "troll")
        self.assertContains(response, 'name="memberships-TOTAL_FORMS" value="3"', html=False)

    def test_staff_edits_a_room_and_bans_a_member(self):
        memberships = list(Membership.objects.filter(room=self.general).order_by("pk"))
        data = {
            "name": "General",
            "slug": "general",
            "topic": "New topic",
            "is_archived": "on",
            "memberships-TOTAL_FORMS": str(len(memberships)),
            "memberships-INITIAL_FORMS": str(len(memberships)),
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
            # The second inline adds members: one new one here.
            "memberships-2-TOTAL_FORMS": "1",
            "memberships-2-INITIAL_FORMS": "0",
            "memberships-2-0-room": str(self.general.pk),
            "memberships-2-0-user": str(self.admin.pk),
            "memberships-2-0-role": Membership.Role.MODERATOR,
        }
        for i, membership in enumerate(memberships):
            data |= {
                f"memberships-{i}-id": str(membership.pk),
                f"memberships-{i}-room": str(self.general.pk),
                f"memberships-{i}-user": str(membership.user_id),
                f"memberships-{i}-role": membership.role,
            }
            if membership.banned or membership.user == self.bob:
                data[f"memberships-{i}-banned"] = "on"
        response = self.client.post(change(self.general), data)
        self.assertRedirects(response, changelist(Room))
        self.general.refresh_from_db()
        self.assertEqual((self.general.topic, self.general.is_archived), ("New topic", True))
        self.assertTrue(Membership.objects.get(room=self.general, user=self.bob).banned)
        added = Membership.objects.get(room=self.general, user=self.admin)
        self.assertEqual(added.role, Membership.Role.MODERATOR)
        # The revision is not the admin's to change.
        self.assertEqual(self.general.rev, 3)


class MessageAdminTestCase(AdminTestCase):
    def test_search_by_body_author_and_room(self):
        def bodies(query):
            return sorted(m.body for m in self.results(changelist(Message), {"q": query}))

        self.assertEqual(bodies("everyone"), ["hello everyone"])
        self.assertEqual(bodies("bob"), ["hi alice", "spam spam spam"])
        self.assertEqual(bodies("book-club"), ["chapter one"])

    def test_filters(self):
        in_books = self.results(changelist(Message), {"room__id__exact": str(self.books.pk)})
        self.assertEqual([m.body for m in in_books], ["chapter one"])
        deleted = self.results(changelist(Message), {"deleted_at__isnull": "False"})
        self.assertEqual([m.body for m in deleted], ["spam spam spam"])

    def test_long_bodies_are_shortened(self):
        make_message(self.general, self.alice, "x" * 200)
        response = self.client.get(changelist(Message))
        self.assertContains(response, "x" * 79 + "…")
        self.assertNotContains(response, "x" * 81)


class MembershipAdminTestCase(AdminTestCase):
    def test_filters_and_search(self):
        banned = self.results(changelist(Membership), {"banned__exact": "1"})
        self.assertEqual([m.user.username for m in banned], ["troll"])
        owners = self.results(changelist(Membership), {"role__exact": "owner"})
        self.assertEqual([(m.user.username, m.room.slug) for m in owners], [("alice", "book-club")])
        self.assertEqual(len(self.results(changelist(Membership), {"q": "alice"})), 2)


class AdminQueryCountTestCase(AdminTestCase):
    """The number of queries of a page does not grow with the rows it shows (no N+1)."""

    def count_queries(self, url) -> int:
        with CaptureQueriesContext(connection) as queries:
            self.assertEqual(self.client.get(url).status_code, 200)
        return len(queries)

    def grow(self, count: int = 10):
        """Add rooms, each with members and messages, and more members to General."""
        for i in range(count):
            user = make_user(f"user{i}")
            room = make_room(f"Extra {i}", is_private=i % 2 == 0)
            add_member(room, user)
            add_member(room, self.alice)
            add_member(self.general, user)
            make_message(room, user, f"extra {i}")
            make_message(self.general, user, f"general {i}")

    def assertStableQueries(self, url):
        before = self.count_queries(url)
        self.grow()
        with self.assertNumQueries(before):
            self.assertEqual(self.client.get(url).status_code, 200)

    def test_room_changelist(self):
        self.assertStableQueries(changelist(Room))

    def test_message_changelist(self):
        self.assertStableQueries(changelist(Message))

    def test_membership_changelist(self):
        self.assertStableQueries(changelist(Membership))

    def test_room_change_page(self):
        self.assertStableQueries(change(self.general))


class AdminWritesGoThroughServicesTests(AdminTestCase):
    """What staff change in the admin takes a revision and reaches open sockets."""

    def test_delete_action_soft_deletes_with_a_new_revision_and_broadcasts(self):
        self.general.refresh_from_db()
        rev_before = self.general.rev
        with self.captureOnCommitCallbacks(execute=False) as callbacks:
            response = self.client.post(
                changelist(Message),
                {"action": "soft_delete", "_selected_action": [self.hello.pk]},
                follow=True,
            )
        self.assertEqual(response.status_code, 200)
        self.hello.refresh_from_db()
        self.general.refresh_from_db()
        self.assertIsNotNone(self.hello.deleted_at)
        self.assertEqual(self.hello.rev, rev_before + 1)
        self.assertEqual(self.general.rev, rev_before + 1)
        self.assertEqual(len(callbacks), 1)

    def test_messages_cannot_be_hard_deleted_or_edited(self):
        delete_url = reverse("admin:chat_message_delete", args=[self.hello.pk])
        self.assertEqual(self.client.post(delete_url, {"post": "yes"}).status_code, 403)
        self.client.post(change(self.hello), {"body": "rewritten"})
        self.hello.refresh_from_db()
        self.assertEqual(self.hello.body, "hello everyone")
        self.assertTrue(Message.objects.filter(pk=self.hello.pk).exists())

    def test_archiving_a_room_broadcasts_room_updated(self):
        form = self.client.get(change(self.general)).context["adminform"].form
        data = {
            name: value
            for name, value in form.initial.items()
            if value is not None and name not in {"created_by"}
        }
        data.update(
            {
                "is_archived": "on",
                "memberships-TOTAL_FORMS": "0",
                "memberships-INITIAL_FORMS": "0",
                "memberships-2-TOTAL_FORMS": "0",
                "memberships-2-INITIAL_FORMS": "0",
            }
        )
        data.pop("is_private", None)
        with (
            mock.patch("chat.services.publish") as group_send,
            self.captureOnCommitCallbacks(execute=True),
        ):
            response = self.client.post(change(self.general), data)
        self.assertEqual(response.status_code, 302, getattr(response, "context", None))
        self.general.refresh_from_db()
        self.assertTrue(self.general.is_archived)
        group, event = group_send.call_args.args
        self.assertEqual(group, f"chat.room.{self.general.pk}")
        frame = json.loads(event["text"])
        self.assertEqual(frame["type"], "room.updated")
        self.assertTrue(frame["room"]["archived"])
