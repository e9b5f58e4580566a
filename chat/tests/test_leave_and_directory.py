"""Leaving a room, joining a public one, and the directory of public rooms
(docs/protocol.md, "Joining, leaving and the directory")."""

from datetime import timedelta

from channels.db import database_sync_to_async
from django.core.cache import cache
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from chat import events, selectors, services
from chat.errors import Forbidden, Invalid, NotFound, NotMember, RoomArchived
from chat.models import Membership, ModerationAction, Room
from chat.selectors.directory import decode_cursor, encode_cursor

from .factories import add_member, make_message, make_room, make_user
from .test_tab_socket import TabTestCase

Role = Membership.Role


def kinds(sent) -> list[tuple[str, tuple]]:
    """The events sent, as (kind, the topics they went to)."""
    return [(event.kind, tuple(event.audience.topics())) for event in sent]


class ServiceTestCase(TestCase):
    def setUp(self):
        cache.clear()  # rate-limit buckets (joining and leaving)
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.carol = make_user("carol")
        self.room = make_room("General")
        add_member(self.room, self.alice, role=Role.OWNER)
        add_member(self.room, self.bob)

    def sent_by(self, write):
        """Run `write` in a committed transaction; return the events it sent."""
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            write()
        return sent


class LeaveTests(ServiceTestCase):
    def test_a_member_leaves_and_the_room_hears_it(self):
        make_message(self.room, self.alice, "unread by bob")
        sent = self.sent_by(lambda: services.member_leave(room=self.room, user=self.bob))
        self.assertFalse(Membership.objects.filter(room=self.room, user=self.bob).exists())
        # A public room: no rooms.removed (bob still sees it listed), only the room's event.
        self.assertEqual(kinds(sent), [(events.MEMBER_REMOVED, (f"room:{self.room.pk}",))])
        self.assertEqual(sent[0].data["reason"], "left")
        self.assertEqual(
            sent[0].data["user"], {"id": self.bob.pk, "username": "bob", "display_name": ""}
        )
        # Leaving is not moderation.
        self.assertFalse(ModerationAction.objects.exists())
        # The read marker went with the membership: the room is no longer among his.
        self.assertEqual(selectors.member_rooms(user=self.bob), [])

    def test_leaving_a_private_room_takes_it_from_the_list_and_from_view(self):
        secret = make_room("Secret", is_private=True)
        add_member(secret, self.alice, role=Role.OWNER)
        add_member(secret, self.bob)
        sent = self.sent_by(lambda: services.member_leave(room=secret, user=self.bob))
        self.assertEqual(
            kinds(sent),
            [
                (events.MEMBER_REMOVED, (f"room:{secret.pk}",)),
                (events.ROOMS_REMOVED, (f"user:{self.bob.pk}",)),
            ],
        )
        self.assertEqual(sent[1].data, {"room": {"slug": "secret"}})
        # Coming back needs a new invitation: he no longer sees the room at all.
        self.assertNotIn(secret, selectors.room_list_for_user(user=self.bob))
        with self.assertRaises(NotFound):
            services.room_open(slug="secret", user=self.bob)
        with self.assertRaises(NotFound):
            services.member_join(room=secret, user=self.bob)

    def test_the_only_owner_cannot_leave_while_others_remain(self):
        with self.assertRaisesMessage(Forbidden, "hand ownership to someone first"):
            services.member_leave(room=self.room, user=self.alice)
        self.assertTrue(Membership.objects.filter(room=self.room, user=self.alice).exists())
        # Another owner makes it possible.
        Membership.objects.filter(room=self.room, user=self.bob).update(role=Role.OWNER)
        services.member_leave(room=self.room, user=self.alice)
        self.assertFalse(Membership.objects.filter(room=self.room, user=self.alice).exists())

    def test_the_last_one_out_may_leave_owner_or_not(self):
        services.member_leave(room=self.room, user=self.bob)
        # Only a banned person remains besides the owner: banned people are no members.
        add_member(self.room, self.carol, banned=True)
        sent = self.sent_by(lambda: services.member_leave(room=self.room, user=self.alice))
        self.assertEqual([event.data["reason"] for event in sent], ["left"])
        self.assertEqual(Membership.objects.filter(room=self.room, banned=False).count(), 0)

    def test_someone_who_is_not_a_member_cannot_leave(self):
        dave = make_user("dave")
        add_member(self.room, dave, banned=True)  # a ban is no membership to leave
        for user in (self.carol, dave):
            with self.assertRaisesMessage(NotMember, "not a member"):
                services.member_leave(room=self.room, user=user)
        self.assertTrue(Membership.objects.filter(room=self.room, user=dave, banned=True).exists())


