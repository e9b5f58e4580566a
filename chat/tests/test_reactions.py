"""Reactions: the service's rules, the emoji rule, the record in pages and catch-up (and
what they cost), the HTTP API, both sockets, and catch-up after a reconnect."""

import json
from datetime import timedelta
from urllib.parse import quote

from channels.db import database_sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.test import Client, TestCase, override_settings
from django.urls import reverse
from django.utils import timezone

from chat import errors, events, selectors, services, snapshot
from chat.models import Membership, Reaction, Room
from chat.realtime import protocol
from chat.records import (
    REACTION_NAMES_MAX,
    REACTIONS_MAX_BYTES,
    message_data,
    reactions_of_rows,
)
from chat.rendering import HTML_MAX_BYTES
from chat.services.reactions import REACTIONS_MAX
from chat.validation import clean_emoji
from notifications.models import Notification

from .factories import add_member, make_message, make_messages, make_room, make_user
from .test_consumers import SocketTestCase
from .test_tab_socket import TabTestCase

# One emoji each: what a keyboard or the picker gives.
EMOJI = [
    "👍", "👍🏽", "❤️", "❤", "🇫🇷", "1️⃣", "#️⃣", "*⃣", "👨‍👩‍👧‍👦", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "👩🏽‍💻",
    "🧑‍🤝‍🧑", "☺️", "✅", "🫠", "🎉", "🙏🏿", "🏳️‍🌈", "🏳️‍⚧️", "😶‍🌫️", "❤️‍🔥", "🤷‍♀️", "🀄",
]  # fmt: skip
# Text, two emoji, pieces of one, or one with something around it.
NOT_EMOJI = [
    "", "a", "1", "ok", "+1", ":thumbsup:", "👍👍", " 👍", "👍 ", "👍\n", "\u200d", "\ufe0f",
    "👍a", "a👍", "🇫", "🇫🇷🇫", "\x00", "<b>", "1️", "\u20e3", "👍\u200d", "\U000e007f",
    "🏻🏻", "👍" * 40, "\ud83d", 5, None, ["👍"], {"emoji": "👍"}, True,
]  # fmt: skip
# Twenty-one different emoji.
MANY = list("😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗😙🥲😚🙂🤗")


class EmojiRuleTestCase(TestCase):
    def test_one_emoji_is_accepted_as_it_is(self):
        for emoji in EMOJI:
            with self.subTest(emoji=emoji):
                self.assertEqual(clean_emoji(emoji), emoji)

    def test_anything_else_is_refused(self):
        for value in NOT_EMOJI:
            with self.subTest(value=value), self.assertRaises(errors.Invalid):
                clean_emoji(value)


class ReactionRecordTestCase(TestCase):
    """However many people react, with whatever names, a message still fits a frame."""

    def rows(self, emoji_count: int, people: int, name_length: int):
        long_name = "ü" * name_length
        return [
            (1, emoji, user_id, f"{user_id}{long_name}"[:150], long_name[:64])
            for emoji in MANY[:emoji_count]
            for user_id in range(1_000_000, 1_000_000 + people)
        ]

    def test_few_short_names_are_kept_whole(self):
        (reactions,) = reactions_of_rows(self.rows(3, 4, 5)).values()
        self.assertEqual([len(r["users"]) for r in reactions], [4, 4, 4])

    def test_long_names_and_many_people_are_cut_to_the_budget_counts_exact(self):
        for people, name_length in ((REACTION_NAMES_MAX, 150), (400, 10), (3000, 150)):
            with self.subTest(people=people, name_length=name_length):
                (reactions,) = reactions_of_rows(self.rows(20, people, name_length)).values()
                self.assertLessEqual(len(json.dumps(reactions).encode()), REACTIONS_MAX_BYTES)
                self.assertEqual([r["count"] for r in reactions], [people] * 20)
                self.assertEqual(len(reactions), 20)

    def test_a_largest_message_with_its_reactions_fits_a_frame(self):
        (reactions,) = reactions_of_rows(self.rows(20, 3000, 150)).values()
        frame = {
            "type": "message.reactions",
            "room": "general",
            "message": {
                "id": 1, "rev": 2, "body": "\u0001" * settings.CHAT_BODY_MAX,
                "html": "x" * HTML_MAX_BYTES, "reactions": reactions,
            },
        }  # fmt: skip
        self.assertLessEqual(len(protocol.encode(frame).encode()), settings.CHAT_SEND_FRAME_MAX)


