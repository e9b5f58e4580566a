"""Every read: history pages, catch-up by revision, and which rooms a user may see."""

from datetime import timedelta

from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from chat import selectors, services
from chat.errors import NotFound
from chat.models import Membership, Room
from chat.realtime.protocol import room_data

from .factories import add_member, make_message, make_messages, make_room, make_user


class MessagePageTestCase(TestCase):
    def setUp(self):
        self.alice = make_user("alice")
        self.room = make_room("General")
        self.messages = make_messages(self.room, self.alice, 25)
        # Another room's messages, interleaved in id order, must never show up.
        self.other = make_room("Other")
        make_messages(self.other, self.alice, 3)

    def ids(self, page) -> list[int]:
        return [message["id"] for message in page["messages"]]

    def test_newest_page_oldest_first(self):
        page = selectors.message_page(room=self.room, limit=10)
        self.assertEqual(self.ids(page), [m.pk for m in self.messages[-10:]])
        self.assertIs(page["has_more"], True)
        self.assertEqual(page["messages"][-1]["body"], "message 024")
        self.assertEqual(page["messages"][0]["room"], "general")

    def test_default_page_size_is_50(self):
        make_messages(self.room, self.alice, 30, prefix="more")
        page = selectors.message_page(room=self.room)
        self.assertEqual(len(page["messages"]), 50)
        self.assertIs(page["has_more"], True)

    def test_keyset_pages_cover_everything_exactly_once(self):
        seen, before, pages = [], None, 0
        while True:
            page = selectors.message_page(room=self.room, before=before, limit=7)
            pages += 1
            seen = self.ids(page) + seen
            if not page["has_more"]:
                break
            before = page["messages"][0]["id"]
        self.assertEqual(seen, [m.pk for m in self.messages])
        self.assertEqual(pages, 4)  # 7 + 7 + 7 + 4

    def test_has_more_is_false_on_an_exact_fit(self):
        page = selectors.message_page(room=self.room, limit=25)
        self.assertEqual(len(page["messages"]), 25)
        self.assertIs(page["has_more"], False)
        page = selectors.message_page(room=self.room, before=self.messages[5].pk, limit=5)
        self.assertEqual(self.ids(page), [m.pk for m in self.messages[:5]])
        self.assertIs(page["has_more"], False)

    def test_before_the_first_message_is_empty(self):
        page = selectors.message_page(room=self.room, before=self.messages[0].pk)
        self.assertEqual(page, {"messages": [], "has_more": False})

    def test_deleted_messages_stay_in_the_timeline_without_body(self):
        target = self.messages[-1]
        services.message_delete(room=self.room, user=self.alice, message_id=target.pk)
        last = selectors.message_page(room=self.room, limit=1)["messages"][0]
        self.assertEqual((last["id"], last["body"], last["deleted"]), (target.pk, "", True))

    def test_a_page_is_a_constant_number_of_queries(self):
        with self.assertNumQueries(1):
            selectors.message_page(room=self.room, limit=20)

    def test_pages_and_catch_up_read_messages_as_the_live_events_show_them(self):
        # Rows are read without model instances: they must still match message_data.
        bob = make_user("bob")
        edited = services.message_edit(
            room=self.room, user=self.alice, message_id=self.messages[-3].pk, body="edited"
        )
        deleted = services.message_delete(
            room=self.room, user=self.alice, message_id=self.messages[-2].pk
        )
        sent, _created = services.message_send(
            room=self.room, author=bob, body="hi", client_id="c-1"
        )
        page = selectors.message_page(room=self.room, limit=4)["messages"]
        self.assertEqual([page[0], page[1], page[3]], [edited, deleted, sent])
        self.assertIsNotNone(edited["edited_at"])
        since = selectors.messages_since(room=self.room, since=self.messages[-1].rev)
        self.assertEqual(since["messages"], [edited, deleted, sent])


