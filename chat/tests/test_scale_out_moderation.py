"""Moderation across server processes: an action taken anywhere cuts off the affected
socket in whichever process holds it, within a second, and its next write is refused.

Two real daphne processes on PostgreSQL and Redis (see test_scale_out.py). The actions
are taken in this test process, through the real admin views and the room page's HTTP
API, whose events reach the processes through Redis like those of a third server.
"""

import asyncio
import contextlib
import sys
import time

from asgiref.sync import sync_to_async
from django.test import Client
from django.urls import reverse

from chat.models import Membership, ModerationAction, Room

from .live_client import LiveClient
from .test_scale_out import ScaleOutTestCase, closes_clients

# The product's promise: an affected socket hears of an access change within a second.
WITHIN = 1.0


class ModerationAcrossProcessesTests(ScaleOutTestCase):
    users = ("alice", "bob", "carol", "dave", "erin", "staff")

    def setUp(self):
        super().setUp()
        staff = self.accounts["staff"]
        staff.is_staff = staff.is_superuser = True
        staff.save()
        for name in ("bob", "carol", "dave"):
            Membership.objects.create(room=self.room, user=self.accounts[name])
        self.admin = Client()
        self.admin.force_login(staff)
        self.owner_page = Client()
        self.owner_page.force_login(self.accounts["alice"])
        self.cut_off: dict[str, float] = {}

    async def cut_off_within(self, client: LiveClient, reason: str, code: int, action) -> None:
        """Take `action`; the client must hear `room.closed` within WITHIN, then `code`."""
        started = time.monotonic()
        response = await sync_to_async(action)()
        self.assertIn(response.status_code, (200, 302), response.content[:2000])
        await client.wait_until(
            lambda: client.frames_of("room.closed", reason=reason), WITHIN * 3, "room.closed"
        )
        heard_at = next(at for at, _n, frame in client.frames if frame["type"] == "room.closed")
        self.cut_off[f"{client.username} {reason}"] = heard_at - started
        self.assertLess(heard_at - started, WITHIN, f"{client.username} heard too late")
        await client.wait_until(lambda: client.stopped_for == code, WITHIN * 3, f"close {code}")

    async def refused(self, username: str, server: str, code: int) -> None:
        """A new socket of the user, on either process, is refused; so is an HTTP send."""
        again = LiveClient(
            username=username,
            cookie=self.cookies[username],
            slug=self.room.slug,
            ports=[self.port(server)],
            reconnect=False,
        )
        self.clients.append(again)
        starting = asyncio.ensure_future(again.start(within=5))
        try:
            await again.wait_until(lambda: again.stopped_for is not None, 5, "the refusal")
        finally:
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, AssertionError):
                await starting
        self.assertEqual(again.stopped_for, code)
        self.assertFalse(again.frames_of("hello"), "a refused socket is never greeted")
        page = Client()
        await sync_to_async(page.force_login)(self.accounts[username])
        url = reverse("chat:api_room_messages", kwargs={"slug": self.room.slug})
        response = await sync_to_async(page.post)(
            url, {"client_id": "after", "body": "let me in"}, content_type="application/json"
        )
        self.assertEqual(response.status_code, 404)

    def report(self):
        figures = ", ".join(
            f"{name} {seconds * 1000:.0f} ms" for name, seconds in self.cut_off.items()
        )
        print(f"\ncut off after: {figures}", file=sys.__stderr__)

    @closes_clients
    async def test_admin_ban_removal_privacy_and_deletion_reach_every_process(self):
        alice = await self.connect("alice", "A")
        bob = await self.connect("bob", "B")
        carol = await self.connect("carol", "A")
        erin = await self.connect("erin", "B")  # a reader of the public room, not a member

        bob_membership = await sync_to_async(Membership.objects.get)(
            room=self.room, user=self.accounts["bob"]
        )
        ban_url = reverse("admin:chat_membership_change", args=[bob_membership.pk])
        ban = {"role": "member", "banned": "on", "muted_until_0": "", "muted_until_1": ""}
        await self.cut_off_within(bob, "banned", 4403, lambda: self.admin.post(ban_url, ban))
        await self.refused("bob", "A", 4403)

        carol_membership = await sync_to_async(Membership.objects.get)(
            room=self.room, user=self.accounts["carol"]
        )
        remove_url = reverse("admin:chat_membership_delete", args=[carol_membership.pk])
        await self.cut_off_within(
            carol, "removed", 4403, lambda: self.admin.post(remove_url, {"post": "yes"})
        )

        room_url = reverse("admin:chat_room_change", args=[self.room.pk])
        private = {"name": self.room.name, "topic": "", "is_private": "on"}
        for prefix in ("memberships", "memberships-2"):
            private |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
        await self.cut_off_within(erin, "private", 4403, lambda: self.admin.post(room_url, private))
        await self.refused("erin", "A", 4404)
        self.assertIsNone(alice.stopped_for, "a member stays in a room made private")

        delete_url = reverse("admin:chat_room_delete", args=[self.room.pk])
        await self.cut_off_within(
            alice, "deleted", 4404, lambda: self.admin.post(delete_url, {"post": "yes"})
        )
        self.assertFalse(await sync_to_async(Room.objects.filter(pk=self.room.pk).exists)())
        kinds = await sync_to_async(list)(
            ModerationAction.objects.order_by("id").values_list("kind", flat=True)
        )
        self.assertEqual(kinds, ["ban", "remove", "make_private", "delete_room"])
        self.report()
        self.assert_clean_logs()

    @closes_clients
    async def test_an_owner_acting_from_the_room_page_reaches_every_process(self):
        bob = await self.connect("bob", "B")
        dave = await self.connect("dave", "A")

        def act(username: str, action: str):
            url = reverse(
                "chat:api_room_member_action",
                kwargs={"slug": self.room.slug, "username": username, "action": action},
            )
            return lambda: self.owner_page.post(url, {}, content_type="application/json")

        await self.cut_off_within(bob, "banned", 4403, act("bob", "ban"))
        await self.cut_off_within(dave, "removed", 4403, act("dave", "remove"))
        await self.refused("bob", "A", 4403)
        self.report()
        self.assert_clean_logs()
