"""A room's settings page: owners and staff change the room and its members' roles; the
others never see the page; every change goes through the services (events, the log)."""

from django.test import TestCase
from django.urls import reverse

from chat import events
from chat.models import Membership, ModerationAction, Room

from .factories import add_member, make_room, make_user


class RoomSettingsPageTests(TestCase):
    def setUp(self):
        self.owner, self.mod, self.bob = make_user("owner"), make_user("mod"), make_user("bob")
        self.room = make_room("Garden")
        add_member(self.room, self.owner, role=Membership.Role.OWNER)
        add_member(self.room, self.mod, role=Membership.Role.MODERATOR)
        add_member(self.room, self.bob)
        self.url = reverse("chat:room_settings", kwargs={"slug": self.room.slug})

    def post_as(self, user, data):
        self.client.force_login(user)
        # Captured outermost: the events leave when the callbacks run, on the way out.
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(self.url, data)
        return response, sent

    def test_only_owners_and_staff_see_the_page(self):
        staff, eve = make_user("staff", is_staff=True), make_user("eve")
        expected = [(self.owner, 200), (staff, 200), (self.mod, 404), (self.bob, 404), (eve, 404)]
        for user, status in expected:
            self.client.force_login(user)
            self.assertEqual(self.client.get(self.url).status_code, status, user)
        self.client.logout()
        self.assertEqual(self.client.get(self.url).status_code, 302)

    def test_the_owner_renames_and_makes_private_live_and_logged(self):
        data = {"name": "Secret garden", "topic": "roses", "is_private": "on"}
        response, sent = self.post_as(self.owner, data)
        self.assertRedirects(response, self.url)
        room = Room.objects.get(pk=self.room.pk)
        self.assertEqual((room.name, room.topic, room.is_private), ("Secret garden", "roses", True))
        kinds = {event.kind for event in sent}
        self.assertLessEqual({events.ROOM_UPDATED, events.ROOM_ACCESS}, kinds)
        self.assertTrue(
            ModerationAction.objects.filter(
                kind=ModerationAction.Kind.MAKE_PRIVATE, actor=self.owner
            ).exists()
        )

    def test_a_taken_name_is_refused_and_nothing_changes(self):
        make_room("Lobby")
        response, sent = self.post_as(self.owner, {"name": "lobby", "topic": ""})
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "already exists")
        self.assertEqual(Room.objects.get(pk=self.room.pk).name, "Garden")
        self.assertEqual(sent, [])

    def test_a_moderator_posting_changes_nothing(self):
        response, sent = self.post_as(self.mod, {"name": "Mine now", "topic": ""})
        self.assertEqual(response.status_code, 404)
        self.assertEqual(Room.objects.get(pk=self.room.pk).name, "Garden")
        self.assertEqual(sent, [])

    def test_the_owner_sets_a_role_and_the_room_hears_it(self):
        response, sent = self.post_as(self.owner, {"username": "bob", "role": "moderator"})
        self.assertRedirects(response, self.url)
        self.assertEqual(
            Membership.objects.get(room=self.room, user=self.bob).role, Membership.Role.MODERATOR
        )
        self.assertIn(events.MEMBER_UPDATED, [event.kind for event in sent])

    def test_a_refused_role_change_says_why(self):
        # The only owner can't make themselves a plain member if the rule forbids it,
        # and nobody gets a role that does not exist.
        response, sent = self.post_as(self.owner, {"username": "bob", "role": "king"})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(Membership.objects.get(room=self.room, user=self.bob).role, "member")
        self.assertEqual(sent, [])

    def test_the_room_page_links_to_it_for_owners_only(self):
        page = reverse("chat:room_detail", kwargs={"slug": self.room.slug})
        self.client.force_login(self.owner)
        self.assertContains(self.client.get(page), f'href="{self.url}"')
        self.client.force_login(self.mod)
        self.assertNotContains(self.client.get(page), f'href="{self.url}"')