class JoinTests(ServiceTestCase):
    def test_joining_a_public_room_tells_every_tab_and_the_room(self):
        make_message(self.room, self.alice, "before carol came")
        sent = self.sent_by(lambda: services.member_join(room=self.room, user=self.carol))
        self.assertEqual(
            kinds(sent),
            [
                (events.MEMBER_UPDATED, (f"room:{self.room.pk}",)),
                (events.ROOMS_UPDATED, (f"user:{self.carol.pk}",)),
                (events.ROOM_JOINED, (f"user:{self.carol.pk}",)),
            ],
        )
        self.assertEqual(sent[2].data, {"room_id": self.room.pk, "slug": "general"})
        state = selectors.member_room(user=self.carol, room=self.room)
        self.assertEqual((state["role"], state["unread"]), ("member", 0))  # history is read

    def test_joining_again_changes_nothing(self):
        membership, joined = services.member_join(room=self.room, user=self.bob)
        self.assertFalse(joined)
        self.assertEqual(membership.user, self.bob)
        self.assertEqual(
            self.sent_by(lambda: services.member_join(room=self.room, user=self.bob)), []
        )

    def test_refusals(self):
        secret = make_room("Secret", is_private=True)
        archived = make_room("Old", is_archived=True)
        add_member(self.room, self.carol, banned=True)
        add_member(secret, self.carol, banned=True)
        with self.assertRaisesMessage(Forbidden, "You are banned from this room."):
            services.member_join(room=self.room, user=self.carol)
        # A private room is missing to whoever is not in it, banned or not.
        for user in (self.carol, self.bob):
            with self.assertRaisesMessage(NotFound, "No such room."):
                services.member_join(room=secret, user=user)
        with self.assertRaises(RoomArchived):
            services.member_join(room=archived, user=self.bob)
        self.assertFalse(Membership.objects.filter(user=self.bob).exclude(room=self.room).exists())


