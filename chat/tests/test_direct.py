"""Direct conversations (docs/protocol.md, "Direct messages"): opening one, who sees it,
how its messages notify, what nobody may do in it, and a tab kept exact by its frames."""

import json

from channels.db import database_sync_to_async
from django.core.cache import cache
from django.db import IntegrityError
from django.test import TestCase
from django.urls import reverse

from chat import errors, events, policy, selectors, services
from chat.models import Membership, Room
from chat.services import direct as direct_services
from notifications import selectors as inbox_selectors
from notifications import services as inbox_services
from notifications.models import Notification

from .factories import add_member, make_room, make_user, session_cookie
from .test_tab_socket import TabTestCase

Role = Membership.Role


def direct_notifications(user) -> list[Notification]:
    return list(Notification.objects.filter(user=user, kind=Notification.Kind.DIRECT))


class DirectTestCase(TestCase):
    def setUp(self):
        cache.clear()  # rate-limit buckets (sending, joining and leaving)
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.carol = make_user("carol")

    def open(self, *usernames, starter=None):
        return services.direct_open(starter=starter or self.alice, usernames=list(usernames))

    def captured(self, write):
        """Run `write` in a committed transaction; return (its result, the events sent)."""
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            result = write()
        return result, sent

    def send(self, room, author, body="hello"):
        message, _ = services.message_send(room=room, author=author, body=body)
        return message


class OpenTests(DirectTestCase):
    def test_opening_creates_a_private_conversation_once_and_tells_each_person(self):
        (room, created), sent = self.captured(lambda: self.open("bob"))
        self.assertTrue(created)
        self.assertEqual((room.kind, room.is_private), (Room.Kind.DIRECT, True))
        self.assertEqual(room.direct_key, f"{self.alice.pk},{self.bob.pk}")
        self.assertTrue(room.slug.startswith("dm-"))
        roles = dict(Membership.objects.filter(room=room).values_list("user__username", "role"))
        self.assertEqual(roles, {"alice": Role.MEMBER, "bob": Role.MEMBER})
        joined = sorted((event.kind, tuple(event.audience.topics())) for event in sent)
        self.assertEqual(
            joined,
            sorted(
                [
                    (events.ROOM_JOINED, (f"user:{self.alice.pk}",)),
                    (events.ROOM_JOINED, (f"user:{self.bob.pk}",)),
                ]
            ),
        )

    def test_opening_again_in_any_order_returns_the_same_conversation(self):
        room, _ = self.open("bob", "carol")
        again, created = self.open("carol", "bob")
        self.assertEqual((again.pk, created), (room.pk, False))
        from_bob, created = self.open("alice", "carol", starter=self.bob)
        self.assertEqual((from_bob.pk, created), (room.pk, False))
        # One-to-one is another conversation than the group.
        self.assertNotEqual(self.open("bob")[0].pk, room.pk)
        self.assertEqual(Room.objects.filter(kind=Room.Kind.DIRECT).count(), 2)

    def test_a_concurrent_start_keeps_one_conversation(self):
        room, _ = self.open("bob")
        # The key is unique: a second row of the same people can't be written.
        with self.assertRaises(IntegrityError):
            Room.objects.create(
                name="dm-x", slug="dm-x", kind=Room.Kind.DIRECT, direct_key=room.direct_key
            )

    def test_a_group_of_eight_is_fine_and_a_ninth_person_is_refused(self):
        others = [make_user(f"user{number}").username for number in range(8)]
        room, created = self.open(*others[:7])
        self.assertTrue(created)
        self.assertEqual(Membership.objects.filter(room=room).count(), 8)
        with self.assertRaisesMessage(errors.Invalid, "at most 8 people"):
            self.open(*others)
        self.assertEqual(Room.objects.filter(kind=Room.Kind.DIRECT).count(), 1)

    def test_only_oneself_unknown_and_inactive_people_are_refused(self):
        with self.assertRaises(errors.Invalid):
            self.open("alice")
        with self.assertRaises(errors.Invalid):
            self.open()
        with self.assertRaises(errors.NotFound):
            self.open("bob", "nobody")
        self.bob.is_active = False
        self.bob.save()
        with self.assertRaises(errors.NotFound):
            self.open("bob")
        self.assertFalse(Room.objects.filter(kind=Room.Kind.DIRECT).exists())

    def test_who_left_comes_back_when_it_is_opened_again(self):
        room, _ = self.open("bob")
        services.member_leave(room=room, user=self.bob)
        # Alone, alice still reads it.
        self.assertTrue(services.room_open(slug=room.slug, user=self.alice))
        (again, created), sent = self.captured(lambda: self.open("bob"))
        self.assertEqual((again.pk, created), (room.pk, False))
        self.assertTrue(Membership.objects.filter(room=room, user=self.bob).exists())
        self.assertIn(
            (events.ROOM_JOINED, (f"user:{self.bob.pk}",)),
            [(event.kind, tuple(event.audience.topics())) for event in sent],
        )

    def test_the_state_names_the_others(self):
        room, _ = self.open("carol", "bob")
        [state] = selectors.member_rooms(user=self.alice)
        self.assertEqual(state["kind"], "direct")
        self.assertEqual(
            state["members"],
            [
                {"id": self.bob.pk, "username": "bob", "display_name": ""},
                {"id": self.carol.pk, "username": "carol", "display_name": ""},
            ],
        )
        self.assertEqual(state, selectors.member_room(user=self.alice, room=room))
        general = make_room("General")
        add_member(general, self.alice)
        rooms = {state["slug"]: state for state in selectors.member_rooms(user=self.alice)}
        self.assertEqual(rooms["general"]["kind"], "room")
        self.assertNotIn("members", rooms["general"])


