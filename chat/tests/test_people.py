"""People (docs/protocol.md, "People"): display names, where they show, the profile card,
and one's own profile through the API and the settings page."""

import json
from unittest import mock

from django.core.cache import cache
from django.test import TestCase
from django.urls import reverse

from chat import errors, events, selectors, services
from chat.models import DISPLAY_NAME_MAX, Profile
from chat.selectors import people
from chat.selectors.direct import direct_room_title
from chat.services import profiles
from notifications import selectors as inbox_selectors

from .factories import add_member, make_message, make_room, make_user, quiet_request_warnings


class PeopleTestCase(TestCase):
    def setUp(self):
        cache.clear()  # the profile's rate-limit bucket lives in the cache
        self.alice = make_user("alice")
        self.bob = make_user("bob")

    def rename(self, user, name):
        """Set a display name in a committed transaction; return (record, events sent)."""
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            record = services.profile_update(user=user, display_name=name)
        return record, sent


class DisplayNameTests(PeopleTestCase):
    def test_a_name_is_set_cleaned_and_cleared(self):
        record, _ = self.rename(self.alice, "  Alice \t  Liddell\n")
        self.assertEqual(
            record, {"id": self.alice.pk, "username": "alice", "display_name": "Alice Liddell"}
        )
        self.assertEqual(Profile.objects.get(user=self.alice).display_name, "Alice Liddell")
        record, _ = self.rename(self.alice, "")
        self.assertEqual(record["display_name"], "")

    def test_bad_names_are_refused_and_change_nothing(self):
        self.rename(self.alice, "Alice")
        for bad, error in [
            ("x" * 65, errors.TooLong),
            ("Al\u202eice", errors.Invalid),  # a right-to-left override disguises a name
            ("Al\x00ice", errors.Invalid),
            (42, errors.Invalid),
            (None, errors.Invalid),
        ]:
            with self.subTest(bad=bad), self.assertRaises(error):
                services.profile_update(user=self.alice, display_name=bad)
        self.assertEqual(Profile.objects.get(user=self.alice).display_name, "Alice")

    def test_emoji_joined_by_a_zero_width_joiner_are_a_name(self):
        record, _ = self.rename(self.alice, "Alice \U0001f469\u200d\U0001f4bb")
        self.assertEqual(record["display_name"], "Alice \U0001f469\u200d\U0001f4bb")

    def test_every_room_of_the_person_hears_of_the_change_at_once(self):
        general, random = make_room("General"), make_room("Random")
        banned_from = make_room("Elsewhere")
        add_member(general, self.alice)
        add_member(random, self.alice)
        add_member(banned_from, self.alice, banned=True)
        _, sent = self.rename(self.alice, "Alice L.")
        updates = {
            event.audience.room_id: event.data["member"]
            for event in sent
            if event.kind == events.MEMBER_UPDATED
        }
        self.assertEqual(set(updates), {general.pk, random.pk})
        self.assertEqual(updates[general.pk]["user"]["display_name"], "Alice L.")

    def test_setting_the_same_name_again_tells_no_one(self):
        add_member(make_room("General"), self.alice)
        self.rename(self.alice, "Alice")
        _, sent = self.rename(self.alice, "Alice")
        self.assertEqual(sent, [])

    def test_changes_are_rate_limited(self):
        with mock.patch.object(profiles, "PROFILE_CHANGES", 2):
            self.rename(self.alice, "One")
            self.rename(self.alice, "Two")
            with self.assertRaises(errors.RateLimited) as refused:
                services.profile_update(user=self.alice, display_name="Three")
        self.assertGreater(refused.exception.extra["retry_after"], 0)
        self.assertEqual(Profile.objects.get(user=self.alice).display_name, "Two")