class ReactionServiceTestCase(TestCase):
    def setUp(self):
        cache.clear()  # the rate limit's buckets
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.room = make_room("General")
        add_member(self.room, self.alice)
        add_member(self.room, self.bob)
        self.message = make_message(self.room, self.alice, "hello")

    def react(self, emoji="👍", *, user=None, on=True, message=None, room=None):
        return services.reaction_set(
            room=room or self.room,
            user=user or self.bob,
            message_id=(message or self.message).pk,
            emoji=emoji,
            on=on,
        )

    def room_rev(self) -> int:
        return Room.objects.get(pk=self.room.pk).rev

    def assertRefused(self, error_class, **kwargs):
        rev = self.room_rev()
        with self.assertRaises(error_class) as caught:
            self.react(**kwargs)
        self.assertTrue(caught.exception.detail)
        self.assertEqual(self.room_rev(), rev, "a refusal takes no revision")
        return caught.exception

    def test_adding_takes_a_revision_and_tells_the_room(self):
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            data = self.react("👍")
        self.assertEqual(self.room_rev(), 2)
        self.assertEqual((data["id"], data["rev"], data["created_rev"]), (self.message.pk, 2, 1))
        self.assertEqual(
            data["reactions"],
            [
                {
                    "emoji": "👍",
                    "count": 1,
                    "user_ids": [self.bob.pk],
                    "users": [{"id": self.bob.pk, "username": "bob", "display_name": ""}],
                }
            ],
        )
        self.assertEqual(
            sent,
            [
                events.Event(
                    events.MESSAGE_REACTIONS, {"message": data}, events.to_room(self.room.pk)
                )
            ],
        )
        self.assertEqual(data["edited_at"], None, "a reaction is not an edit")

    def test_adding_twice_and_taking_back_what_is_not_there_change_nothing(self):
        first = self.react("👍")
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            again = self.react("👍")
            absent = self.react("🎉", on=False)
        self.assertEqual(again, first)
        self.assertEqual(absent, first)
        self.assertEqual(sent, [])
        self.assertEqual(self.room_rev(), 2)
        self.assertEqual(Reaction.objects.count(), 1)

    def test_taking_back_takes_a_revision(self):
        self.react("👍")
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            data = self.react("👍", on=False)
        self.assertEqual((data["rev"], data["reactions"]), (3, []))
        self.assertEqual([event.kind for event in sent], [events.MESSAGE_REACTIONS])
        self.assertFalse(Reaction.objects.exists())

    def test_counts_and_people_in_the_order_of_the_first_reaction(self):
        self.react("👍", user=self.bob)
        self.react("🎉", user=self.alice)
        data = self.react("👍", user=self.alice)
        self.assertEqual(
            [(r["emoji"], r["count"], r["user_ids"]) for r in data["reactions"]],
            [("👍", 2, [self.bob.pk, self.alice.pk]), ("🎉", 1, [self.alice.pk])],
        )
        self.assertEqual([u["username"] for u in data["reactions"][0]["users"]], ["bob", "alice"])

    def test_names_are_capped_and_the_count_stays_exact(self):
        people = [make_user(f"fan{i:02d}") for i in range(REACTION_NAMES_MAX + 5)]
        for person in people:
            data = self.react("👍", user=person)
        (reaction,) = data["reactions"]
        self.assertEqual(reaction["count"], len(people))
        self.assertEqual(reaction["user_ids"], [person.pk for person in people])
        self.assertEqual(
            [user["id"] for user in reaction["users"]],
            [person.pk for person in people[:REACTION_NAMES_MAX]],
        )

    @override_settings(CHAT_RATE_MESSAGES=100)
    def test_at_most_twenty_different_emoji_and_more_people_on_them(self):
        for emoji in MANY[:REACTIONS_MAX]:
            self.react(emoji)
        error = self.assertRefused(errors.TooManyReactions, emoji=MANY[REACTIONS_MAX])
        self.assertEqual(error.code, "too_many_reactions")
        # One already there can be added by more people, and taken back.
        data = self.react(MANY[0], user=self.alice)
        self.assertEqual((data["reactions"][0]["count"], len(data["reactions"])), (2, 20))
        self.react(MANY[1], on=False)
        data = self.react(MANY[REACTIONS_MAX], user=self.alice)
        self.assertEqual(data["reactions"][-1]["emoji"], MANY[REACTIONS_MAX])

    def test_reacting_is_posting(self):
        Membership.objects.filter(room=self.room, user=self.bob).update(muted=True)
        self.assertRefused(errors.Muted)
        Membership.objects.filter(room=self.room, user=self.bob).update(
            muted=True, muted_until=timezone.now() - timedelta(minutes=1)
        )
        self.react()  # a mute that has ended
        Membership.objects.filter(room=self.room, user=self.bob).update(banned=True)
        self.assertRefused(errors.NotFound)
        Membership.objects.filter(room=self.room, user=self.bob).update(banned=False)
        Room.objects.filter(pk=self.room.pk).update(is_archived=True)
        self.assertRefused(errors.RoomArchived, on=False)

    def test_a_private_room_refuses_who_is_not_in_it(self):
        secret = make_room("Secret", is_private=True)
        add_member(secret, self.alice)
        message = make_message(secret, self.alice, "psst")
        self.assertRefused(errors.NotFound, room=secret, message=message)
        self.assertFalse(Reaction.objects.exists())

    def test_a_reader_of_a_public_room_reacts_without_joining(self):
        reader = make_user("carol")
        self.react(user=reader)
        self.assertFalse(Membership.objects.filter(user=reader).exists())

    def test_not_on_a_deleted_message_nor_one_of_another_room(self):
        other = make_room("Random")
        elsewhere = make_message(other, self.alice, "there")
        self.assertRefused(errors.NotFound, message=elsewhere)
        services.message_delete(room=self.room, user=self.alice, message_id=self.message.pk)
        self.assertRefused(errors.NotFound)

    def test_a_bad_emoji_stores_nothing(self):
        for value in ("ok", "👍👍", ""):
            self.assertRefused(errors.Invalid, emoji=value)
        self.assertFalse(Reaction.objects.exists())

    def test_shares_the_sending_rate_limit(self):
        with override_settings(CHAT_RATE_MESSAGES=1):
            services.message_send(room=self.room, author=self.bob, body="one")
            self.assertRefused(errors.RateLimited)

    def test_never_unread_never_notified(self):
        before = {room["slug"]: room for room in selectors.member_rooms(user=self.alice)}
        self.react("👍")
        after = {room["slug"]: room for room in selectors.member_rooms(user=self.alice)}
        self.assertEqual(after["general"]["unread"], before["general"]["unread"])
        self.assertEqual(after["general"]["rev"], 2)
        self.assertFalse(Notification.objects.exists())

    def test_a_snapshot_moves_only_its_revision(self):
        rooms = {room["slug"]: room for room in selectors.member_rooms(user=self.alice)}
        data = self.react("👍")
        applied = snapshot.apply_event(
            rooms, events.MESSAGE_REACTIONS, {"message": data}, me=self.alice.pk
        )
        fresh = {room["slug"]: room for room in selectors.member_rooms(user=self.alice)}
        self.assertEqual(applied, fresh)
        self.assertEqual(applied["general"]["rev"], 2)

    def test_an_edit_keeps_them_and_a_deletion_removes_them(self):
        self.react("👍")
        edited = services.message_edit(
            room=self.room, user=self.alice, message_id=self.message.pk, body="hello again"
        )
        self.assertEqual([r["emoji"] for r in edited["reactions"]], ["👍"])
        unchanged = services.message_edit(
            room=self.room, user=self.alice, message_id=self.message.pk, body="hello again"
        )
        self.assertEqual(unchanged, edited)  # no change: the message as it is, reactions too
        deleted = services.message_delete(
            room=self.room, user=self.alice, message_id=self.message.pk
        )
        self.assertEqual(deleted["reactions"], [])
        self.assertFalse(Reaction.objects.exists())

    def test_a_resend_answers_with_the_reactions(self):
        sent, _ = services.message_send(room=self.room, author=self.alice, body="x", client_id="c")
        self.react("👍", message=Room.objects.get(pk=self.room.pk).messages.get(pk=sent["id"]))
        again, created = services.message_send(
            room=self.room, author=self.alice, body="x", client_id="c"
        )
        self.assertIs(created, False)
        self.assertEqual([r["emoji"] for r in again["reactions"]], ["👍"])


