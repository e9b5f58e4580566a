"""Moderation that takes effect on open sockets: bans, removals, mutes, privacy, deletion.

Each action is taken the ways people take it: by staff in the admin (the real admin
views, through Django's test client), by a room's owner or moderator from the room page
(the HTTP API the page calls), or by a service call. Each test checks what the affected
socket sees within the time the product promises, that its next write is refused, what
the others see, and the moderation log.
"""

import asyncio
import json
from datetime import datetime, timedelta
from unittest import IsolatedAsyncioTestCase

from autobahn.exception import Disconnected
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.test import Client, SimpleTestCase, TestCase
from django.urls import reverse
from django.utils import timezone

from chat import events, services
from chat.models import Membership, Message, ModerationAction, Room
from chat.realtime.consumer import RoomConsumer
from chat.realtime.hub import Hub, _layer_messages, publish, room_topic
from chat.realtime.layers import LocalChannelLayer
from chat.schemas.members import MUTE_MINUTES_MAX

from .factories import add_member, make_message, make_room, make_user
from .test_consumers import SocketTestCase

# The product's promise: an affected socket hears of an access change within a second.
WITHIN = 1.0


class ModerationSocketTestCase(SocketTestCase):
    def setUp(self):
        super().setUp()
        self.staff = make_user("staff", is_staff=True, is_superuser=True)
        self.mod = make_user("mod")
        self.login(self.mod)
        add_member(self.room, self.alice, role=Membership.Role.OWNER)
        add_member(self.room, self.mod, role=Membership.Role.MODERATOR)
        add_member(self.room, self.bob)
        self.admin = Client()
        self.admin.force_login(self.staff)
        self.owner_page = Client()
        self.owner_page.force_login(self.alice)
        self.mod_page = Client()
        self.mod_page.force_login(self.mod)

    async def assertCutOff(self, socket, reason: str, code: int):
        """The socket is told why within WITHIN seconds, then closed with `code`."""
        frame = await socket.receive_json_from(timeout=WITHIN)
        self.assertEqual((frame["type"], frame["reason"]), ("room.closed", reason), frame)
        self.assertTrue(frame["detail"])
        self.assertEqual(
            await socket.receive_output(timeout=WITHIN), {"type": "websocket.close", "code": code}
        )

    @database_sync_to_async
    def log(self) -> list[tuple]:
        return list(
            ModerationAction.objects.order_by("id").values_list(
                "actor_name", "kind", "target_name", "room_name", "reason"
            )
        )

    @database_sync_to_async
    def membership(self, user) -> Membership | None:
        return Membership.objects.filter(room=self.room, user=user).first()

    @database_sync_to_async
    def api(self, client: Client, username: str, action: str, **body):
        url = reverse(
            "chat:api_room_member_action",
            kwargs={"slug": "general", "username": username, "action": action},
        )
        return client.post(url, body, content_type="application/json")

    async def refused_on_open(self, user, code: int):
        """A new socket of `user` is refused with `code`."""
        socket = await self.connect(user)
        await self.assertClosed(socket, code)