class DirectoryTests(ServiceTestCase):
    def setUp(self):
        super().setUp()
        self.now = timezone.now().replace(microsecond=123456)

    def active(self, room, minutes_ago):
        at = None if minutes_ago is None else self.now - timedelta(minutes=minutes_ago)
        Room.objects.filter(pk=room.pk).update(last_activity_at=at)

    def slugs(self, page):
        return [room["slug"] for room in page["rooms"]]

    def test_public_rooms_newest_activity_first_with_counts_and_my_membership(self):
        self.active(self.room, 5)
        python = make_room("Python", topic="Snakes and ladders")
        self.active(python, 1)
        quiet = make_room("Quiet")  # never active: last
        add_member(python, self.carol)
        add_member(python, self.bob, banned=True)  # not counted
        secret = make_room("Secret", is_private=True)  # never listed, even to its members
        add_member(secret, self.bob)
        make_room("Old", is_archived=True)  # not listed
        with self.assertNumQueries(1):
            page = selectors.room_directory(user=self.bob)
        self.assertEqual(self.slugs(page), ["general", "quiet"])  # bob is banned from python
        page = selectors.room_directory(user=self.carol)
        self.assertEqual(self.slugs(page), ["python", "general", "quiet"])
        self.assertEqual(
            page["rooms"][0],
            {
                "slug": "python",
                "name": "Python",
                "topic": "Snakes and ladders",
                "members": 1,
                "last_activity_at": page["rooms"][0]["last_activity_at"],
                "member": True,
            },
        )
        self.assertTrue(page["rooms"][0]["last_activity_at"].endswith("Z"))
        self.assertEqual((page["rooms"][1]["members"], page["rooms"][1]["member"]), (2, False))
        self.assertEqual(page["rooms"][2]["last_activity_at"], None)
        self.assertIsNone(page["next"])
        self.assertEqual(quiet.slug, self.slugs(page)[-1])

    def test_search_by_name_and_topic_ignoring_case_every_word(self):
        make_room("Python", topic="Snakes and LADDERS")
        make_room("Ladder club")
        make_room("100% real_talk")
        self.assertEqual(
            sorted(self.slugs(selectors.room_directory(user=self.bob, query="  ladder "))),
            ["ladder-club", "python"],
        )
        self.assertEqual(
            self.slugs(selectors.room_directory(user=self.bob, query="PYTHON snakes")), ["python"]
        )
        # LIKE's wildcards are plain characters in a search.
        self.assertEqual(
            self.slugs(selectors.room_directory(user=self.bob, query="0%")), ["100-real_talk"]
        )
        self.assertEqual(self.slugs(selectors.room_directory(user=self.bob, query="l_d")), [])

    def test_keyset_pages_neither_repeat_nor_skip_while_rooms_become_active(self):
        rooms = [make_room(f"Room {i}") for i in range(7)]
        for i, room in enumerate(rooms):
            self.active(room, 100 - i)  # room 6 is the newest
        self.active(self.room, None)
        never = make_room("Never")  # never active, like General: by id, newest first
        first = selectors.room_directory(user=self.bob, limit=3)
        self.assertEqual(self.slugs(first), ["room-6", "room-5", "room-4"])
        # Meanwhile a room already shown and one not yet shown become the most active.
        self.active(rooms[5], 0)
        self.active(rooms[1], 0)
        second = selectors.room_directory(user=self.bob, limit=3, after=first["next"])
        third = selectors.room_directory(user=self.bob, limit=3, after=second["next"])
        self.assertEqual(self.slugs(second), ["room-3", "room-2", "room-0"])
        self.assertEqual(self.slugs(third), [never.slug, "general"])
        self.assertIsNone(third["next"])
        seen = self.slugs(first) + self.slugs(second) + self.slugs(third)
        self.assertEqual(len(seen), len(set(seen)))
        # The room that moved ahead of the cursor is at the top of a new search instead.
        self.assertEqual(set(seen) | {"room-1"}, {room.slug for room in Room.objects.all()})
        self.assertEqual(
            self.slugs(selectors.room_directory(user=self.bob, limit=2)), ["room-5", "room-1"]
        )

    def test_rooms_active_at_the_same_moment_page_by_id(self):
        same = [make_room(f"Tie {i}") for i in range(5)]
        for room in same:
            self.active(room, 3)
        self.active(self.room, 1)
        seen, after = [], None
        while True:
            page = selectors.room_directory(user=self.bob, limit=2, after=after)
            seen += self.slugs(page)
            after = page["next"]
            if after is None:
                break
        self.assertEqual(seen, ["general"] + [room.slug for room in reversed(same)])

    def test_cursors_are_opaque_and_checked(self):
        when = self.now
        self.assertEqual(decode_cursor(encode_cursor(when, 42)), (when, 42))
        self.assertEqual(decode_cursor(encode_cursor(None, 7)), (None, 7))
        for bad in ["", "nope", "W10", encode_cursor(None, 1)[:-3] + "!!!", "e30", "WyJ4IiwxXQ"]:
            with self.assertRaises(Invalid):
                decode_cursor(bad)