class ReactionReadsTestCase(TestCase):
    """Pages and catch-up carry reactions, for one extra query however many messages."""

    def setUp(self):
        cache.clear()
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.room = make_room("General")
        add_member(self.room, self.alice)
        add_member(self.room, self.bob)
        self.messages = make_messages(self.room, self.alice, 30)

    def react(self, message, emoji, user):
        return services.reaction_set(
            room=self.room, user=user, message_id=message.pk, emoji=emoji, on=True
        )

    def test_a_page_carries_each_message_as_live_frames_do(self):
        for message in self.messages[::3]:
            self.react(message, "👍", self.bob)
            live = self.react(message, "🎉", self.alice)
        page = selectors.message_page(room=self.room)
        by_id = {m["id"]: m for m in page["messages"]}
        self.assertEqual(by_id[live["id"]], live)
        for message in self.messages:
            expected = message_data(message.__class__.objects.get(pk=message.pk))
            self.assertEqual(by_id[message.pk], expected)
        self.assertEqual(sum(1 for m in page["messages"] if m["reactions"]), 10)

    def test_one_query_more_per_page_not_per_message(self):
        with self.assertNumQueries(1):
            selectors.message_page(room=self.room)  # nothing reacted to: nothing to ask
        for message in self.messages[::3]:
            self.react(message, "👍", self.bob)
        with self.assertNumQueries(2):
            page = selectors.message_page(room=self.room)
        self.assertEqual(sum(1 for m in page["messages"] if m["reactions"]), 10)
        with self.assertNumQueries(3):  # the room's revision, the messages, their reactions
            batch = selectors.messages_since(room=self.room, since=0)
        self.assertEqual(sum(1 for m in batch["messages"] if m["reactions"]), 10)

    def test_catch_up_brings_a_reaction_and_its_removal(self):
        rev = Room.objects.get(pk=self.room.pk).rev
        self.react(self.messages[0], "👍", self.bob)
        batch = selectors.messages_since(room=self.room, since=rev)
        self.assertEqual(
            [(m["id"], [r["emoji"] for r in m["reactions"]]) for m in batch["messages"]],
            [(self.messages[0].pk, ["👍"])],
        )
        services.reaction_set(
            room=self.room, user=self.bob, message_id=self.messages[0].pk, emoji="👍", on=False
        )
        batch = selectors.messages_since(room=self.room, since=batch["rev"])
        self.assertEqual([m["reactions"] for m in batch["messages"]], [[]])