class AdminCutsOffSocketsTests(ModerationSocketTestCase):
    async def test_a_ban_in_the_admin_closes_the_socket_and_refuses_the_next_send(self):
        bob, _ = await self.join(self.bob)
        alice, _ = await self.join(self.alice, others=[bob])
        membership = await self.membership(self.bob)
        url = reverse("admin:chat_membership_change", args=[membership.pk])
        response = await database_sync_to_async(self.admin.post)(
            url, {"role": "member", "banned": "on", "muted_until_0": "", "muted_until_1": ""}
        )
        self.assertEqual(response.status_code, 302)
        await self.assertCutOff(bob, "banned", 4403)
        await self.expect(
            alice, "member.removed", user={"id": self.bob.pk, "username": "bob", "display_name": ""}
        )
        await self.expect(alice, "presence", user="bob", status="offline")
        await self.refused_on_open(self.bob, 4403)
        self.assertEqual(
            await self.log(), [("staff", "ban", "bob", "General", "")], "the moderation log"
        )

    async def test_deleting_a_membership_in_the_admin_removes_the_member(self):
        bob, _ = await self.join(self.bob)
        membership = await self.membership(self.bob)
        url = reverse("admin:chat_membership_delete", args=[membership.pk])
        response = await database_sync_to_async(self.admin.post)(url, {"post": "yes"})
        self.assertEqual(response.status_code, 302)
        await self.assertCutOff(bob, "removed", 4403)
        self.assertIsNone(await self.membership(self.bob))
        self.assertEqual(await self.log(), [("staff", "remove", "bob", "General", "")])

    async def test_making_a_room_private_in_the_admin_closes_readers_who_are_not_members(self):
        reader = await database_sync_to_async(make_user)("reader")
        await database_sync_to_async(self.login)(reader)
        reader_socket, _ = await self.join(reader)
        bob, _ = await self.join(self.bob, others=[reader_socket])
        url = reverse("admin:chat_room_change", args=[self.room.pk])
        form = {
            "name": "General",
            "topic": "",
            "is_private": "on",
            **self.inline_management_forms(),
        }
        response = await database_sync_to_async(self.admin.post)(url, form)
        self.assertEqual(response.status_code, 302, response.content[:2000])
        # The reader hears the room changed (it is on the same topic), then is closed.
        await self.expect(reader_socket, "room.updated")
        await self.assertCutOff(reader_socket, "private", 4403)
        # The member stays, and their sidebar hears of the change too.
        await self.expect(bob, "room.updated")
        await self.expect(bob, "rooms.updated")
        await self.expect(bob, "presence", user="reader", status="offline")
        await self.assertStillOpen(bob)
        await self.refused_on_open(reader, 4404)
        log = await self.log()
        self.assertEqual(log, [("staff", "make_private", "", "General", "")])

    def inline_management_forms(self) -> dict:
        form = {}
        for prefix in ("memberships", "memberships-2"):
            form.update(
                {
                    f"{prefix}-TOTAL_FORMS": "0",
                    f"{prefix}-INITIAL_FORMS": "0",
                    f"{prefix}-MIN_NUM_FORMS": "0",
                    f"{prefix}-MAX_NUM_FORMS": "1000",
                }
            )
        return form

    async def test_deleting_a_room_in_the_admin_closes_its_sockets_with_room_deleted(self):
        bob, _ = await self.join(self.bob)
        alice, _ = await self.join(self.alice, others=[bob])
        url = reverse("admin:chat_room_delete", args=[self.room.pk])
        response = await database_sync_to_async(self.admin.post)(url, {"post": "yes"})
        self.assertEqual(response.status_code, 302)
        await self.assertCutOff(bob, "deleted", 4404)
        await self.assertCutOff(alice, "deleted", 4404)
        self.assertFalse(await database_sync_to_async(Room.objects.exists)())
        await self.refused_on_open(self.bob, 4404)
        log = await self.log()
        self.assertEqual(log, [("staff", "delete_room", "", "General", "")])

    async def test_deactivating_a_user_in_the_admin_closes_their_sockets(self):
        bob, _ = await self.join(self.bob)
        url = reverse("admin:auth_user_change", args=[self.bob.pk])
        response = await database_sync_to_async(self.admin.get)(url)
        self.assertEqual(response.status_code, 200)
        form = {
            "username": "bob",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "initial-date_joined_0": "2026-01-01",
            "initial-date_joined_1": "00:00:00",
            # The profile inline (display name), left empty.
            "profile-TOTAL_FORMS": "1",
            "profile-INITIAL_FORMS": "0",
            "profile-MIN_NUM_FORMS": "0",
            "profile-MAX_NUM_FORMS": "1",
        }  # is_active left unticked: deactivated
        response = await database_sync_to_async(self.admin.post)(url, form)
        self.assertEqual(response.status_code, 302, response.content[:3000])
        self.assertEqual(
            await bob.receive_output(timeout=WITHIN), {"type": "websocket.close", "code": 4401}
        )
        log = await self.log()
        self.assertEqual(log, [("staff", "deactivate_user", "bob", "", "")])