class ApiTests(TestCase):
    def setUp(self):
        cache.clear()  # rate-limit buckets (joining and leaving)
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.room = make_room("General", topic="Everything")
        add_member(self.room, self.alice, role=Role.OWNER)
        add_member(self.room, self.bob)
        self.client.force_login(self.bob)

    def url(self, name, **kwargs):
        return reverse(f"chat:{name}", kwargs=kwargs)

    def post(self, name, slug):
        return self.client.post(self.url(name, slug=slug), content_type="application/json")

    def test_leave(self):
        response = self.post("api_room_leave", "general")
        self.assertEqual((response.status_code, response.json()), (200, {"left": "general"}))
        # Again: no longer a member.
        response = self.post("api_room_leave", "general")
        self.assertEqual(response.status_code, 409)
        self.assertEqual(response.json()["error"]["code"], "not_member")
        self.assertEqual(self.post("api_room_leave", "nowhere").status_code, 404)
        secret = make_room("Secret", is_private=True)
        self.assertEqual(self.post("api_room_leave", secret.slug).status_code, 404)
        self.assertEqual(
            self.client.get(self.url("api_room_leave", slug="general")).status_code, 405
        )

    def test_the_only_owner_is_told_what_to_do(self):
        self.client.force_login(self.alice)
        response = self.post("api_room_leave", "general")
        self.assertEqual(response.status_code, 403)
        self.assertEqual(response.json()["error"]["code"], "forbidden")
        self.assertIn("hand ownership to someone first", response.json()["error"]["detail"])

    def test_join(self):
        carol = make_user("carol")
        self.client.force_login(carol)
        response = self.post("api_room_join", "general")
        self.assertEqual(response.status_code, 201)
        self.assertEqual(response.json()["joined"], "general")
        self.assertEqual(response.json()["room"]["slug"], "general")
        self.assertEqual(self.post("api_room_join", "general").status_code, 200)

        secret = make_room("Secret", is_private=True)
        archived = make_room("Old", is_archived=True)
        banned_from = make_room("Rowdy")
        add_member(banned_from, carol, banned=True)
        cases = [
            ("nowhere", 404, "not_found"),
            (secret.slug, 404, "not_found"),
            (archived.slug, 409, "room_archived"),
            (banned_from.slug, 403, "forbidden"),
        ]
        for slug, status, code in cases:
            with self.subTest(slug=slug):
                response = self.post("api_room_join", slug)
                self.assertEqual(response.status_code, status)
                self.assertEqual(response.json()["error"]["code"], code)
        self.assertEqual(
            self.post("api_room_join", banned_from.slug).json()["error"]["detail"],
            "You are banned from this room.",
        )

    def test_directory(self):
        for i in range(3):
            make_room(f"Topic {i}", topic="chatter")
        response = self.client.get(self.url("api_room_directory"), {"q": "CHATTER", "limit": 2})
        self.assertEqual(response.status_code, 200)
        page = response.json()
        self.assertEqual(len(page["rooms"]), 2)
        rest = self.client.get(
            self.url("api_room_directory"), {"q": "chatter", "after": page["next"]}
        ).json()
        self.assertEqual(len(rest["rooms"]), 1)
        self.assertIsNone(rest["next"])
        everything = self.client.get(self.url("api_room_directory")).json()
        general = next(room for room in everything["rooms"] if room["slug"] == "general")
        self.assertEqual((general["members"], general["member"]), (2, True))

    def test_directory_refuses_bad_input_with_json(self):
        for params in [
            {"limit": "0"},
            {"limit": "51"},
            {"limit": "x"},
            {"after": "garbage"},
            {"q": "x" * 101},
        ]:
            with self.subTest(params=params):
                response = self.client.get(self.url("api_room_directory"), params)
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.json()["error"]["code"], "bad_frame")
        self.client.logout()
        self.assertEqual(self.client.get(self.url("api_room_directory")).status_code, 401)
        self.assertEqual(self.post("api_room_join", "general").status_code, 401)
        self.assertEqual(self.post("api_room_leave", "general").status_code, 401)

    def test_the_directory_reads_its_query_by_its_schema(self):
        make_room("Chatter", topic="talk")
        # Spaces around the search are no part of it; an empty cursor is the first page.
        response = self.client.get(self.url("api_room_directory"), {"q": "  talk ", "after": ""})
        self.assertEqual([room["slug"] for room in response.json()["rooms"]], ["chatter"])
        for limit in ("1.0", "true", "+1", " 1"):
            with self.subTest(limit=limit):
                response = self.client.get(self.url("api_room_directory"), {"limit": limit})
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.json()["error"]["code"], "bad_frame")
        schema = self.client.get("/api/schema/").json()
        operation = schema["paths"]["/api/rooms/directory/"]["get"]
        parameters = {parameter["name"]: parameter for parameter in operation["parameters"]}
        self.assertEqual(set(parameters), {"q", "after", "limit"})
        limit = parameters["limit"]["schema"]["anyOf"][0]
        self.assertEqual((limit["type"], limit["minimum"], limit["maximum"]), ("integer", 1, 50))
        self.assertTrue(all(parameter["description"] for parameter in parameters.values()))

    def test_join_and_leave_take_no_body_and_describe_their_answers(self):
        schema = self.client.get("/api/schema/").json()
        for path, statuses in [
            ("/api/rooms/{slug}/join/", {"200", "201"}),
            ("/api/rooms/{slug}/leave/", {"200"}),
        ]:
            with self.subTest(path=path):
                operation = schema["paths"][path]["post"]
                self.assertNotIn("requestBody", operation)
                answers = {status for status in operation["responses"] if status < "300"}
                self.assertEqual(answers, statuses)
        # Whatever body is sent is no part of it.
        response = self.client.post(
            self.url("api_room_leave", slug="general"), "[1]", content_type="application/json"
        )
        self.assertEqual(response.json(), {"left": "general"})


