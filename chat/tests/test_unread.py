"""Mentions resolved at send time, read markers, and unread and mention counts derived
from rows; and a client's room list, kept current from the events, equal to a fresh fetch."""

import json

from asgiref.sync import async_to_sync
from django.core.cache import cache
from django.test import TestCase, override_settings
from django.urls import reverse

from chat import events, services, signals, snapshot
from chat.errors import ChatError
from chat.models import Membership, Message, MessageMention
from chat.realtime import presence

from .factories import add_member, make_message, make_room, make_user, quiet_request_warnings


class UnreadTestCase(TestCase):
    def setUp(self):
        cache.clear()  # rate-limit buckets
        presence._store = None
        self.alice, self.bob, self.carol = (make_user(n) for n in ("alice", "bob", "carol"))
        self.room = make_room("General")
        for user in (self.alice, self.bob, self.carol):
            add_member(self.room, user)
        self.changes = []
        signals.mentions_changed.connect(self.record_change, dispatch_uid="test_unread")
        self.addCleanup(signals.mentions_changed.disconnect, dispatch_uid="test_unread")

    def record_change(self, sender, message, added, removed, **kwargs):
        self.changes.append((message.pk, dict(added), set(removed)))

    def send(self, body, author=None, room=None):
        data, _ = services.message_send(
            room=room or self.room, author=author or self.alice, body=body
        )
        return data

    def mentioned(self, message_id) -> dict[int, str]:
        return dict(
            MessageMention.objects.filter(message_id=message_id).values_list("user_id", "kind")
        )


class MentionTests(UnreadTestCase):
    def test_names_resolve_to_members_once_and_never_the_author(self):
        outsider = make_user("dave")  # not a member
        data = self.send("@bob, @Carol. and @dave and @alice and mail@bob.example")
        self.assertEqual(self.mentioned(data["id"]), {self.bob.pk: "user", self.carol.pk: "user"})
        self.assertEqual(sorted(data["mentions"]), sorted([self.bob.pk, self.carol.pk]))
        self.assertIsNone(data["mention_all"])
        self.assertEqual(self.changes, [(data["id"], self.mentioned(data["id"]), set())])
        self.assertNotIn(outsider.pk, data["mentions"])

    def test_a_rename_later_does_not_change_who_was_mentioned(self):
        data = self.send("hi @bob")
        self.bob.username = "robert"
        self.bob.save()
        fresh = services.message_edit(
            room=self.room, user=self.alice, message_id=data["id"], body="hi @bob!"
        )
        self.assertEqual(fresh["mentions"], [])  # @bob names no one now
        self.assertEqual(self.changes[-1], (data["id"], {}, {self.bob.pk}))

    def test_an_edit_notifies_the_new_and_withdraws_the_dropped(self):
        data = self.send("hi @bob")
        services.message_edit(
            room=self.room, user=self.alice, message_id=data["id"], body="hi @carol"
        )
        self.assertEqual(self.mentioned(data["id"]), {self.carol.pk: "user"})
        self.assertEqual(self.changes[-1], (data["id"], {self.carol.pk: "user"}, {self.bob.pk}))

    def test_a_delete_withdraws_every_mention(self):
        data = self.send("hi @bob and @carol")
        services.message_delete(room=self.room, user=self.alice, message_id=data["id"])
        self.assertEqual(self.changes[-1], (data["id"], {}, {self.bob.pk, self.carol.pk}))
        # Kept on the deleted message: a client that counted the mention takes it back.
        deleted = Message.objects.get(pk=data["id"])
        self.assertEqual(
            deleted.mention_ids, ",".join(sorted([str(self.bob.pk), str(self.carol.pk)]))
        )

    def test_at_room_mentions_every_member_in_a_small_room(self):
        data = self.send("@room lunch?")
        self.assertEqual(data["mention_all"], "room")
        self.assertEqual(data["mentions"], [])  # everyone: not listed
        self.assertEqual(self.mentioned(data["id"]), {self.bob.pk: "room", self.carol.pk: "room"})

    @override_settings(CHAT_MENTION_ALL_MAX_MEMBERS=2)
    def test_at_room_in_a_large_room_is_for_moderators(self):
        with self.assertRaises(ChatError) as refused:
            self.send("@room lunch?")
        self.assertEqual(refused.exception.code, "forbidden")
        self.assertFalse(Message.objects.exists())
        Membership.objects.filter(user=self.alice).update(role=Membership.Role.MODERATOR)
        self.assertEqual(self.send("@room lunch?")["mention_all"], "room")

    def test_at_here_mentions_those_online(self):
        async_to_sync(presence.get_presence().join)(
            room_id=self.room.pk, user_id=self.carol.pk, username="carol", channel_name="c.1"
        )
        data = self.send("@here anyone?")
        self.assertEqual((data["mention_all"], data["mentions"]), ("here", [self.carol.pk]))
        self.assertEqual(self.mentioned(data["id"]), {self.carol.pk: "here"})

    def test_a_body_without_an_at_costs_no_query_for_mentions(self):
        # The send's own statements (a savepoint, the revision, the membership, the row,
        # the author's display name, the release); none for mentions.
        with self.assertNumQueries(6):
            self.send("plain words")


