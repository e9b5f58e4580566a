"""The access rule: its check on one room and its queryset filters say the same thing."""

import itertools
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.test import TestCase
from django.utils import timezone

from chat import policy
from chat.errors import Forbidden, Muted, NotFound, RoomArchived
from chat.models import Membership, Room

from .factories import make_room, make_user

Role = Membership.Role
# A user's relation to a room: no membership, or a membership with this role and ban.
RELATIONS = [None, *itertools.product(Role.values, (False, True))]


class RuleFormsAgreeTests(TestCase):
    """Every combination of room, membership and account, through every form of the rule."""

    def setUp(self):
        self.rooms = {}
        self.users = {}
        for number, (private, archived) in enumerate(itertools.product((False, True), repeat=2)):
            room = make_room(f"Room {number}", is_private=private, is_archived=archived)
            self.rooms[room.pk] = room
        for number, (relation, active) in enumerate(itertools.product(RELATIONS, (True, False))):
            user = make_user(f"user{number}")
            if not active:
                user.is_active = False
                user.save()
            self.users[user.pk] = user
            if relation is not None:
                role, banned = relation
                for room in self.rooms.values():
                    Membership.objects.create(room=room, user=user, role=role, banned=banned)

    def check(self, room: Room, user) -> bool:
        membership = Membership.objects.filter(room=room, user=user).first()
        return policy.room_access(room=room, membership=membership, user=user).see

    def test_visible_rooms_filter_equals_the_check(self):
        for user in self.users.values():
            by_filter = set(
                Room.objects.filter(policy.visible_rooms(user)).values_list("pk", flat=True)
            )
            by_check = {pk for pk, room in self.rooms.items() if self.check(room, user)}
            self.assertEqual(by_filter, by_check, user.username)

    def test_room_viewers_filter_equals_the_check(self):
        for room in self.rooms.values():
            by_filter = set(
                get_user_model()
                .objects.filter(policy.room_viewers(room))
                .values_list("pk", flat=True)
            )
            by_check = {pk for pk, user in self.users.items() if self.check(room, user)}
            self.assertEqual(by_filter, by_check, room.name)


class AccessTests(TestCase):
    def setUp(self):
        self.room = make_room("General")
        self.alice = make_user("alice")
        self.staff = make_user("staff", is_staff=True)

    def access(self, user, membership=None, room=None):
        return policy.room_access(room=room or self.room, membership=membership, user=user)

    def test_a_reader_of_a_public_room_sees_and_posts_but_does_not_moderate(self):
        access = self.access(self.alice)
        self.assertEqual(
            (access.see, access.post, access.moderate, access.role), (True, True, False, None)
        )

    def test_a_private_room_is_hidden_from_non_members_as_not_found(self):
        private = make_room("Secret", is_private=True)
        access = self.access(self.alice, room=private)
        with self.assertRaises(NotFound) as caught:
            policy.check_post(access)
        self.assertEqual(caught.exception.extra["reason"], "private")

    def test_a_ban_says_so(self):
        membership = Membership(room=self.room, user=self.alice, banned=True)
        with self.assertRaises(NotFound) as caught:
            policy.check_see(self.access(self.alice, membership))
        self.assertEqual(caught.exception.extra["reason"], "banned")

    def test_archived_rooms_are_read_only(self):
        self.room.is_archived = True
        access = self.access(self.alice)
        self.assertTrue(access.see)
        with self.assertRaises(RoomArchived):
            policy.check_post(access)

    def test_a_mute_holds_until_its_end(self):
        later = timezone.now() + timedelta(minutes=5)
        muted = Membership(room=self.room, user=self.alice, muted=True, muted_until=later)
        with self.assertRaises(Muted) as caught:
            policy.check_post(self.access(self.alice, muted))
        self.assertEqual(caught.exception.extra["until"], later)
        lapsed = Membership(
            room=self.room,
            user=self.alice,
            muted=True,
            muted_until=timezone.now() - timedelta(seconds=1),
        )
        policy.check_post(self.access(self.alice, lapsed))  # no error
        forever = Membership(room=self.room, user=self.alice, muted=True)
        self.assertTrue(self.access(self.alice, forever).muted)

    def test_who_acts_on_whom(self):
        owner, moderator, member = (make_user(name) for name in ("owner", "moderator", "member"))
        roles = {owner: Role.OWNER, moderator: Role.MODERATOR, member: Role.MEMBER}
        expected = {
            (owner, moderator): True,
            (owner, member): True,
            (moderator, member): True,
            (moderator, owner): False,
            (member, moderator): False,
            (owner, owner): False,  # nobody acts on themselves
        }
        for (actor, target), allowed in expected.items():
            access = self.access(actor, Membership(room=self.room, user=actor, role=roles[actor]))
            self.assertEqual(
                policy.can_act_on(
                    access=access, user=actor, target_user=target, target_role=roles[target]
                ),
                allowed,
                (actor.username, target.username),
            )
        staff_access = self.access(self.staff)
        self.assertTrue(
            policy.can_act_on(
                access=staff_access, user=self.staff, target_user=owner, target_role=Role.OWNER
            )
        )
        with self.assertRaises(Forbidden):
            policy.check_set_role(
                access=self.access(moderator, Membership(role=Role.MODERATOR)),
                user=moderator,
                role=Role.MEMBER,
            )

    def test_staff_moderate_a_private_room_they_do_not_belong_to(self):
        private = make_room("Secret", is_private=True)
        access = self.access(self.staff, room=private)
        self.assertEqual((access.see, access.moderate, access.manage_roles), (False, True, True))

    def test_a_deactivated_account_sees_nothing(self):
        self.alice.is_active = False
        self.assertFalse(self.access(self.alice).see)
