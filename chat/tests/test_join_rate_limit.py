"""Joining and leaving rooms are rate-limited per user, however the room is joined
(docs/protocol.md, "Joining, leaving and the directory" and "Limits")."""

import json

from django.conf import settings
from django.core.cache import cache
from django.test import Client, TestCase, override_settings
from django.urls import reverse

from chat import errors, services
from chat.models import Invitation, InviteLink, Membership

from .factories import add_member, make_room, make_user

Role = Membership.Role

# Two joins or leaves, then one more a minute: small enough to run out in a test.
TIGHT = {"CHAT_RATE_JOINS": 2, "CHAT_RATE_JOINS_PERIOD": 60.0}


class JoinRateLimitTestCase(TestCase):
    def setUp(self):
        # The rate limit's buckets live in the cache: start full, leave none drained.
        cache.clear()
        self.addCleanup(cache.clear)
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.carol = make_user("carol")
        self.rooms = [make_room(f"Room {n}") for n in range(3)]
        self.secret = make_room("Secret", is_private=True)
        for room in (*self.rooms, self.secret):
            add_member(room, self.alice, role=Role.OWNER)
        self.as_bob = Client()
        self.as_bob.force_login(self.bob)

    def post(self, name, **kwargs):
        return self.as_bob.post(
            reverse(f"chat:{name}", kwargs=kwargs), content_type="application/json"
        )

    def is_member(self, room, user=None) -> bool:
        return Membership.objects.filter(room=room, user=user or self.bob, banned=False).exists()

    def assertRateLimited(self, response):
        self.assertEqual(response.status_code, 429, response.content)
        error = json.loads(response.content)["error"]
        self.assertEqual(error["code"], "rate_limited")
        self.assertEqual(error["detail"], "You are joining and leaving rooms too fast.")
        # One token a minute comes back: about 30 s to wait (the bucket refills at 2/60 s).
        self.assertGreater(error["retry_after"], 0)
        self.assertLessEqual(error["retry_after"], 30)
        self.assertGreaterEqual(int(response["Retry-After"]), 1)


@override_settings(**TIGHT)
class JoinAndLeaveApiTests(JoinRateLimitTestCase):
    def test_joining_past_the_limit_is_refused_with_429_and_joins_nothing(self):
        for room in self.rooms[:2]:
            self.assertEqual(self.post("api_room_join", slug=room.slug).status_code, 201)
        response = self.post("api_room_join", slug=self.rooms[2].slug)
        self.assertRateLimited(response)
        self.assertFalse(self.is_member(self.rooms[2]))

    def test_leaving_counts_too_and_past_the_limit_leaves_nothing(self):
        self.assertEqual(self.post("api_room_join", slug=self.rooms[0].slug).status_code, 201)
        self.assertEqual(self.post("api_room_leave", slug=self.rooms[0].slug).status_code, 200)
        add_member(self.rooms[1], self.bob)
        self.assertRateLimited(self.post("api_room_leave", slug=self.rooms[1].slug))
        self.assertTrue(self.is_member(self.rooms[1]))

    def test_each_user_has_a_bucket_of_their_own(self):
        for room in self.rooms[:2]:
            services.member_join(room=room, user=self.bob)
        with self.assertRaises(errors.RateLimited):
            services.member_join(room=self.rooms[2], user=self.bob)
        # Carol has joined nothing yet: her bucket is full.
        services.member_join(room=self.rooms[2], user=self.carol)
        self.assertTrue(self.is_member(self.rooms[2], self.carol))


@override_settings(**TIGHT)
class InvitationRateLimitTests(JoinRateLimitTestCase):
    def use_up_bobs_tokens(self):
        for room in self.rooms[:2]:
            services.member_join(room=room, user=self.bob)

    def test_accepting_an_invitation_past_the_limit_is_refused_and_it_stays_pending(self):
        invitation = services.invitation_create(
            room=self.secret, inviter=self.alice, invitee_username="bob"
        )
        self.use_up_bobs_tokens()
        response = self.post("api_invitation_accept", invitation_id=invitation.pk)
        self.assertRateLimited(response)
        invitation.refresh_from_db()
        self.assertEqual(invitation.status, Invitation.Status.PENDING)
        self.assertFalse(self.is_member(self.secret))

    def test_following_an_invite_link_past_the_limit_joins_nothing_and_counts_no_use(self):
        link = services.invite_link_create(room=self.secret, actor=self.alice, max_uses=5)
        self.use_up_bobs_tokens()
        with self.assertRaises(errors.RateLimited) as refused:
            services.invite_link_follow(token=link.token, user=self.bob)
        self.assertGreater(refused.exception.retry_after, 0)
        self.assertFalse(self.is_member(self.secret))
        self.assertEqual(InviteLink.objects.get(pk=link.pk).uses, 0)
        # The link's page says why, rather than failing.
        response = self.as_bob.post(link.get_absolute_url())
        self.assertContains(response, "too fast", status_code=400)


class DefaultAllowanceTests(JoinRateLimitTestCase):
    def test_a_person_may_join_and_leave_ten_rooms_in_a_row(self):
        self.assertEqual(settings.CHAT_RATE_JOINS, 20)
        self.assertEqual(settings.CHAT_RATE_JOINS_PERIOD, 60)
        rooms = [make_room(f"Busy {n}") for n in range(10)]
        for room in rooms:
            services.member_join(room=room, user=self.bob)
            services.member_leave(room=room, user=self.bob)
        with self.assertRaises(errors.RateLimited):
            services.member_join(room=self.rooms[0], user=self.bob)