class ReactionApiTestCase(TestCase):
    def setUp(self):
        cache.clear()
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.room = make_room("General")
        add_member(self.room, self.alice)
        add_member(self.room, self.bob)
        self.message = make_message(self.room, self.alice, "hello")
        self.client.force_login(self.bob)

    def url(self, emoji="👍", *, message_id=None, slug="general"):
        kwargs = {"slug": slug, "message_id": message_id or self.message.pk, "emoji": emoji}
        return reverse("chat:api_message_reaction", kwargs=kwargs)

    def assertError(self, response, status, code):
        self.assertEqual(response.status_code, status, response.content)
        self.assertEqual(response.json()["error"]["code"], code)

    def test_put_adds_and_delete_takes_back_both_idempotent(self):
        for _ in range(2):
            response = self.client.put(self.url())
            self.assertEqual(response.status_code, 200)
            reactions = response.json()["message"]["reactions"]
            self.assertEqual(
                [(r["emoji"], r["user_ids"]) for r in reactions], [("👍", [self.bob.pk])]
            )
        self.assertEqual(Room.objects.get(pk=self.room.pk).rev, 2)
        for _ in range(2):
            response = self.client.delete(self.url())
            self.assertEqual(response.status_code, 200)
            self.assertEqual(response.json()["message"]["reactions"], [])
        self.assertEqual(Room.objects.get(pk=self.room.pk).rev, 3)

    def test_the_emoji_is_percent_encoded_in_the_path(self):
        path = f"/api/rooms/general/messages/{self.message.pk}/reactions/{quote('#️⃣')}/"
        self.assertEqual(path, self.url("#️⃣"))
        response = self.client.put(path)
        self.assertEqual(response.json()["message"]["reactions"][0]["emoji"], "#️⃣")

    def test_refusals(self):
        self.assertError(self.client.put(self.url("ok")), 400, "bad_frame")
        self.assertError(self.client.put(self.url(message_id=999999)), 404, "not_found")
        self.assertError(self.client.put(self.url(slug="nowhere")), 404, "not_found")
        self.assertEqual(self.client.get(self.url()).status_code, 405)
        self.assertEqual(self.client.post(self.url()).status_code, 405)
        Room.objects.filter(pk=self.room.pk).update(is_archived=True)
        self.assertError(self.client.put(self.url()), 409, "room_archived")
        self.assertError(Client().put(self.url()), 401, "unauthenticated")
        self.assertFalse(Reaction.objects.exists())

    def test_a_private_room_is_not_found_by_others(self):
        secret = make_room("Secret", is_private=True)
        add_member(secret, self.alice)
        message = make_message(secret, self.alice, "psst")
        response = self.client.put(self.url(slug="secret", message_id=message.pk))
        self.assertError(response, 404, "not_found")

    @override_settings(CHAT_RATE_MESSAGES=100)
    def test_a_twenty_first_emoji_is_a_conflict(self):
        for emoji in MANY[:REACTIONS_MAX]:
            self.client.put(self.url(emoji))
        self.assertError(self.client.put(self.url(MANY[REACTIONS_MAX])), 409, "too_many_reactions")

    def test_needs_the_csrf_token(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.bob)
        self.assertEqual(client.put(self.url()).status_code, 403)
        self.assertFalse(Reaction.objects.exists())

    def test_the_schema_describes_both_methods_without_a_body(self):
        schema = self.client.get("/api/schema/").json()
        path = "/api/rooms/{slug}/messages/{message_id}/reactions/{emoji}/"
        for method in ("put", "delete"):
            with self.subTest(method=method):
                operation = schema["paths"][path][method]
                self.assertEqual(operation["operationId"], f"api_message_reaction_{method}")
                self.assertNotIn("requestBody", operation)
                answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
                self.assertEqual(answer, {"$ref": "#/components/schemas/MessageAnswer"})
        # A body sent anyway is no part of it.
        response = self.client.put(self.url(), "[1]", content_type="application/json")
        self.assertEqual(len(response.json()["message"]["reactions"]), 1)