class CountTests(UnreadTestCase):
    def counts(self, user) -> dict[str, tuple[int, int]]:
        return {room["slug"]: (room["unread"], room["mentions"]) for room in services_rooms(user)}

    def test_unread_is_derived_from_rows(self):
        self.send("one")
        hello = self.send("two @bob")
        self.send("mine", author=self.bob)
        self.assertEqual(self.counts(self.bob), {"general": (2, 1)})
        services.message_delete(room=self.room, user=self.alice, message_id=hello["id"])
        self.assertEqual(self.counts(self.bob), {"general": (1, 0)})

    def test_an_edit_never_makes_a_read_message_unread(self):
        data = self.send("one")
        services.room_mark_read(room=self.room, user=self.bob, rev=self.room_rev())
        services.message_edit(room=self.room, user=self.alice, message_id=data["id"], body="1")
        self.assertEqual(self.counts(self.bob), {"general": (0, 0)})

    def test_the_marker_moves_forward_only_and_not_past_the_room(self):
        self.send("one")
        self.send("two")
        state = services.room_mark_read(room=self.room, user=self.bob, rev=99)
        self.assertEqual((state["last_read_rev"], state["unread"]), (2, 0))
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            services.room_mark_read(room=self.room, user=self.bob, rev=1)
        self.assertEqual(Membership.objects.get(user=self.bob).last_read_rev, 2)
        self.assertEqual(sent, [], "a marker that did not move tells no one")

    def test_a_move_tells_every_tab_of_the_user(self):
        self.send("@bob one")
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            services.room_mark_read(room=self.room, user=self.bob, rev=1)
        [event] = [event for event in sent if event.kind == events.ROOM_READ]
        self.assertEqual(
            (event.kind, event.audience), (events.ROOM_READ, events.to_users([self.bob.pk]))
        )
        self.assertEqual(
            event.data["room"],
            {
                "slug": "general",
                "rev": 1,
                "last_read_rev": 1,
                "unread": 0,
                "mentions": 0,
                "unread_mentions": [],
            },
        )

    def test_a_ban_or_a_removal_takes_the_room_out_of_the_list(self):
        self.send("one")
        staff = make_user("staff", is_staff=True)
        services.member_ban(room=self.room, actor=staff, target=self.bob)
        services.member_remove(room=self.room, actor=staff, target=self.carol)
        self.assertEqual(self.counts(self.bob), {})
        self.assertEqual(self.counts(self.carol), {})

    def test_a_new_member_starts_with_the_history_read(self):
        self.send("before dave")
        dave = make_user("dave")
        self.send("dave joins by posting", author=dave)
        self.send("after dave")
        self.assertEqual(self.counts(dave), {"general": (1, 0)})

    def test_counts_for_many_rooms_take_two_queries(self):
        for number in range(5):
            room = make_room(f"Room {number}")
            add_member(room, self.bob)
            make_message(room, self.alice, "hello")
        # Memberships, unread counts, unread mentions, notification preferences.
        with self.assertNumQueries(4):
            rooms = services_rooms(self.bob)
        self.assertEqual(len(rooms), 6)

    def room_rev(self) -> int:
        self.room.refresh_from_db()
        return self.room.rev