class RoomPageModerationTests(ModerationSocketTestCase):
    """The room page's member list calls /api/rooms/<slug>/members/<username>/<action>/."""

    async def test_an_owner_bans_from_the_room_page(self):
        bob, _ = await self.join(self.bob)
        response = await self.api(self.owner_page, "bob", "ban", reason="spam")
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json(), {"member": None})
        await self.assertCutOff(bob, "banned", 4403)
        await self.refused_on_open(self.bob, 4403)
        self.assertEqual(await self.log(), [("alice", "ban", "bob", "General", "spam")])

    async def test_a_moderator_removes_from_the_room_page(self):
        bob, _ = await self.join(self.bob)
        response = await self.api(self.mod_page, "bob", "remove")
        self.assertEqual(response.status_code, 200, response.content)
        await self.assertCutOff(bob, "removed", 4403)
        self.assertEqual(await self.log(), [("mod", "remove", "bob", "General", "")])

    async def test_a_moderator_mutes_then_unmutes(self):
        bob, _ = await self.join(self.bob)
        response = await self.api(self.mod_page, "bob", "mute", minutes=10)
        self.assertEqual(response.status_code, 200, response.content)
        member = response.json()["member"]
        self.assertEqual((member["muted"], member["role"]), (True, "member"))
        update = await self.expect(bob, "member.updated")
        self.assertEqual(update["member"]["user"]["username"], "bob")
        self.assertIs(update["member"]["muted"], True)
        # Still reading, but a post is refused and stores nothing.
        await self.send(bob, type="message.send", client_id="c-1", body="let me talk")
        error = await self.expect_error(bob, "muted", client_id="c-1")
        self.assertIsNotNone(error["until"])
        self.assertEqual(await self.count_messages(), 0)
        await self.send(bob, type="message.edit", id=1, body="edit")
        await self.expect_error(bob, "muted")
        response = await self.api(self.mod_page, "bob", "unmute")
        self.assertEqual(response.status_code, 200, response.content)
        await self.expect(bob, "member.updated")
        await self.send(bob, type="message.send", client_id="c-2", body="thanks")
        await self.expect(bob, "message.new")
        self.assertEqual(
            [row[1] for row in await self.log()], ["mute", "unmute"], "the moderation log"
        )

    async def test_a_mute_with_an_end_lapses_by_itself(self):
        @database_sync_to_async
        def mute_in_the_past():
            Membership.objects.filter(user=self.bob).update(
                muted=True, muted_until=timezone.now() - timedelta(seconds=1)
            )

        await mute_in_the_past()
        bob, hello = await self.join(self.bob)
        self.assertIs(hello["me"]["muted"], False)
        await self.send(bob, type="message.send", client_id="c-1", body="free again")
        await self.expect(bob, "message.new")

    async def test_roles_bound_who_may_act_on_whom(self):
        cases = [
            (self.mod_page, "alice", "ban", 403),  # a moderator can't touch the owner
            (self.mod_page, "mod", "mute", 403),  # nobody acts on themselves
            (self.mod_page, "bob", "role", 403),  # only owners change roles
        ]
        for client, username, action, status in cases:
            body = {"role": "moderator"} if action == "role" else {}
            response = await self.api(client, username, action, **body)
            self.assertEqual(response.status_code, status, (username, action, response.content))
            self.assertEqual(response.json()["error"]["code"], "forbidden")
        bob_page = Client()
        await database_sync_to_async(bob_page.force_login)(self.bob)
        response = await self.api(bob_page, "mod", "remove")
        self.assertEqual(response.status_code, 403)
        self.assertEqual(await self.log(), [], "refused actions are not logged")

    async def test_actions_on_someone_who_is_not_a_member_are_not_found(self):
        await database_sync_to_async(make_user)("stranger")
        cases = [
            ("stranger", "mute", {}),
            ("stranger", "unmute", {}),
            ("stranger", "remove", {}),
            ("stranger", "role", {"role": "moderator"}),
            ("bob", "unban", {}),
            ("nobody", "ban", {}),
            ("bob", "explode", {}),
        ]
        for username, action, body in cases:
            response = await self.api(self.owner_page, username, action, **body)
            self.assertEqual(response.status_code, 404, (username, action, response.content))
            self.assertEqual(response.json()["error"]["code"], "not_found")
        self.assertEqual(await self.log(), [])

    async def test_an_owner_promotes_a_moderator_who_then_can_moderate(self):
        bob, _ = await self.join(self.bob)
        response = await self.api(self.owner_page, "bob", "role", role="moderator")
        self.assertEqual(response.json()["member"]["role"], "moderator")
        update = await self.expect(bob, "member.updated")
        self.assertEqual(update["member"]["role"], "moderator")
        message = await database_sync_to_async(make_message)(self.room, self.alice, "hi")
        await self.send(bob, type="message.delete", id=message.pk)
        deleted = await self.expect(bob, "message.deleted")
        self.assertIs(deleted["message"]["deleted"], True)

    async def test_a_moderator_deletes_someone_elses_message_over_the_socket(self):
        message = await database_sync_to_async(make_message)(self.room, self.bob, "spam")
        mod, _ = await self.join(self.mod)
        bob, _ = await self.join(self.bob, others=[mod])
        await self.send(mod, type="message.delete", id=message.pk)
        await self.expect(mod, "message.deleted")
        await self.expect(bob, "message.deleted")
        # A plain member may not.
        other = await database_sync_to_async(make_message)(self.room, self.mod, "mine")
        await self.send(bob, type="message.delete", id=other.pk)
        await self.expect_error(bob, "forbidden")
        self.assertEqual(await self.log(), [("mod", "delete_message", "bob", "General", "")])

    async def test_the_member_list_tells_the_page_what_the_caller_may_do(self):
        @database_sync_to_async
        def members(client):
            return client.get(reverse("chat:api_room_members", kwargs={"slug": "general"}))

        answer = (await members(self.mod_page)).json()
        self.assertEqual(
            [(m["user"]["username"], m["role"]) for m in answer["members"]],
            [("alice", "owner"), ("mod", "moderator"), ("bob", "member")],
        )
        self.assertEqual(answer["me"]["can_moderate"], True)
        self.assertEqual(answer["banned"], [])
        bob_page = Client()
        await database_sync_to_async(bob_page.force_login)(self.bob)
        answer = (await members(bob_page)).json()
        self.assertNotIn("banned", answer)
        self.assertEqual(answer["me"]["can_moderate"], False)