class MessagesSinceTestCase(TestCase):
    def setUp(self):
        self.alice = make_user("alice")
        self.room = make_room("General")
        self.messages = make_messages(self.room, self.alice, 5)  # revs 1..5

    def test_changes_after_a_revision_in_rev_order(self):
        first, second = self.messages[0], self.messages[1]
        services.message_edit(room=self.room, user=self.alice, message_id=first.pk, body="edited")
        services.message_delete(room=self.room, user=self.alice, message_id=second.pk)
        new = make_message(self.room, self.alice, "new")
        result = selectors.messages_since(room=self.room, since=4)
        self.assertEqual(
            [(m["id"], m["rev"], m["body"], m["deleted"]) for m in result["messages"]],
            [
                (self.messages[4].pk, 5, "message 004", False),
                (first.pk, 6, "edited", False),
                (second.pk, 7, "", True),
                (new.pk, 8, "new", False),
            ],
        )
        self.assertEqual((result["rev"], result["complete"]), (8, True))

    def test_up_to_date_client_gets_nothing_and_the_room_rev(self):
        self.assertEqual(
            selectors.messages_since(room=self.room, since=5),
            {"messages": [], "rev": 5, "complete": True},
        )
        self.assertEqual(selectors.messages_since(room=self.room, since=0)["rev"], 5)

    def test_batches(self):
        first = selectors.messages_since(room=self.room, since=0, limit=2)
        self.assertEqual([m["rev"] for m in first["messages"]], [1, 2])
        self.assertEqual((first["rev"], first["complete"]), (2, False))
        second = selectors.messages_since(room=self.room, since=first["rev"], limit=2)
        self.assertEqual([m["rev"] for m in second["messages"]], [3, 4])
        self.assertEqual((second["rev"], second["complete"]), (4, False))
        third = selectors.messages_since(room=self.room, since=second["rev"], limit=2)
        self.assertEqual([m["rev"] for m in third["messages"]], [5])
        self.assertEqual((third["rev"], third["complete"]), (5, True))

    def test_exact_batch_is_complete(self):
        result = selectors.messages_since(room=self.room, since=3, limit=2)
        self.assertEqual([m["rev"] for m in result["messages"]], [4, 5])
        self.assertEqual((result["rev"], result["complete"]), (5, True))

    def test_batch_size_is_a_setting(self):
        with self.settings(CHAT_SYNC_BATCH=3):
            result = selectors.messages_since(room=self.room, since=0)
        self.assertEqual(
            (len(result["messages"]), result["rev"], result["complete"]), (3, 3, False)
        )

    def test_only_this_rooms_messages(self):
        make_messages(make_room("Other"), self.alice, 3)
        result = selectors.messages_since(room=self.room, since=0)
        self.assertEqual([m["room"] for m in result["messages"]], ["general"] * 5)


class RoomOpeningTestCase(TestCase):
    def setUp(self):
        self.alice = make_user("alice")
        self.room = make_room("General")
        make_messages(self.room, self.alice, 5)  # revs 1..5

    def test_without_since_only_the_revision(self):
        with self.assertNumQueries(1):
            self.assertEqual(selectors.room_opening(room=self.room, since=None), (5, None))

    def test_with_since_the_revision_and_the_first_catch_up_batch(self):
        with self.assertNumQueries(2), self.settings(CHAT_SYNC_BATCH=2):
            rev, catch_up = selectors.room_opening(room=self.room, since=1)
        self.assertEqual(rev, 5)
        self.assertEqual([m["rev"] for m in catch_up["messages"]], [2, 3])
        self.assertEqual((catch_up["rev"], catch_up["complete"]), (3, False))

    def test_an_up_to_date_client_is_told_it_is_complete(self):
        self.assertEqual(
            selectors.room_opening(room=self.room, since=5),
            (5, {"messages": [], "rev": 5, "complete": True}),
        )


class RoomEntryTestCase(TestCase):
    def setUp(self):
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.room = make_room("General", topic="Say hi", is_private=True)

    def test_the_room_and_the_membership_in_one_query(self):
        stored = add_member(self.room, self.alice, role=Membership.Role.MODERATOR)
        with self.assertNumQueries(1):
            room, membership = selectors.room_entry(slug=self.room.slug, user=self.alice)
            # Read as the ORM reads them: real booleans, each field in its place.
            self.assertEqual(room_data(room), room_data(self.room))
            self.assertIs(room.is_private, True)
            self.assertIs(room.is_archived, False)
            self.assertEqual((room.pk, room.slug), (self.room.pk, self.room.slug))
            self.assertEqual(
                (membership.pk, membership.room_id, membership.user_id),
                (stored.pk, self.room.pk, self.alice.pk),
            )
            self.assertEqual((membership.role, membership.banned), ("moderator", False))

    def test_a_banned_member(self):
        add_member(self.room, self.alice, banned=True)
        _room, membership = selectors.room_entry(slug=self.room.slug, user=self.alice)
        self.assertIs(membership.banned, True)
        self.assertEqual(membership.role, "member")

    def test_someone_else_s_membership_is_not_theirs(self):
        add_member(self.room, self.alice)
        room, membership = selectors.room_entry(slug=self.room.slug, user=self.bob)
        self.assertEqual(room.pk, self.room.pk)
        self.assertIsNone(membership)

    def test_no_such_room(self):
        self.assertEqual(selectors.room_entry(slug="nowhere", user=self.alice), (None, None))

    def test_the_other_fields_load_when_read(self):
        room, _membership = selectors.room_entry(slug=self.room.slug, user=self.alice)
        with self.assertNumQueries(1):
            self.assertEqual(room.created_at, self.room.created_at)