class ReactionSocketTestCase(SocketTestCase):
    """Protocol 1: reaction.add and reaction.remove, live to the room, and catch-up."""

    def setUp(self):
        super().setUp()
        add_member(self.room, self.alice)
        add_member(self.room, self.bob)
        self.message = make_message(self.room, self.alice, "hello")

    async def test_bob_reacts_and_alice_sees_it_live(self):
        alice, _ = await self.join(self.alice)
        bob, _ = await self.join(self.bob, others=[alice])
        await self.send(bob, type="reaction.add", id=self.message.pk, emoji="👍")
        answer = await self.expect(bob, "message.reactions")
        live = await self.expect(alice, "message.reactions")
        self.assertEqual(live, answer)
        self.assertEqual(live["message"]["rev"], 2)
        self.assertEqual(
            [
                (r["emoji"], r["count"], r["users"][0]["username"])
                for r in live["message"]["reactions"]
            ],
            [("👍", 1, "bob")],
        )
        await self.assertQuiet(alice, bob)  # once each: bob's answer is not broadcast to him

        await self.send(bob, type="reaction.add", id=self.message.pk, emoji="👍")
        await self.expect(bob, "message.reactions")  # a repeat: the answer, nothing else
        await self.assertQuiet(alice, bob)

        await self.send(bob, type="reaction.remove", id=self.message.pk, emoji="👍")
        await self.expect(bob, "message.reactions")
        removed = await self.expect(alice, "message.reactions")
        self.assertEqual((removed["message"]["rev"], removed["message"]["reactions"]), (3, []))

    async def test_bad_reaction_frames_are_errors(self):
        bob, _ = await self.join(self.bob)
        for frame in (
            {"type": "reaction.add", "id": self.message.pk},
            {"type": "reaction.add", "id": self.message.pk, "emoji": "yes"},
            {"type": "reaction.add", "id": str(self.message.pk), "emoji": "👍"},
            {"type": "reaction.remove", "emoji": "👍"},
        ):
            await self.send(bob, **frame)
            await self.expect_error(bob, "bad_frame")
        await self.send(bob, type="reaction.add", id=self.message.pk + 100, emoji="👍")
        await self.expect_error(bob, "not_found")
        self.assertEqual(await database_sync_to_async(Reaction.objects.count)(), 0)

    async def test_catch_up_after_a_reconnect_brings_the_reactions(self):
        alice, hello = await self.join(self.alice)
        await alice.disconnect()
        await database_sync_to_async(services.reaction_set)(
            room=self.room, user=self.bob, message_id=self.message.pk, emoji="🎉", on=True
        )
        alice = await self.connect(self.alice, f"/ws/rooms/general/?since={hello['rev']}")
        await self.expect(alice, "hello", rev=hello["rev"] + 1)
        sync = await self.expect(alice, "sync", complete=True)
        (message,) = sync["messages"]
        self.assertEqual((message["id"], message["rev"]), (self.message.pk, hello["rev"] + 1))
        self.assertEqual(
            [(r["emoji"], r["user_ids"]) for r in message["reactions"]], [("🎉", [self.bob.pk])]
        )