class WritesRecheckAccessTests(ModerationSocketTestCase):
    """A socket that missed the event (a lost layer message) is refused on its next write."""

    async def test_a_send_after_a_ban_whose_event_was_lost_is_refused_and_closes(self):
        bob, _ = await self.join(self.bob)
        # The ban is written without the service, so no socket hears of it.
        await database_sync_to_async(
            Membership.objects.filter(room=self.room, user=self.bob).update
        )(banned=True)
        await self.send(bob, type="message.send", client_id="c-1", body="still here?")
        await self.expect_error(bob, "not_found", client_id="c-1")
        await self.assertCutOff(bob, "banned", 4403)
        self.assertEqual(await self.count_messages(), 0)

    async def test_a_send_in_a_deleted_room_is_refused_without_a_traceback(self):
        bob, _ = await self.join(self.bob)
        with self.assertNoLogs("chat", level="ERROR"):
            await database_sync_to_async(Room.objects.filter(pk=self.room.pk).delete)()
            await self.send(bob, type="message.send", client_id="c-1", body="hello?")
            await self.expect_error(bob, "not_found", client_id="c-1")
            await self.assertCutOff(bob, "deleted", 4404)

    async def test_a_rolled_back_ban_reaches_no_one(self):
        bob, _ = await self.join(self.bob)

        @database_sync_to_async
        def ban_then_fail():
            from django.db import transaction

            with events.captured_events() as sent:
                try:
                    with transaction.atomic():
                        services.member_ban(room=self.room, actor=self.staff, target=self.bob)
                        raise RuntimeError("the request failed after the ban")
                except RuntimeError:
                    pass
            return sent

        self.assertEqual(await ban_then_fail(), [])
        await self.assertStillOpen(bob)
        self.assertFalse((await self.membership(self.bob)).banned)
        self.assertEqual(await self.log(), [])