class RoomListTestCase(TestCase):
    def setUp(self):
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.public = make_room("Public")
        self.private = make_room("Private", is_private=True)
        add_member(self.private, self.alice)

    def slugs(self, user) -> list[str]:
        return [room.slug for room in selectors.room_list_for_user(user=user)]

    def test_private_rooms_only_for_members(self):
        self.assertCountEqual(self.slugs(self.alice), ["public", "private"])
        self.assertEqual(self.slugs(self.bob), ["public"])

    def test_banned_rooms_are_hidden(self):
        add_member(self.public, self.bob, banned=True)
        add_member(self.private, self.bob, banned=True)
        self.assertEqual(self.slugs(self.bob), [])

    def test_a_ban_of_someone_else_hides_nothing(self):
        add_member(self.public, self.alice)
        add_member(self.public, self.bob, banned=True)
        add_member(self.private, self.bob, banned=True)
        self.assertCountEqual(self.slugs(self.alice), ["public", "private"])

    def test_archived_after_active_then_most_recent_first(self):
        now = timezone.now()
        Room.objects.filter(pk=self.public.pk).update(last_activity_at=now - timedelta(hours=1))
        Room.objects.filter(pk=self.private.pk).update(last_activity_at=now)
        make_room("Old", is_archived=True)
        Room.objects.filter(slug="old").update(last_activity_at=now + timedelta(hours=1))
        make_room("Quiet")  # never active
        self.assertEqual(self.slugs(self.alice), ["private", "public", "quiet", "old"])

    def test_each_room_once_with_its_member_count(self):
        add_member(self.public, self.alice)
        add_member(self.public, self.bob)
        add_member(self.public, make_user("carol"), banned=True)
        add_member(self.private, self.bob)
        make_messages(self.public, self.alice, 3)
        rooms = {
            room.slug: room.member_count for room in selectors.room_list_for_user(user=self.bob)
        }
        self.assertEqual(rooms, {"public": 2, "private": 2})

    def test_public_rooms_one_is_not_in_are_capped_to_the_most_active(self):
        now = timezone.now()
        for number in range(5):
            room = make_room(f"Busy {number}")
            Room.objects.filter(pk=room.pk).update(last_activity_at=now - timedelta(minutes=number))
        quiet_but_mine = make_room("Mine")  # never active, but alice's
        add_member(quiet_but_mine, self.alice)
        listed = [r.slug for r in selectors.room_list_for_user(user=self.alice, others_max=2)]
        # Every room of hers (however quiet), and the two most active of the others.
        self.assertEqual(listed, ["busy-0", "busy-1", "mine", "private"])
        self.assertEqual(selectors.visible_room_count(user=self.alice), 8)

    def test_the_page_says_how_many_more_the_directory_has(self):
        for number in range(3):
            make_room(f"Extra {number}")
        self.client.force_login(self.bob)
        with self.settings(CHAT_ROOM_LIST_OTHERS_MAX=2):
            response = self.client.get(reverse("chat:room_list"))
        self.assertEqual(len(response.context["rooms"]), 2)
        self.assertContains(response, "2 more public rooms: browse and search them")


class RoomOpenTestCase(TestCase):
    """The room a page or the API opens, and the user's access to it (services.room_open)."""

    def setUp(self):
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.public = make_room("Public")
        self.private = make_room("Private", is_private=True)
        add_member(self.private, self.alice)

    def test_visible_rooms_with_the_user_s_access(self):
        room, access = services.room_open(slug="public", user=self.bob)
        self.assertEqual(room, self.public)
        self.assertEqual((access.see, access.post, access.role), (True, True, None))
        room, access = services.room_open(slug="private", user=self.alice)
        self.assertEqual(room, self.private)
        self.assertEqual((access.see, access.role), (True, Membership.Role.MEMBER))
        # Reading makes no member.
        self.assertFalse(Membership.objects.filter(room=self.public, user=self.bob).exists())

    def test_hidden_missing_or_banned_rooms_are_not_found(self):
        add_member(self.public, self.bob, banned=True)
        for slug in ("private", "nothing", "public"):
            with self.assertRaises(NotFound, msg=slug):
                services.room_open(slug=slug, user=self.bob)

    def test_archived_rooms_can_still_be_read(self):
        Room.objects.filter(pk=self.public.pk).update(is_archived=True)
        room, access = services.room_open(slug="public", user=self.bob)
        self.assertEqual(room, self.public)
        self.assertEqual((access.see, access.post, access.archived), (True, False, True))


class RoomMembershipNowTestCase(TestCase):
    """The membership every write checks, read with one prepared statement."""

    def test_reads_role_ban_and_mute_as_the_orm_does(self):
        room, alice, bob = make_room("General"), make_user("alice"), make_user("bob")
        until = timezone.now() + timedelta(minutes=5)
        Membership.objects.create(
            room=room, user=alice, role=Membership.Role.MODERATOR, muted=True, muted_until=until
        )
        with self.assertNumQueries(1):
            membership = selectors.room_membership_now(room_id=room.pk, user=alice)
        self.assertEqual(
            (membership.role, membership.banned, membership.muted, membership.muted_until),
            ("moderator", False, True, until),
        )
        self.assertTrue(membership.is_muted())
        self.assertIsNone(selectors.room_membership_now(room_id=room.pk, user=bob))