class WhereNamesShowTests(PeopleTestCase):
    def setUp(self):
        super().setUp()
        self.room = make_room("General")
        add_member(self.room, self.alice)
        add_member(self.room, self.bob)
        self.rename(self.alice, "Alice Liddell")

    def test_messages_name_their_author_in_pages_catch_up_and_live(self):
        make_message(self.room, self.alice, "from the page")
        page = selectors.message_page(room=self.room)["messages"]
        since = selectors.messages_since(room=self.room, since=0)["messages"]
        stale = type(self.alice).objects.get(pk=self.alice.pk)
        stale.profile  # noqa: B018 (loads the profile, as a socket's user keeps it)
        self.rename(self.alice, "Alice L.")
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            services.message_send(room=self.room, author=stale, body="live")
        [live] = [event.data["message"] for event in sent if event.kind == events.MESSAGE_NEW]
        self.assertEqual(page[0]["author"]["display_name"], "Alice Liddell")
        self.assertEqual(since[0]["author"]["display_name"], "Alice Liddell")
        # Read when sent, not from the user the socket opened with.
        self.assertEqual(live["author"]["display_name"], "Alice L.")

    def test_people_without_a_name_show_an_empty_one(self):
        make_message(self.room, self.bob, "hi")
        [message] = selectors.message_page(room=self.room)["messages"]
        self.assertEqual(
            message["author"], {"id": self.bob.pk, "username": "bob", "display_name": ""}
        )

    def test_member_lists_and_the_people_search_name_people(self):
        members = {m["user"]["username"]: m["user"] for m in selectors.room_members(room=self.room)}
        self.assertEqual(members["alice"]["display_name"], "Alice Liddell")
        carol = make_user("carol")
        self.rename(carol, "Alicia Keys")
        found = people.user_search(prefix="ali", exclude_id=self.bob.pk)
        self.assertEqual([user["username"] for user in found], ["alice", "carol"])
        # A display name is found by its start, like a username.
        self.assertEqual([user["username"] for user in people.user_search(prefix="Keys")], [])

    def test_a_conversation_is_titled_by_display_names(self):
        room, _ = services.direct_open(starter=self.bob, usernames=["alice"])
        self.assertEqual(direct_room_title(room=room, user=self.bob), "Alice Liddell")
        [state] = [s for s in selectors.member_rooms(user=self.bob) if s["kind"] == "direct"]
        self.assertEqual(state["members"][0]["display_name"], "Alice Liddell")

    def test_a_notification_names_its_actor(self):
        with self.captureOnCommitCallbacks(execute=True):
            services.message_send(room=self.room, author=self.alice, body="@bob look")
        [notification] = inbox_selectors.notification_page(user=self.bob)["notifications"]
        self.assertEqual(notification["actor"]["display_name"], "Alice Liddell")
        self.client.force_login(self.bob)
        inbox = self.client.get(reverse("notifications:inbox"))
        self.assertContains(inbox, "Alice Liddell (@alice)</span>")


class ProfileCardTests(PeopleTestCase):
    def card(self, viewer, username):
        self.client.force_login(viewer)
        return self.client.get(reverse("chat:api_user", kwargs={"username": username}))

    def test_the_card_shows_who_they_are_and_the_rooms_both_read(self):
        quiet_request_warnings(self)
        self.rename(self.bob, "Bob B.")
        both = make_room("Both")
        only_bob_private = make_room("Secret", is_private=True)
        bob_public = make_room("Bobs")  # public, but alice is not a member
        banned = make_room("Banned")
        for room in (both, banned):
            add_member(room, self.alice)
            add_member(room, self.bob)
        add_member(only_bob_private, self.bob)
        add_member(bob_public, self.bob)
        banned.memberships.filter(user=self.alice).update(banned=True)
        response = self.card(self.alice, "bob")
        self.assertEqual(response.status_code, 200)
        card = response.json()
        self.assertEqual(
            {key: card["user"][key] for key in ("id", "username", "display_name", "staff")},
            {"id": self.bob.pk, "username": "bob", "display_name": "Bob B.", "staff": False},
        )
        self.assertTrue(card["user"]["date_joined"].endswith("Z"))
        self.assertEqual(
            card["rooms_in_common"], [{"slug": "both", "name": "Both", "url": "/rooms/both/"}]
        )
        self.assertEqual((card["direct"], card["is_self"]), (None, False))

    def test_the_card_leads_to_the_conversation_that_exists(self):
        room, _ = services.direct_open(starter=self.bob, usernames=["alice"])
        card = self.card(self.alice, "bob").json()
        self.assertEqual(card["direct"], {"slug": room.slug, "url": room.get_absolute_url()})
        # A conversation is no room "in common".
        self.assertEqual(card["rooms_in_common"], [])
        self.assertTrue(self.card(self.alice, "alice").json()["is_self"])

    def test_unknown_and_deactivated_people_have_no_card(self):
        quiet_request_warnings(self)
        self.bob.is_active = False
        self.bob.save()
        for username in ("bob", "nobody"):
            with self.subTest(username=username):
                response = self.card(self.alice, username)
                self.assertEqual(response.status_code, 404)
                self.assertIn("error", response.json())

    def test_signed_out_callers_get_a_401(self):
        quiet_request_warnings(self)
        response = self.client.get(reverse("chat:api_user", kwargs={"username": "bob"}))
        self.assertEqual(response.status_code, 401)