def services_rooms(user):
    from chat import selectors

    return selectors.member_rooms(user=user)


class RoomListApiTests(UnreadTestCase):
    def setUp(self):
        super().setUp()
        quiet_request_warnings(self)
        self.client.force_login(self.bob)

    def test_rooms_and_read(self):
        self.send("hi @bob")
        answer = self.client.get(reverse("chat:api_rooms")).json()
        [room] = answer["rooms"]
        self.assertEqual(
            {key: room[key] for key in ("slug", "rev", "last_read_rev", "unread", "mentions")},
            {"slug": "general", "rev": 1, "last_read_rev": 0, "unread": 1, "mentions": 1},
        )
        url = reverse("chat:api_room_read", kwargs={"slug": "general"})
        answer = self.client.post(url, {"rev": 1}, content_type="application/json")
        self.assertEqual(answer.status_code, 200)
        self.assertEqual(
            (answer.json()["room"]["unread"], answer.json()["room"]["last_read_rev"]), (0, 1)
        )

    def test_bad_markers_are_refused(self):
        url = reverse("chat:api_room_read", kwargs={"slug": "general"})
        for body in ({}, {"rev": "3"}, {"rev": -1}, {"rev": True}, {"rev": 2**60}):
            answer = self.client.post(url, json.dumps(body), content_type="application/json")
            self.assertEqual(answer.status_code, 400, body)
        secret = make_room("Secret", is_private=True)
        url = reverse("chat:api_room_read", kwargs={"slug": secret.slug})
        answer = self.client.post(url, {"rev": 1}, content_type="application/json")
        self.assertEqual(answer.status_code, 404)


class SnapshotPlusEventsEqualsAFreshFetchTests(UnreadTestCase):
    """Zulip's verify_action: apply what a write sent to the state before it."""

    def verify(self, user, write):
        before = {room["slug"]: room for room in services_rooms(user)}
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            write()
        state = before
        for event in sent:
            state = snapshot.apply_event(state, event.kind, event.data, me=user.pk)
        fresh = {room["slug"]: room for room in services_rooms(user)}
        keys = ("rev", "last_read_rev", "unread", "mentions", "unread_mentions")
        self.assertEqual(
            {slug: {key: room[key] for key in keys} for slug, room in state.items()},
            {slug: {key: room[key] for key in keys} for slug, room in fresh.items()},
        )

    def test_sends_edits_deletes_reads_bans_and_leaving(self):
        first = {}
        staff = make_user("staff", is_staff=True)
        writes = [
            lambda: first.update(self.send("hello @bob")),
            lambda: self.send("plain"),
            lambda: self.send("from bob", author=self.bob),
            lambda: services.message_edit(
                room=self.room, user=self.alice, message_id=first["id"], body="hello"
            ),
            lambda: services.message_edit(
                room=self.room, user=self.alice, message_id=first["id"], body="hi @bob"
            ),
            lambda: self.send("@room all"),
            lambda: services.message_delete(
                room=self.room, user=self.alice, message_id=first["id"]
            ),
            lambda: services.room_mark_read(room=self.room, user=self.bob, rev=3),
            lambda: self.send("after the marker @bob"),
            lambda: services.message_delete(room=self.room, user=staff, message_id=first["id"] + 1),
            lambda: services.member_ban(room=self.room, actor=staff, target=self.bob),
        ]
        for number, write in enumerate(writes):
            with self.subTest(write=number):
                self.verify(self.bob, write)
        self.verify(
            self.carol,
            lambda: services.member_remove(room=self.room, actor=staff, target=self.carol),
        )