class AccessTests(DirectTestCase):
    def setUp(self):
        super().setUp()
        self.room, _ = self.open("bob")

    def test_outsiders_can_not_see_it(self):
        self.assertFalse(Room.objects.filter(policy.visible_rooms(self.carol)).exists())
        with self.assertRaises(errors.NotFound):
            services.room_open(slug=self.room.slug, user=self.carol)
        self.client.force_login(self.carol)
        page = self.client.get(reverse("chat:room_detail", kwargs={"slug": self.room.slug}))
        self.assertEqual(page.status_code, 404)
        api = self.client.get(reverse("chat:api_room_messages", kwargs={"slug": self.room.slug}))
        self.assertEqual(api.status_code, 404)
        self.assertEqual(self.client.get(reverse("chat:api_rooms")).json(), {"rooms": []})
        with self.assertRaises(errors.NotFound):
            services.message_send(room=self.room, author=self.carol, body="let me in")

    def test_nobody_invites_into_it_not_even_staff(self):
        staff = make_user("staff", is_staff=True)
        for inviter in (self.alice, staff):
            with self.assertRaises(errors.Forbidden):
                services.invitation_create(
                    room=self.room, inviter=inviter, invitee_username="carol"
                )
            with self.assertRaises(errors.Forbidden):
                services.invite_link_create(room=self.room, actor=inviter)

    def test_nobody_moderates_it_but_staff(self):
        with self.assertRaises(errors.Forbidden):
            services.member_ban(room=self.room, actor=self.alice, target=self.bob)
        with self.assertRaises(errors.Forbidden):
            services.member_remove(room=self.room, actor=self.alice, target=self.bob)
        with self.assertRaises(errors.Forbidden):
            services.member_set_role(
                room=self.room, actor=self.alice, target=self.bob, role=Role.OWNER
            )
        staff = make_user("staff", is_staff=True)
        # Staff keep their powers over every room, but a conversation has no roles.
        with self.assertRaises(errors.Forbidden):
            services.member_set_role(room=self.room, actor=staff, target=self.bob, role=Role.OWNER)
        services.member_mute(room=self.room, actor=staff, target=self.bob)
        self.assertTrue(Membership.objects.get(room=self.room, user=self.bob).muted)

    def test_it_has_no_settings(self):
        membership = Membership.objects.get(room=self.room, user=self.alice)
        access = policy.room_access(room=self.room, membership=membership, user=self.alice)
        self.assertTrue(access.direct)
        with self.assertRaises(errors.Forbidden):
            policy.check_manage_room(access)
        self.client.force_login(self.alice)
        url = reverse("chat:room_settings", kwargs={"slug": self.room.slug})
        self.assertIn(self.client.get(url).status_code, (403, 404))