class ProfileApiTests(PeopleTestCase):
    def post(self, data):
        self.client.force_login(self.alice)
        body = data if isinstance(data, str) else json.dumps(data)
        return self.client.post(reverse("chat:api_profile"), body, content_type="application/json")

    def test_read_and_change_the_display_name(self):
        self.client.force_login(self.alice)
        self.assertEqual(
            self.client.get(reverse("chat:api_profile")).json(),
            {"username": "alice", "display_name": ""},
        )
        response = self.post({"display_name": "Alice Liddell"})
        self.assertEqual(response.json(), {"username": "alice", "display_name": "Alice Liddell"})

    def test_bad_input_is_a_clear_400_that_changes_nothing(self):
        quiet_request_warnings(self)
        for body in ({"display_name": "x" * 100}, {"display_name": 3}, {}, "[1]", "{"):
            with self.subTest(body=body):
                response = self.post(body)
                self.assertEqual(response.status_code, 400)
                self.assertIn("error", response.json())
        self.assertFalse(Profile.objects.filter(user=self.alice).exclude(display_name="").exists())

    def test_the_body_is_read_by_its_schema_with_the_profiles_rule(self):
        quiet_request_warnings(self)
        cases = [
            ({"display_name": ["Alice"]}, "bad_frame", "'display_name' must be a string."),
            ({"display_name": None}, "bad_frame", "'display_name' must be a string."),
            ({"name": "Alice"}, "bad_frame", "Give 'display_name' (\"\" for none)."),
            ("", "bad_json", "The request body is not valid JSON."),
        ]
        for body, code, detail in cases:
            with self.subTest(body=body):
                response = self.post(body)
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.json()["error"], {"code": code, "detail": detail})
        self.assertFalse(Profile.objects.filter(user=self.alice).exclude(display_name="").exists())
        # Cleaned as the settings page cleans it.
        self.assertEqual(
            self.post({"display_name": "  Alice \t Liddell "}).json()["display_name"],
            "Alice Liddell",
        )

    def test_the_schema_names_the_body_and_the_answers(self):
        schema = self.client.get("/api/schema/").json()
        components = schema["components"]["schemas"]
        profile = schema["paths"]["/api/profile/"]
        self.assertEqual(
            (profile["get"]["operationId"], profile["post"]["operationId"]),
            ("api_profile_get", "api_profile_post"),
        )
        self.assertNotIn("requestBody", profile["get"])
        body = profile["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        field = components[body.rsplit("/", 1)[1]]["properties"]["display_name"]
        self.assertEqual((field["type"], field["maxLength"]), ("string", DISPLAY_NAME_MAX))
        card = schema["paths"]["/api/users/{username}/"]["get"]["responses"]["200"]
        card = card["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        self.assertEqual(
            set(components[card]["properties"]), {"user", "rooms_in_common", "direct", "is_self"}
        )


class ProfilePageTests(PeopleTestCase):
    def test_the_page_saves_the_name_and_the_top_bar_shows_it(self):
        self.client.force_login(self.alice)
        url = reverse("chat:profile_settings")
        response = self.client.post(url, {"display_name": "Alice Liddell"}, follow=True)
        self.assertContains(response, "Your profile is saved.")
        self.assertContains(response, 'value="Alice Liddell"')
        self.assertContains(
            response, '<span class="topbar-username">Alice Liddell</span>', html=True
        )

    def test_a_refused_name_shows_why_on_the_page(self):
        self.client.force_login(self.alice)
        response = self.client.post(reverse("chat:profile_settings"), {"display_name": "A\u202eB"})
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "invisible characters")
        self.assertFalse(Profile.objects.filter(user=self.alice).exclude(display_name="").exists())

    def test_signed_out_visitors_are_sent_to_log_in(self):
        response = self.client.get(reverse("chat:profile_settings"))
        self.assertEqual(response.status_code, 302)
        self.assertIn(reverse("login"), response["Location"])


class AdminTests(PeopleTestCase):
    def test_staff_change_a_display_name_and_the_rooms_hear_of_it(self):
        staff = make_user("root", is_staff=True, is_superuser=True)
        add_member(make_room("General"), self.alice)
        self.client.force_login(staff)
        url = reverse("admin:auth_user_change", args=[self.alice.pk])
        page = self.client.get(url)
        form = page.context["adminform"].form
        data = {
            name: value
            for name, value in form.initial.items()
            if value is not None and not isinstance(value, list | tuple)
        }
        data.update(
            {
                "username": "alice",
                "date_joined_0": self.alice.date_joined.strftime("%Y-%m-%d"),
                "date_joined_1": self.alice.date_joined.strftime("%H:%M:%S"),
                "is_active": "on",
                "profile-TOTAL_FORMS": "1",
                "profile-INITIAL_FORMS": "0",
                "profile-MIN_NUM_FORMS": "0",
                "profile-MAX_NUM_FORMS": "1",
                "profile-0-display_name": "Offensive name removed",
                "profile-0-user": str(self.alice.pk),
            }
        )
        data.pop("last_login", None)
        data.pop("password", None)
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(url, data)
        self.assertEqual(response.status_code, 302)
        self.assertEqual(
            Profile.objects.get(user=self.alice).display_name, "Offensive name removed"
        )
        self.assertIn(events.MEMBER_UPDATED, [event.kind for event in sent])
        listing = self.client.get(reverse("admin:auth_user_changelist"), {"q": "Offensive"})
        self.assertContains(listing, "Offensive name removed")