class RequestAllowanceTests(ModerationSocketTestCase):
    async def test_sync_and_history_past_the_allowance_are_refused_without_work(self):
        # Refilling slowly, so that the burst is all the test can spend.
        with self.settings(CHAT_SOCKET_REQUESTS_PER_SECOND=0.1):
            bob, _ = await self.join(self.bob)
        burst = settings.CHAT_SOCKET_REQUEST_BURST
        for _ in range(burst):
            await self.send(bob, type="sync", since=0)
        for _ in range(burst):
            await self.expect(bob, "sync")
        await self.send(bob, type="history")
        error = await self.expect_error(bob, "rate_limited")
        self.assertGreater(error["retry_after"], 0)

    async def test_edits_share_the_send_rate_limit(self):
        bob, _ = await self.join(self.bob)
        await self.send(bob, type="message.send", client_id="c-0", body="v0")
        message = await self.expect(bob, "message.new")
        for version in range(1, 10):
            await self.send(
                bob, type="message.edit", id=message["message"]["id"], body=f"v{version}"
            )
            await self.expect(bob, "message.updated")
        await self.send(bob, type="message.edit", id=message["message"]["id"], body="v10")
        await self.expect_error(bob, "rate_limited")
        body = await database_sync_to_async(Message.objects.values_list("body", flat=True).get)()
        self.assertEqual(body, "v9")


class ClientGoneTests(IsolatedAsyncioTestCase):
    """A client that leaves while it is being answered costs nothing, and logs nothing."""

    async def test_an_answer_or_a_close_to_a_client_that_has_gone_is_dropped(self):
        consumer = RoomConsumer()

        async def gone(message):
            # What daphne's autobahn raises for a send after the client went away.
            raise Disconnected("Attempt to send on a closed protocol")

        consumer.base_send = gone
        with self.assertNoLogs(level="WARNING"):
            await consumer.send_frame({"type": "error", "code": "bad_json", "detail": "no"})
            await consumer.close(4403)


class HubStopsAfterItsOwnDeliveryTests(IsolatedAsyncioTestCase):
    """A ban closes the last socket of a process from inside the hub's own delivery."""

    async def test_the_next_socket_is_admitted_at_once(self):
        layer = LocalChannelLayer()
        hub = Hub(layer)
        topic = room_topic(1)

        class ClosedByTheEvent:
            channel_name, user_id = "socket.1", 1

            async def on_event(self, event):
                await hub.leave([topic], self)

        class Newcomer:
            channel_name, user_id = "socket.2", 2

            async def on_event(self, event):
                pass

        await hub.join([topic], ClosedByTheEvent())
        event = events.Event(events.ROOM_DELETED, {"room_id": 1, "name": "x"}, events.to_room(1))
        [(group, message)] = _layer_messages(event)
        await layer.group_send(group, message)
        await asyncio.sleep(0.2)  # the hub delivers it, and the socket leaves
        # Before: the stop waited for the delivering task itself, holding the lock that
        # every join takes, for HUB_STOP_TIMEOUT (5 s).
        await asyncio.wait_for(hub.join([room_topic(2)], Newcomer()), 1)
        await hub.close()