class NotificationTests(DirectTestCase):
    def test_every_message_notifies_the_others_once_per_conversation(self):
        room, _ = self.open("bob")
        _, sent = self.captured(lambda: self.send(room, self.alice, "hi"))
        [first] = direct_notifications(self.bob)
        self.assertEqual(first.reason, "@alice wrote to you")
        self.assertEqual(direct_notifications(self.alice), [])
        self.assertIn(
            ("notification.new", (f"user:{self.bob.pk}",)),
            [(event.kind, tuple(event.audience.topics())) for event in sent],
        )
        message, sent = self.captured(lambda: self.send(room, self.alice, "are you there?"))
        [second] = direct_notifications(self.bob)
        self.assertEqual(second.message_id, message["id"])
        notified = [
            (event.kind, event.data.get("ids"))
            for event in sent
            if event.kind.startswith("notification.")
        ]
        self.assertEqual(
            notified, [("notification.removed", [first.pk]), ("notification.new", None)]
        )
        self.assertEqual(inbox_selectors.unread_count(user=self.bob), 1)

    def test_a_group_message_says_who_else_is_in_it(self):
        room, _ = self.open("carol", "bob")
        self.send(room, self.alice)
        self.assertEqual(
            direct_notifications(self.bob)[0].reason, "@alice wrote in your group with carol"
        )
        self.assertEqual(
            direct_notifications(self.carol)[0].reason, "@alice wrote in your group with bob"
        )

    def test_reading_the_conversation_clears_it(self):
        room, _ = self.open("bob")
        self.send(room, self.alice)
        room.refresh_from_db()
        services.room_mark_read(room=room, user=self.bob, rev=room.rev)
        self.assertTrue(direct_notifications(self.bob)[0].is_read)
        # A read one stays read; the next message notifies again.
        self.send(room, self.alice, "one more")
        self.assertEqual([n.is_read for n in direct_notifications(self.bob)], [False, True])

    def test_muted_or_nothing_silences_it(self):
        room, _ = self.open("bob", "carol")
        inbox_services.room_notify_set(user=self.bob, room=room, muted=True)
        inbox_services.room_notify_set(user=self.carol, room=room, level="nothing")
        self.send(room, self.alice)
        self.assertEqual(direct_notifications(self.bob), [])
        self.assertEqual(direct_notifications(self.carol), [])

    def test_a_mention_is_the_only_notification_of_its_message(self):
        room, _ = self.open("bob")
        self.send(room, self.alice, "hi")
        self.send(room, self.alice, "hey @bob")
        kinds = list(
            Notification.objects.filter(user=self.bob, read_at__isnull=True).values_list(
                "kind", flat=True
            )
        )
        self.assertEqual(kinds, [Notification.Kind.MENTION])

    def test_the_key_is_the_people_sorted(self):
        self.assertEqual(direct_services.direct_key([12, 3, 7, 3]), "3,7,12")