class DirectoryPageTests(TestCase):
    def setUp(self):
        self.bob = make_user("bob")
        self.client.force_login(self.bob)

    def test_the_page_searches_and_pages_without_javascript(self):
        for i in range(25):
            make_room(f"Book club {i:02d}", topic="<b>reading</b>")
        make_room("Other")
        page = self.client.get(reverse("chat:room_directory"), {"q": "book"})
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, 'class="room-card directory-room"', count=20)
        self.assertContains(page, "&lt;b&gt;reading&lt;/b&gt;")  # escaped
        self.assertNotContains(page, ">Other<")
        self.assertContains(page, "Load more")
        after = page.context["page"]["next"]
        rest = self.client.get(reverse("chat:room_directory"), {"q": "book", "after": after})
        self.assertContains(rest, 'class="room-card directory-room"', count=5)
        broken = self.client.get(reverse("chat:room_directory"), {"after": "garbage"})
        self.assertContains(broken, "is not a cursor of the directory")

    def test_linked_from_the_room_list_and_the_sidebar(self):
        room = make_room("General")
        directory = reverse("chat:room_directory")
        self.assertContains(self.client.get(reverse("chat:room_list")), f'href="{directory}"')
        self.assertContains(self.client.get(room.get_absolute_url()), f'href="{directory}"')

    def test_no_room_takes_the_directory_s_address(self):
        room = services.room_create(name="Directory", created_by=self.bob)
        self.assertNotEqual(room.slug, "directory")
        self.assertEqual(self.client.get(room.get_absolute_url()).status_code, 200)


class LeaveOnSocketsTests(TabTestCase):
    """The tab socket and a protocol 1 socket of someone who leaves."""

    async def test_every_tab_loses_the_room_with_reason_left(self):
        tab, hello = await self.open_tab(self.bob)
        await database_sync_to_async(services.member_leave)(room=self.random, user=self.bob)
        closed = await self.expect(tab, "room.closed", room="random", reason="left")
        self.assertEqual(closed["detail"], "You left Random.")
        await self.assertCurrent(self.bob, hello, [closed])
        # It no longer hears the room; the others go on.
        await self.send("in random", room=self.random)
        await self.send("in general")
        await self.expect(tab, "message.new", room="general")

    async def test_a_private_room_left_goes_from_every_list(self):
        secret = await database_sync_to_async(make_room)("Secret", is_private=True)
        await database_sync_to_async(add_member)(secret, self.bob)
        tab, hello = await self.open_tab(self.bob)
        await database_sync_to_async(services.member_leave)(room=secret, user=self.bob)
        frames = await self.frames(tab, 2)
        self.assertEqual(
            sorted((frame["type"], frame.get("reason")) for frame in frames),
            [("room.closed", "left"), ("rooms.removed", None)],
        )
        await self.assertCurrent(self.bob, hello, frames)

    async def test_a_protocol_1_socket_of_the_leaver_closes_and_others_hear_it(self):
        bob_socket, _ = await self.join(self.bob)
        alice_socket, _ = await self.join(self.alice, others=[bob_socket])
        await database_sync_to_async(services.member_leave)(room=self.room, user=self.bob)
        await self.expect(bob_socket, "room.closed", reason="left", detail="You left General.")
        await self.assertClosed(bob_socket, 4403)
        removed = await self.expect(alice_socket, "member.removed", reason="left")
        self.assertEqual(removed["user"]["username"], "bob")