class ReactionTabTestCase(TabTestCase):
    """Protocol 2: the room in view takes reaction commands; every tab of the room's
    people hears of them, and their counts stay those of a fresh fetch."""

    async def test_a_reaction_on_a_tab_reaches_the_others_and_leaves_counts_alone(self):
        message = await self.send("hi @bob")
        alice_tab, alice_hello = await self.open_tab(self.alice)
        bob_tab, bob_hello = await self.open_tab(self.bob)
        await bob_tab.send_json_to({"type": "view", "room": "general"})
        await self.expect(bob_tab, "view")
        await self.expect(bob_tab, "presence", room="general", user="bob", status="online")

        await bob_tab.send_json_to(
            {"type": "reaction.add", "room": "general", "id": message["id"], "emoji": "👍"}
        )
        answer = await self.expect(bob_tab, "message.reactions", room="general")
        live = await self.expect(alice_tab, "message.reactions", room="general")
        self.assertEqual(live["message"], answer["message"])
        self.assertEqual(live["message"]["reactions"][0]["user_ids"], [self.bob.pk])
        # Applied to each one's hello, the frames give what a fresh fetch gives: the
        # revision moves, nobody's unread count or mentions do.
        await self.assertCurrent(self.alice, alice_hello, [live])
        await self.assertCurrent(self.bob, bob_hello, [answer])
        rooms, _inbox = self.applied(bob_hello, [answer], self.bob.pk)
        self.assertEqual((rooms["general"]["unread"], rooms["general"]["mentions"]), (1, 1))

    async def test_a_reaction_names_its_room_or_is_refused(self):
        message = await self.send("hi")
        tab, _ = await self.open_tab(self.bob)
        await tab.send_json_to({"type": "reaction.add", "id": message["id"], "emoji": "👍"})
        await self.expect_error(tab, "bad_frame")
        await tab.send_json_to(
            {"type": "reaction.add", "room": "general", "id": message["id"], "emoji": "👍"}
        )
        await self.expect_error(tab, "not_viewing", room="general")
        self.assertEqual(await database_sync_to_async(Reaction.objects.count)(), 0)