class ApiTests(DirectTestCase):
    def post(self, data, user=None):
        self.client.force_login(user or self.alice)
        return self.client.post(
            reverse("chat:api_direct"), json.dumps(data), content_type="application/json"
        )

    def test_opening_answers_the_state_to_use_with_every_room_endpoint(self):
        response = self.post({"usernames": ["bob"]})
        self.assertEqual(response.status_code, 201)
        body = response.json()
        self.assertTrue(body["created"])
        room = body["room"]
        self.assertEqual(room["kind"], "direct")
        self.assertEqual(
            room["members"], [{"id": self.bob.pk, "username": "bob", "display_name": ""}]
        )
        self.assertEqual(room["url"], f"/rooms/{room['slug']}/")
        again = self.post({"usernames": ["alice"]}, user=self.bob)
        self.assertEqual(again.status_code, 200)
        self.assertEqual(
            (again.json()["room"]["slug"], again.json()["created"]), (room["slug"], False)
        )
        messages = reverse("chat:api_room_messages", kwargs={"slug": room["slug"]})
        sent = self.client.post(
            messages, json.dumps({"body": "hi"}), content_type="application/json"
        )
        self.assertEqual(sent.status_code, 201)
        listed = self.client.get(reverse("chat:api_rooms")).json()["rooms"]
        self.assertEqual(
            [r["members"] for r in listed],
            [[{"id": self.alice.pk, "username": "alice", "display_name": ""}]],
        )

    def test_bad_requests_get_clear_errors(self):
        cases = [
            ({"usernames": "bob"}, 400),
            ({}, 400),
            ({"usernames": ["alice"]}, 400),
            ({"usernames": ["nobody"]}, 404),
            ({"usernames": [f"u{n}" for n in range(9)]}, 400),
        ]
        for data, status in cases:
            response = self.post(data)
            self.assertEqual(response.status_code, status, data)
            self.assertIn("detail", response.json()["error"])
        self.client.logout()
        response = self.client.post(
            reverse("chat:api_direct"), "{}", content_type="application/json"
        )
        self.assertEqual(response.status_code, 401)

    def test_usernames_of_the_wrong_type_are_refused_by_the_schema(self):
        for data in ({"usernames": ["bob", 7]}, {"usernames": "bob"}, {"usernames": None}):
            with self.subTest(data=data):
                response = self.post(data)
                self.assertEqual(response.status_code, 400, response.content)
                self.assertEqual(response.json()["error"]["code"], "bad_frame")
        self.client.force_login(self.alice)
        response = self.client.post(reverse("chat:api_direct"), "", content_type="application/json")
        self.assertEqual(response.json()["error"]["code"], "bad_json")
        self.assertFalse(Room.objects.filter(kind=Room.Kind.DIRECT).exists())

    def test_the_schema_names_the_body_and_the_answers(self):
        schema = self.client.get("/api/schema/").json()
        components = schema["components"]["schemas"]
        operation = schema["paths"]["/api/direct/"]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        fields = components[body.rsplit("/", 1)[1]]
        self.assertEqual(fields["required"], ["usernames"])
        self.assertEqual(fields["properties"]["usernames"]["items"], {"type": "string"})
        for status in ("200", "201"):
            answer = operation["responses"][status]["content"]["application/json"]["schema"]
            room = components[answer["$ref"].rsplit("/", 1)[1]]["properties"]["room"]["$ref"]
            self.assertIn("url", components[room.rsplit("/", 1)[1]]["properties"])

    def test_the_page_is_titled_by_the_others_and_has_no_settings_or_invitations(self):
        room, _ = self.open("bob", "carol")
        self.client.force_login(self.alice)
        page = self.client.get(room.get_absolute_url())
        self.assertEqual(page.status_code, 200)
        html = page.content.decode()
        self.assertIn("<title>bob, carol", html)
        self.assertNotIn(room.name, html.split("data-room-slug")[0])
        self.assertNotIn('data-js="invite"', html)
        self.assertNotIn("room-settings-link", html)
        # The sidebar lists it under "Direct messages", by the others' names.
        self.assertIn("Direct messages", html)
        self.assertIn('class="sidebar-direct"', html)
        # And the room list page lists rooms only.
        listing = self.client.get(reverse("chat:room_list")).content.decode()
        self.assertNotIn(room.slug, listing)


class TabTests(TabTestCase):
    async def test_a_tab_stays_a_fresh_fetch_through_a_conversation(self):
        tab, hello = await self.open_tab(self.bob)
        room, _ = await database_sync_to_async(services.direct_open)(
            starter=self.alice, usernames=["bob"]
        )
        joined = await self.expect(tab, "room.joined")
        self.assertEqual(
            joined["room"]["members"],
            [{"id": self.alice.pk, "username": "alice", "display_name": ""}],
        )
        await database_sync_to_async(services.message_send)(room=room, author=self.alice, body="hi")
        frames = [joined, *await self.frames(tab, 2)]
        await database_sync_to_async(services.message_send)(room=room, author=self.alice, body="2")
        frames += await self.frames(tab, 3)
        self.assertEqual(
            sorted(frame["type"] for frame in frames[3:]),
            ["message.new", "notification.new", "notification.removed"],
        )
        await self.assertCurrent(self.bob, hello, frames)

    async def test_a_tab_follows_a_new_display_name_in_a_conversations_title(self):
        room, _ = await database_sync_to_async(services.direct_open)(
            starter=self.alice, usernames=["bob"]
        )
        tab, hello = await self.open_tab(self.bob)
        await database_sync_to_async(services.profile_update)(
            user=self.alice, display_name="Alice Liddell"
        )
        # One for each room of alice's that bob's tab follows, the conversation among them.
        shared = await database_sync_to_async(
            Membership.objects.filter(user=self.alice, room__memberships__user=self.bob).count
        )()
        frames = await self.frames(tab, shared)
        self.assertEqual({frame["type"] for frame in frames}, {"member.updated"})
        self.assertIn(room.slug, [frame["room"] for frame in frames])
        await self.assertCurrent(self.bob, hello, frames)

    async def test_an_outsiders_socket_is_closed_like_a_missing_room(self):
        carol = await database_sync_to_async(make_user)("carol")
        self.cookies[carol.pk] = await database_sync_to_async(session_cookie)(carol)
        room, _ = await database_sync_to_async(services.direct_open)(
            starter=self.alice, usernames=["bob"]
        )
        socket = await self.connect(carol, f"/ws/rooms/{room.slug}/")
        await self.assertClosed(socket, 4404)