class EventsFromSynchronousCodeUnderALoopTests(SimpleTestCase):
    """A write made by synchronous code in a thread that runs an event loop still sends."""

    def test_the_event_is_sent_without_a_warning(self):
        layer = get_channel_layer()
        group = "chat.room.424242"

        async def synchronous_code_under_a_loop():
            channel = await layer.new_channel()
            await layer.group_add(group, channel)
            publish(group, {"type": "chat.event", "kind": "typing"})  # a plain call
            return await asyncio.wait_for(layer.receive(channel), 2)

        with self.assertNoLogs("chat", level="WARNING"):
            received = asyncio.run(synchronous_code_under_a_loop())
        self.assertEqual(received["kind"], "typing")


class MemberActionBodyTests(TestCase):
    """The body of an action on a member: optional, each field read by its schema."""

    def setUp(self):
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.room = make_room("General")
        add_member(self.room, self.alice, role=Membership.Role.OWNER)
        add_member(self.room, self.bob)
        self.client.force_login(self.alice)

    def act(self, action: str, body: str = ""):
        url = reverse(
            "chat:api_room_member_action",
            kwargs={"slug": "general", "username": "bob", "action": action},
        )
        return self.client.post(url, body, content_type="application/json")

    def test_the_body_may_be_left_out(self):
        response = self.act("mute")
        self.assertEqual(response.status_code, 200, response.content)
        member = response.json()["member"]
        self.assertEqual((member["muted"], member["muted_until"]), (True, None))
        self.assertEqual(self.act("unmute", "{}").status_code, 200)
        self.assertEqual(self.act("remove").json(), {"member": None})
        self.assertEqual(
            list(ModerationAction.objects.order_by("id").values_list("kind", "reason")),
            [("mute", ""), ("unmute", ""), ("remove", "")],
        )

    def test_a_mute_lasts_the_minutes_given(self):
        response = self.act("mute", json.dumps({"minutes": 30, "reason": "cool off"}))
        until = datetime.fromisoformat(response.json()["member"]["muted_until"])
        self.assertAlmostEqual(
            (until - timezone.now()).total_seconds(), 30 * 60, delta=60, msg=until
        )
        self.assertEqual(ModerationAction.objects.get().reason, "cool off")

    def test_a_field_of_the_wrong_type_is_refused_and_changes_nothing(self):
        cases = [
            ("mute", {"minutes": "10"}),
            ("mute", {"minutes": True}),
            ("mute", {"minutes": 0}),
            ("mute", {"minutes": MUTE_MINUTES_MAX + 1}),
            ("ban", {"reason": 5}),
            ("ban", {"reason": "x" * 501}),
            ("role", {"role": "boss"}),
            ("role", {}),
            ("ban", None),  # the JSON null is no object
            ("ban", ["spam"]),
        ]
        for action, body in cases:
            with self.subTest(action=action, body=body):
                response = self.act(action, json.dumps(body))
                self.assertEqual(response.status_code, 400, response.content)
                self.assertEqual(response.json()["error"]["code"], "bad_frame")
        bob = Membership.objects.get(room=self.room, user=self.bob)
        self.assertEqual((bob.role, bob.muted, bob.banned), ("member", False, False))
        self.assertFalse(ModerationAction.objects.exists())

    def test_the_schema_names_the_body_and_the_answers(self):
        schema = self.client.get("/api/schema/").json()
        components = schema["components"]["schemas"]
        operation = schema["paths"]["/api/rooms/{slug}/members/{username}/{action}/"]["post"]
        body = operation["requestBody"]
        self.assertIs(body["required"], False)
        [ref] = body["content"]["application/json"]["schema"]["allOf"]
        fields = components[ref["$ref"].rsplit("/", 1)[1]]["properties"]
        self.assertEqual(set(fields), {"reason", "minutes", "role"})
        minutes = fields["minutes"]["anyOf"][0]
        self.assertEqual((minutes["minimum"], minutes["maximum"]), (1, MUTE_MINUTES_MAX))
        members = schema["paths"]["/api/rooms/{slug}/members/"]["get"]["responses"]["200"]
        answer = members["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        self.assertEqual(set(components[answer]["properties"]), {"members", "me", "banned"})
