"""Staff tools: the Room, Message and Membership admin pages."""

from unittest import mock

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chat import events, services
from chat.models import Membership, Message, ModerationAction, Room
from chat.records import member_data, room_data, user_data

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
        with (
            events.captured_events() as sent,
            self.captureOnCommitCallbacks(execute=True),
        ):
            response = self.client.post(change(self.general), data)
        self.assertRedirects(response, changelist(Room))
        self.general.refresh_from_db()
        self.assertEqual((self.general.topic, self.general.is_archived), ("New topic", True))
        self.assertTrue(Membership.objects.get(room=self.general, user=self.bob).banned)
        added = Membership.objects.get(room=self.general, user=self.admin)
        self.assertEqual(added.role, Membership.Role.MODERATOR)
        # The revision is not the admin's to change.
        self.assertEqual(self.general.rev, 3)
        # Each change went through its service: logged, and told to open sockets.
        self.assertEqual(
            sorted(ModerationAction.objects.values_list("actor", "kind", "target", "room")),
            sorted(
                [
                    (self.admin.pk, ModerationAction.Kind.ARCHIVE, None, self.general.pk),
                    (self.admin.pk, ModerationAction.Kind.BAN, self.bob.pk, self.general.pk),
                ]
            ),
        )
        room = events.to_room(self.general.pk)
        sent_by_kind = {(event.kind, event.audience): event.data for event in sent}
        self.assertEqual(
            sent_by_kind[(events.MEMBER_REMOVED, room)],
            {"room": "general", "user": user_data(self.bob.pk, "bob"), "reason": "banned"},
        )
        self.assertEqual(
            sent_by_kind[(events.MEMBER_UPDATED, room)], {"member": member_data(added)}
        )
        self.assertEqual(
            sent_by_kind[(events.ROOMS_UPDATED, events.to_users([self.admin.pk]))],
            {"room": room_data(self.general)},
        )
        self.assertEqual(
            sent_by_kind[(events.ROOM_UPDATED, room)], {"room": room_data(self.general)}
        )
        self.assertEqual(
            sent_by_kind[(events.ROOMS_UPDATED, events.EVERYONE)], {"room": room_data(self.general)}
        )
        self.assertEqual(
            sent_by_kind[(events.ROOM_JOINED, events.to_users([self.admin.pk]))],
            {"room_id": self.general.pk, "slug": "general"},
        )
        self.assertEqual(len(sent), 6, sent)

    def test_a_refused_membership_change_is_reported_and_changes_nothing(self):
        # Nobody acts on themselves, staff included: the admin can't ban their own row.
        mine = add_member(self.general, self.admin, role=Membership.Role.OWNER)
        with (
            events.captured_events() as sent,
            self.captureOnCommitCallbacks(execute=True),
        ):
            response = self.client.post(
                change(mine), {"role": mine.role, "banned": "on", "muted_until": ""}, follow=True
            )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Not done")
        mine.refresh_from_db()
        self.assertFalse(mine.banned)
        self.assertFalse(ModerationAction.objects.exists())
        self.assertEqual(sent, [])

    def test_deleting_a_membership_removes_the_member_or_lifts_the_ban(self):
        bob = Membership.objects.get(room=self.general, user=self.bob)
        troll = Membership.objects.get(room=self.general, banned=True)
        with (
            events.captured_events() as sent,
            self.captureOnCommitCallbacks(execute=True),
        ):
            for membership in (bob, troll):
                url = reverse("admin:chat_membership_delete", args=[membership.pk])
                self.assertEqual(self.client.post(url, {"post": "yes"}).status_code, 302)
        self.assertFalse(Membership.objects.filter(pk__in=[bob.pk, troll.pk]).exists())
        self.assertEqual(
            list(ModerationAction.objects.order_by("pk").values_list("kind", "target")),
            [
                (ModerationAction.Kind.REMOVE, self.bob.pk),
                (ModerationAction.Kind.UNBAN, troll.user_id),
            ],
        )
        # The removed member's sockets close; lifting a ban tells nobody.
        self.assertEqual(
            sent,
            [
                events.Event(
                    events.MEMBER_REMOVED,
                    {"room": "general", "user": user_data(self.bob.pk, "bob"), "reason": "removed"},
                    events.to_room(self.general.pk),
                )
            ],
        )

    def test_muting_from_the_membership_admin_goes_through_the_service(self):
        alice = Membership.objects.get(room=self.general, user=self.alice)
        with (
            events.captured_events() as sent,
            self.captureOnCommitCallbacks(execute=True),
        ):
            response = self.client.post(
                change(alice), {"role": alice.role, "muted": "on", "muted_until": ""}
            )
        self.assertEqual(response.status_code, 302)
        alice.refresh_from_db()
        self.assertTrue(alice.muted)
        action = ModerationAction.objects.get()
        self.assertEqual(
            (action.kind, action.actor, action.target, action.detail),
            (ModerationAction.Kind.MUTE, self.admin, self.alice, "until unmuted"),
        )
        self.assertEqual(
            [(event.kind, event.audience, event.data["member"]["muted"]) for event in sent],
            [(events.MEMBER_UPDATED, events.to_room(self.general.pk), True)],
        )


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
        with (
            events.captured_events() as sent,
            self.captureOnCommitCallbacks(execute=True) as callbacks,
        ):
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
        [event] = sent
        self.assertEqual(
            (event.kind, event.audience), (events.MESSAGE_DELETED, events.to_room(self.general.pk))
        )
        self.assertEqual(
            (event.data["message"]["id"], event.data["message"]["deleted"]), (self.hello.pk, True)
        )
        # Staff deleting alice's message is a moderation action.
        action = ModerationAction.objects.get()
        self.assertEqual(
            (action.kind, action.actor, action.target),
            (ModerationAction.Kind.DELETE_MESSAGE, self.admin, self.alice),
        )

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
            events.captured_events() as sent,
            self.captureOnCommitCallbacks(execute=True),
        ):
            response = self.client.post(change(self.general), data)
        self.assertEqual(response.status_code, 302, getattr(response, "context", None))
        self.general.refresh_from_db()
        self.assertTrue(self.general.is_archived)
        # The room's sockets and everyone who lists it (a public room: everyone) hear it.
        room = room_data(self.general)
        self.assertTrue(room["archived"])
        self.assertEqual(
            sent,
            [
                events.Event(events.ROOM_UPDATED, {"room": room}, events.to_room(self.general.pk)),
                events.Event(events.ROOMS_UPDATED, {"room": room}, events.EVERYONE),
            ],
        )
        self.assertEqual(
            list(ModerationAction.objects.values_list("kind", "actor")),
            [(ModerationAction.Kind.ARCHIVE, self.admin.pk)],
        )

    def test_a_room_save_never_writes_back_a_stale_revision(self):
        real_room_update = services.room_update

        def a_message_lands_first(*, room, **kwargs):
            # The admin read the room (rev 3); a message takes rev 4 before it saves.
            make_message(self.general, self.alice, "meanwhile")
            self.assertEqual(room.rev, 3)
            return real_room_update(room=room, **kwargs)

        data = {
            "name": "General",
            "topic": "New topic",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "memberships-2-TOTAL_FORMS": "0",
            "memberships-2-INITIAL_FORMS": "0",
        }
        with mock.patch.object(services, "room_update", side_effect=a_message_lands_first):
            response = self.client.post(change(self.general), data)
        self.assertEqual(response.status_code, 302)
        self.general.refresh_from_db()
        self.assertEqual((self.general.topic, self.general.rev), ("New topic", 4))

    def test_a_private_room_s_change_is_listed_to_its_members_only(self):
        with (
            events.captured_events() as sent,
            self.captureOnCommitCallbacks(execute=True),
        ):
            response = self.client.post(
                change(self.books),
                {
                    "name": "Book Club",
                    "topic": "Chapter two",
                    "is_private": "on",
                    "memberships-TOTAL_FORMS": "0",
                    "memberships-INITIAL_FORMS": "0",
                    "memberships-2-TOTAL_FORMS": "0",
                    "memberships-2-INITIAL_FORMS": "0",
                },
            )
        self.assertEqual(response.status_code, 302)
        self.books.refresh_from_db()
        self.assertEqual(self.books.topic, "Chapter two")
        self.assertEqual(
            [(event.kind, event.audience) for event in sent],
            [
                (events.ROOM_UPDATED, events.to_room(self.books.pk)),
                (events.ROOMS_UPDATED, events.to_users([self.alice.pk])),
            ],
        )
        # A topic is no moderation action.
        self.assertFalse(ModerationAction.objects.exists())

    def test_saving_an_unchanged_room_writes_and_sends_nothing(self):
        data = {
            "name": "General",
            "topic": "Anything goes",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "memberships-2-TOTAL_FORMS": "0",
            "memberships-2-INITIAL_FORMS": "0",
        }
        with (
            events.captured_events() as sent,
            self.captureOnCommitCallbacks(execute=True),
            CaptureQueriesContext(connection) as queries,
        ):
            response = self.client.post(change(self.general), data)
        self.assertEqual(response.status_code, 302)
        self.assertEqual(sent, [])
        updates = [
            q["sql"] for q in queries if q["sql"].startswith("UPDATE") and "chat_room" in q["sql"]
        ]
        self.assertEqual(updates, [])

    def test_a_room_name_taken_in_another_case_is_refused(self):
        data = {
            "name": "book club",
            "topic": "Anything goes",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "memberships-2-TOTAL_FORMS": "0",
            "memberships-2-INITIAL_FORMS": "0",
        }
        with (
            events.captured_events() as sent,
            self.captureOnCommitCallbacks(execute=True),
        ):
            response = self.client.post(change(self.general), data)
        # The form is shown again with the error (the unique constraint on the name).
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.context["adminform"].form.errors)
        self.general.refresh_from_db()
        self.assertEqual(self.general.name, "General")
        self.assertEqual(sent, [])
