"""A room's pending invitations, live: every change of one reaches those who see the
list, and only them (docs/protocol.md, "Invitations and invite links")."""

from channels.db import database_sync_to_async
from django.test import TestCase

from chat import events, services
from chat.models import Membership

from .factories import add_member, make_room, make_user
from .test_tab_socket import TabTestCase

Role = Membership.Role


def invitation_events(sent) -> list[tuple[str, list[str]]]:
    """The `invitation.updated` events sent, as (the invitation's status, topics)."""
    return [
        (event.data["invitation"]["status"], event.audience.topics())
        for event in sent
        if event.kind == events.INVITATION_UPDATED
    ]


class InvitationEventTests(TestCase):
    def setUp(self):
        self.alice = make_user("alice")  # the owner
        self.dave = make_user("dave")  # a moderator
        self.carol = make_user("carol")  # a plain member
        self.bob = make_user("bob")  # invited
        self.staff = make_user("root", is_staff=True)  # a member of nothing
        self.secret = make_room("Secret", is_private=True)
        add_member(self.secret, self.alice, role=Role.OWNER)
        add_member(self.secret, self.dave, role=Role.MODERATOR)
        add_member(self.secret, self.carol)

    def captured(self, write):
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            result = write()
        return result, sent

    def invite(self, inviter, room=None):
        return services.invitation_create(
            room=room or self.secret, inviter=inviter, invitee_username="bob"
        )

    def moderators_topics(self, *extra):
        users = [self.alice, self.dave, *extra]
        return sorted((f"user:{user.pk}" for user in users), key=lambda t: int(t[5:]))

    def test_a_private_rooms_changes_reach_its_moderators_and_the_inviter_only(self):
        invitation, sent = self.captured(lambda: self.invite(self.staff))
        [created] = [event for event in sent if event.kind == events.INVITATION_UPDATED]
        self.assertEqual(created.audience.topics(), self.moderators_topics(self.staff))
        self.assertEqual(created.data["room"], "secret")
        self.assertEqual(created.data["invitation"]["id"], invitation.pk)
        self.assertEqual(created.data["invitation"]["invitee"]["username"], "bob")
        self.assertEqual(created.data["invitation"]["status"], "pending")
        # Carol, a plain member of the private room, does not learn who is invited.
        self.assertNotIn(f"user:{self.carol.pk}", created.audience.topics())

        _, sent = self.captured(
            lambda: services.invitation_accept(invitation=invitation, user=self.bob)
        )
        self.assertEqual(
            invitation_events(sent), [("accepted", self.moderators_topics(self.staff))]
        )

    def test_declining_and_revoking_are_heard_too(self):
        first = self.invite(self.dave)
        _, sent = self.captured(
            lambda: services.invitation_decline(invitation=first, user=self.bob)
        )
        self.assertEqual(invitation_events(sent), [("declined", self.moderators_topics())])
        second = self.invite(self.dave)
        _, sent = self.captured(
            lambda: services.invitation_revoke(invitation=second, actor=self.alice)
        )
        self.assertEqual(invitation_events(sent), [("revoked", self.moderators_topics())])

    def test_a_public_rooms_changes_go_to_the_room(self):
        public = make_room("Lobby")
        add_member(public, self.carol)
        _, sent = self.captured(lambda: self.invite(self.carol, room=public))
        self.assertEqual(invitation_events(sent), [("pending", [f"room:{public.pk}"])])

    def test_inviting_again_or_a_banned_person_sends_nothing(self):
        self.invite(self.alice)
        _, sent = self.captured(lambda: self.invite(self.dave))  # the one pending is returned
        self.assertEqual(invitation_events(sent), [])
        mallory = make_user("mallory")
        add_member(self.secret, mallory, banned=True)
        _, sent = self.captured(
            lambda: services.invitation_create(
                room=self.secret, inviter=self.alice, invitee_username="mallory"
            )
        )
        self.assertEqual(sent, [])


class InvitationTabTests(TabTestCase):
    def setUp(self):
        super().setUp()
        self.carol = make_user("carol")
        self.dave = make_user("dave")
        self.login(self.carol, self.dave)
        self.secret = make_room("Secret", is_private=True)
        add_member(self.secret, self.alice, role=Role.OWNER)
        add_member(self.secret, self.dave, role=Role.MODERATOR)
        add_member(self.secret, self.carol)

    async def until(self, socket, kind):
        frames = []
        while not frames or frames[-1]["type"] != kind:
            frames.append(await socket.receive_json_from(timeout=1))
        return frames

    async def test_a_moderators_tab_hears_another_invite_and_the_answer(self):
        alices_tab, _ = await self.open_tab(self.alice)
        carols_tab, _ = await self.open_tab(self.carol)
        invitation = await database_sync_to_async(services.invitation_create)(
            room=self.secret, inviter=self.dave, invitee_username="bob"
        )
        frame = (await self.until(alices_tab, "invitation.updated"))[-1]
        self.assertEqual(frame["room"], "secret")
        self.assertEqual(frame["invitation"]["id"], invitation.pk)
        self.assertEqual(frame["invitation"]["status"], "pending")
        self.assertEqual(frame["invitation"]["inviter"]["username"], "dave")

        await database_sync_to_async(services.invitation_accept)(
            invitation=invitation, user=self.bob
        )
        frames = await self.until(alices_tab, "invitation.updated")
        self.assertEqual(frames[-1]["invitation"]["status"], "accepted")

        # Carol's tab heard bob join, and never whom the room invited.
        await database_sync_to_async(services.message_send)(
            room=self.secret, author=self.alice, body="welcome bob"
        )
        carols = await self.until(carols_tab, "message.new")
        self.assertIn("member.updated", [frame["type"] for frame in carols])
        self.assertNotIn("invitation.updated", [frame["type"] for frame in carols])

    async def test_a_public_rooms_members_hear_it_with_the_room_named(self):
        tab, _ = await self.open_tab(self.bob)
        await database_sync_to_async(services.invitation_create)(
            room=self.room, inviter=self.alice, invitee_username="carol"
        )
        frame = (await self.until(tab, "invitation.updated"))[-1]
        self.assertEqual(frame["room"], "general")
        self.assertEqual(frame["invitation"]["invitee"]["username"], "carol")
