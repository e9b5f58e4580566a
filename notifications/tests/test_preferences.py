"""Notification preferences: user defaults and per-room settings, their effect on the
inbox, the room list, the API, the settings page and the admin."""

import json

from django.contrib.messages import get_messages
from django.db import transaction
from django.test import Client, TestCase
from django.urls import reverse

from chat import events, snapshot
from chat import services as chat_services
from chat.errors import Invalid, NotFound
from chat.models import Room
from chat.tests.factories import (
    add_member,
    make_message,
    make_room,
    make_user,
    quiet_request_warnings,
)
from notifications import selectors, services
from notifications.events import PREFERENCES_UPDATED
from notifications.models import Notification, NotificationDefaults, RoomNotificationSetting

from .factories import send_mentions_changed

PREFERENCES_URL = reverse("notifications:api_preferences")
SETTINGS_URL = reverse("notifications:settings")
ROOMS_URL = reverse("chat:api_rooms")


def notify(level: str, *, muted: bool = False, custom: bool = False) -> dict:
    return {"level": level, "muted": muted, "custom": custom}


def room_preferences_url(slug: str) -> str:
    return reverse("notifications:api_room_preferences", kwargs={"slug": slug})


class PreferencesTestCase(TestCase):
    def setUp(self):
        self.alice, self.bob = make_user("alice"), make_user("bob")
        self.general, self.random = make_room("General"), make_room("Random")
        for room in (self.general, self.random):
            add_member(room, self.alice)
            add_member(room, self.bob)

    def set_room(self, room, user=None, **changes) -> dict:
        return services.room_notify_set(user=user or self.bob, room=room, **changes)

    def preference_events(self, write) -> list[events.Event]:
        """Run `write`, committed; return the preferences.updated events it sent."""
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            write()
        return [event for event in sent if event.kind == PREFERENCES_UPDATED]


class EffectiveLevelTests(PreferencesTestCase):
    def test_without_any_setting_mentions_is_the_level(self):
        self.assertEqual(
            selectors.defaults_for(user=self.bob), {"level": "mentions", "desktop": True}
        )
        self.assertEqual(
            selectors.room_notify(user=self.bob),
            {self.general.pk: notify("mentions"), self.random.pk: notify("mentions")},
        )
        self.assertFalse(NotificationDefaults.objects.exists(), "reading creates no row")

    def test_a_rooms_own_level_wins_and_default_follows_the_users(self):
        services.defaults_set(user=self.bob, level="nothing")
        self.set_room(self.general, level="all")
        self.set_room(self.random, level="default", muted=True)
        self.assertEqual(
            selectors.room_notify(user=self.bob),
            {
                self.general.pk: notify("all", custom=True),
                self.random.pk: notify("nothing", muted=True),
            },
        )
        # Someone else's settings are theirs alone.
        self.assertEqual(
            selectors.room_notify(user=self.alice)[self.general.pk], notify("mentions")
        )

    def test_a_room_back_to_default_and_unmuted_keeps_no_row(self):
        self.set_room(self.general, level="all", muted=True)
        self.set_room(self.general, level="default", muted=False)
        self.assertFalse(RoomNotificationSetting.objects.exists())
        self.assertEqual(selectors.room_notify(user=self.bob)[self.general.pk], notify("mentions"))

    def test_every_member_room_in_one_query(self):
        for number in range(8):
            room = make_room(f"Room {number}")
            add_member(room, self.bob)
            self.set_room(room, level="nothing" if number % 2 else "default", muted=number > 4)
        add_member(make_room("Banned from"), self.bob, banned=True)
        make_room("Not a member")
        with self.assertNumQueries(1):
            rooms = selectors.room_notify(user=self.bob)
        self.assertEqual(len(rooms), 10)

    def test_rooms_by_id_include_rooms_that_are_gone(self):
        public = make_room("Public")  # not a member: seen by id
        self.set_room(public, level="all")
        gone = make_room("Gone")
        gone_id = gone.pk
        gone.delete()
        self.assertEqual(
            selectors.room_notify(user=self.bob, room_ids=[public.pk, gone_id]),
            {public.pk: notify("all", custom=True), gone_id: notify("mentions")},
        )


class RoomNotifySetTests(PreferencesTestCase):
    def test_one_event_with_the_defaults_and_the_room(self):
        [event] = self.preference_events(lambda: self.set_room(self.general, level="all"))
        self.assertEqual(event.audience, events.to_users([self.bob.pk]))
        self.assertEqual(
            event.data,
            {
                "defaults": {"level": "mentions", "desktop": True},
                "rooms": [{"slug": "general", "notify": notify("all", custom=True)}],
            },
        )
        [event] = self.preference_events(lambda: self.set_room(self.general, muted=True))
        self.assertEqual(event.data["rooms"][0]["notify"], notify("all", muted=True, custom=True))

    def test_a_change_that_changes_nothing_tells_no_one(self):
        self.set_room(self.general, level="all")
        self.assertEqual(
            self.preference_events(lambda: self.set_room(self.general, level="all")), []
        )
        # "mentions" as the room's own level is a change even where it is the default too.
        [event] = self.preference_events(lambda: self.set_room(self.random, level="mentions"))
        self.assertEqual(event.data["rooms"][0]["notify"], notify("mentions", custom=True))

    def test_bad_values_are_refused_and_store_nothing(self):
        for changes in (
            {"level": "loud"},
            {"level": "DEFAULT"},
            {"level": 1},
            {"level": ["all"]},
            {"muted": "true"},
            {"muted": 1},
        ):
            with self.subTest(changes=changes), self.assertRaises(Invalid):
                self.set_room(self.general, **changes)
        self.assertFalse(RoomNotificationSetting.objects.exists())

    def test_only_rooms_the_user_may_see(self):
        secret = make_room("Secret", is_private=True)
        banned = make_room("Banned")
        add_member(banned, self.bob, banned=True)
        for room in (secret, banned):
            with self.subTest(room=room.slug), self.assertRaises(NotFound):
                self.set_room(room, level="all")
        self.assertFalse(RoomNotificationSetting.objects.exists())
        # A public room they read without being a member is theirs to set.
        self.assertEqual(
            self.set_room(make_room("Public"), muted=True), notify("mentions", muted=True)
        )

    def test_a_rolled_back_write_sends_nothing(self):
        def write_then_fail():
            with transaction.atomic():
                self.set_room(self.general, level="all")
                raise RuntimeError("after the write")

        def write():
            with self.assertRaises(RuntimeError):
                write_then_fail()

        self.assertEqual(self.preference_events(write), [])
        self.assertFalse(RoomNotificationSetting.objects.exists())


class DefaultsSetTests(PreferencesTestCase):
    def test_a_level_change_lists_the_member_rooms_that_follow_it(self):
        self.set_room(self.general, level="all")
        self.set_room(self.random, muted=True)
        following = make_room("Following")
        add_member(following, self.bob)
        self.set_room(make_room("Public"), level="default", muted=True)  # not a member
        [event] = self.preference_events(
            lambda: services.defaults_set(user=self.bob, level="nothing")
        )
        self.assertEqual(event.audience, events.to_users([self.bob.pk]))
        self.assertEqual(event.data["defaults"], {"level": "nothing", "desktop": True})
        self.assertEqual(
            sorted(event.data["rooms"], key=lambda room: room["slug"]),
            [
                {"slug": "following", "notify": notify("nothing")},
                {"slug": "random", "notify": notify("nothing", muted=True)},
            ],
        )

    def test_desktop_alone_lists_no_room(self):
        [event] = self.preference_events(
            lambda: services.defaults_set(user=self.bob, desktop=False)
        )
        self.assertEqual(
            event.data, {"defaults": {"level": "mentions", "desktop": False}, "rooms": []}
        )
        self.assertEqual(
            selectors.defaults_for(user=self.bob), {"level": "mentions", "desktop": False}
        )

    def test_the_same_values_again_tell_no_one(self):
        def same():
            self.assertEqual(
                services.defaults_set(user=self.bob, level="mentions", desktop=True),
                {"level": "mentions", "desktop": True},
            )

        self.assertEqual(self.preference_events(same), [])

    def test_bad_values_are_refused(self):
        for changes in ({"level": "default"}, {"level": "loud"}, {"desktop": "no"}, {"desktop": 0}):
            with self.subTest(changes=changes), self.assertRaises(Invalid):
                services.defaults_set(user=self.bob, **changes)
        self.assertFalse(NotificationDefaults.objects.exists())


class InboxEffectTests(PreferencesTestCase):
    def setUp(self):
        super().setUp()
        self.carol = make_user("carol")
        add_member(self.general, self.carol)

    def mention(self, kind: str) -> set[int]:
        """Mention bob and carol in General with `kind`; return who was notified."""
        message = make_message(self.general, self.alice, "@bob @carol")
        send_mentions_changed(message, added={self.bob.pk: kind, self.carol.pk: kind})
        return set(Notification.objects.filter(message=message).values_list("user_id", flat=True))

    def test_a_room_at_nothing_notifies_of_no_mention_of_any_kind(self):
        self.set_room(self.general, level="nothing")
        for kind in ("user", "room", "here"):
            with self.subTest(kind=kind):
                self.assertEqual(self.mention(kind), {self.carol.pk})

    def test_a_default_of_nothing_silences_rooms_that_follow_it(self):
        services.defaults_set(user=self.bob, level="nothing")
        self.assertEqual(self.mention("user"), {self.carol.pk})
        self.set_room(self.general, level="mentions")  # the room's own level wins
        self.assertEqual(self.mention("user"), {self.bob.pk, self.carol.pk})

    def test_a_muted_room_still_fills_the_inbox(self):
        self.set_room(self.general, muted=True)
        services.defaults_set(user=self.bob, level="all")
        self.assertEqual(self.mention("user"), {self.bob.pk, self.carol.pk})

    def test_another_rooms_setting_changes_nothing_here(self):
        self.set_room(self.random, level="nothing")
        self.assertEqual(self.mention("room"), {self.bob.pk, self.carol.pk})

    def test_a_message_sent_through_chat_respects_it(self):
        self.set_room(self.general, level="nothing")
        chat_services.message_send(room=self.general, author=self.alice, body="@bob @carol hi")
        self.assertEqual(
            set(Notification.objects.values_list("user_id", flat=True)), {self.carol.pk}
        )

    def test_the_filter_is_one_query_whatever_the_people_mentioned(self):
        self.set_room(self.general, level="nothing")
        many = [make_user(f"user{number}") for number in range(10)]
        for user in many:
            add_member(self.general, user)
            services.defaults_set(user=user, level="nothing")
        message = make_message(self.general, self.alice, "@room")
        with self.assertNumQueries(1):
            silenced = selectors.silenced_user_ids(
                room_id=self.general.pk,
                user_ids=[self.bob.pk, self.carol.pk, *(u.pk for u in many)],
            )
        self.assertEqual(silenced, {self.bob.pk, *(user.pk for user in many)})
        send_mentions_changed(message, added={user.pk: "room" for user in many})
        self.assertFalse(Notification.objects.filter(message=message).exists())


class ApiTestCase(PreferencesTestCase):
    def setUp(self):
        super().setUp()
        quiet_request_warnings(self)
        self.client.force_login(self.bob)

    def post(self, url, body, client=None):
        content = body if isinstance(body, str) else json.dumps(body)
        return (client or self.client).post(url, content, content_type="application/json")

    def assertError(self, response, status: int, code: str = "bad_frame") -> str:
        self.assertEqual(response.status_code, status, response.content)
        self.assertEqual(response.json()["error"]["code"], code)
        return response.json()["error"]["detail"]


class PreferencesApiTests(ApiTestCase):
    def test_get_lists_the_defaults_and_the_member_rooms_by_name(self):
        self.set_room(self.random, level="all", muted=True)
        add_member(make_room("Banned"), self.bob, banned=True)
        make_room("Public")
        response = self.client.get(PREFERENCES_URL)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            response.json(),
            {
                "defaults": {"level": "mentions", "desktop": True},
                "rooms": [
                    {"slug": "general", "name": "General", "notify": notify("mentions")},
                    {
                        "slug": "random",
                        "name": "Random",
                        "notify": notify("all", muted=True, custom=True),
                    },
                ],
            },
        )

    def test_post_changes_the_defaults(self):
        response = self.post(PREFERENCES_URL, {"level": "all"})
        self.assertEqual(
            (response.status_code, response.json()), (200, {"level": "all", "desktop": True})
        )
        response = self.post(PREFERENCES_URL, {"desktop": False, "level": "nothing"})
        self.assertEqual(response.json(), {"level": "nothing", "desktop": False})
        self.assertEqual(
            selectors.defaults_for(user=self.bob), {"level": "nothing", "desktop": False}
        )

    def test_bad_defaults_are_refused(self):
        for body, code in [
            ("not json", "bad_json"),
            ([], "bad_frame"),
            ({}, "bad_frame"),
            ({"level": "default"}, "bad_frame"),
            ({"level": None}, "bad_frame"),
            ({"desktop": "false"}, "bad_frame"),
            ({"muted": True}, "bad_frame"),
            ({"level": "all", "sound": True}, "bad_frame"),
        ]:
            with self.subTest(body=body):
                self.assertError(self.post(PREFERENCES_URL, body), 400, code)
        self.assertFalse(NotificationDefaults.objects.exists())
        detail = self.assertError(self.post(PREFERENCES_URL, {"sound": True}), 400)
        self.assertIn("'sound'", detail)

    def test_logged_out_and_methods(self):
        self.assertEqual(self.client.put(PREFERENCES_URL).status_code, 405)
        self.assertEqual(self.client.get(room_preferences_url("general")).status_code, 405)
        self.client.logout()
        for response in (
            self.client.get(PREFERENCES_URL),
            self.post(PREFERENCES_URL, {"level": "all"}),
            self.post(room_preferences_url("general"), {"level": "all"}),
        ):
            self.assertError(response, 401, "unauthenticated")

    def test_posts_need_the_csrf_token(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.bob)
        self.assertEqual(self.post(PREFERENCES_URL, {"level": "all"}, client).status_code, 403)
        url = room_preferences_url("general")
        self.assertEqual(self.post(url, {"level": "all"}, client).status_code, 403)
        self.assertFalse(NotificationDefaults.objects.exists())
        self.assertFalse(RoomNotificationSetting.objects.exists())


class RoomPreferencesApiTests(ApiTestCase):
    def test_sets_a_rooms_level_and_mute(self):
        url = room_preferences_url("general")
        response = self.post(url, {"level": "nothing"})
        self.assertEqual(
            (response.status_code, response.json()),
            (200, {"room": "general", "notify": notify("nothing", custom=True)}),
        )
        response = self.post(url, {"muted": True, "level": "default"})
        self.assertEqual(
            response.json(), {"room": "general", "notify": notify("mentions", muted=True)}
        )

    def test_bad_bodies_are_refused(self):
        url = room_preferences_url("general")
        for body, code in [
            ("{", "bad_json"),
            ({}, "bad_frame"),
            ({"level": "loud"}, "bad_frame"),
            ({"level": None}, "bad_frame"),
            ({"muted": "yes"}, "bad_frame"),
            ({"muted": None}, "bad_frame"),
            ({"desktop": True}, "bad_frame"),
            ({"level": "all", "room": "random"}, "bad_frame"),
        ]:
            with self.subTest(body=body):
                self.assertError(self.post(url, body), 400, code)
        self.assertFalse(RoomNotificationSetting.objects.exists())

    def test_rooms_the_caller_may_not_see_are_not_found(self):
        secret = make_room("Secret", is_private=True)
        add_member(secret, self.alice)
        banned = make_room("Banned")
        add_member(banned, self.bob, banned=True)
        for slug in ("secret", "banned", "nowhere"):
            with self.subTest(slug=slug):
                self.assertError(
                    self.post(room_preferences_url(slug), {"level": "all"}), 404, "not_found"
                )
            # A bad body does not tell a hidden room from a missing one either: it is
            # refused before the room is looked at, for every room alike.
            self.assertError(self.post(room_preferences_url(slug), {"x": 1}), 400, "bad_frame")
        self.assertFalse(RoomNotificationSetting.objects.exists())


class PreferencesSchemaTests(ApiTestCase):
    """The preferences' bodies are read and described by their schemas."""

    def test_a_number_where_a_flag_goes_is_refused_and_stores_nothing(self):
        self.assertError(self.post(PREFERENCES_URL, {"desktop": 0}), 400)
        self.assertError(self.post(room_preferences_url("general"), {"muted": 1}), 400)
        self.assertError(self.post(room_preferences_url("general"), {"level": 1}), 400)
        self.assertFalse(NotificationDefaults.objects.exists())
        self.assertFalse(RoomNotificationSetting.objects.exists())

    def test_an_absent_body_is_not_json(self):
        for url in (PREFERENCES_URL, room_preferences_url("general")):
            with self.subTest(url=url):
                self.assertError(self.post(url, ""), 400, "bad_json")

    def test_the_schema_names_the_bodies_fields(self):
        schema = self.client.get("/api/schema/").json()

        def body(path: str) -> dict:
            operation = schema["paths"][path]["post"]
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]

        defaults = body("/api/preferences/")
        self.assertEqual(set(defaults["properties"]), {"level", "desktop"})
        self.assertIs(defaults["additionalProperties"], False)
        room = body("/api/rooms/{slug}/preferences/")
        self.assertEqual(set(room["properties"]), {"level", "muted"})
        self.assertIn("default", room["properties"]["level"]["enum"])
        operations = schema["paths"]["/api/preferences/"]
        self.assertEqual(
            {method: operation["operationId"] for method, operation in operations.items()},
            {"get": "api_preferences_get", "post": "api_preferences_post"},
        )


class RoomStateTests(ApiTestCase):
    def rooms(self) -> dict[str, dict]:
        response = self.client.get(ROOMS_URL)
        self.assertEqual(response.status_code, 200)
        return {room["slug"]: room for room in response.json()["rooms"]}

    def test_the_room_list_carries_each_rooms_notify(self):
        self.set_room(self.random, level="all", muted=True)
        rooms = self.rooms()
        self.assertEqual(rooms["general"]["notify"], notify("mentions"))
        self.assertEqual(rooms["random"]["notify"], notify("all", muted=True, custom=True))

    def test_a_read_marker_answer_carries_it_too(self):
        self.set_room(self.general, level="nothing")
        url = reverse("chat:api_room_read", kwargs={"slug": "general"})
        answer = self.post(url, {"rev": 0}).json()
        self.assertEqual(answer["room"]["notify"], notify("nothing", custom=True))

    def test_snapshot_plus_events_equals_a_fresh_fetch(self):
        """Zulip's verify_action: preferences.updated applied to an old GET /api/rooms/."""
        away = make_room("Away")
        add_member(away, self.bob)
        room_url = room_preferences_url
        writes = [
            lambda: self.post(room_url("general"), {"level": "all"}),
            lambda: self.post(PREFERENCES_URL, {"level": "nothing"}),
            lambda: self.post(room_url("random"), {"muted": True}),
            lambda: self.post(PREFERENCES_URL, {"desktop": False}),
            lambda: self.post(room_url("general"), {"level": "default"}),
            lambda: self.post(PREFERENCES_URL, {"level": "all"}),
            lambda: self.post(room_url("away"), {"level": "mentions", "muted": True}),
        ]
        for number, write in enumerate(writes):
            with self.subTest(write=number):
                held = self.rooms()
                with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
                    self.assertEqual(write().status_code, 200)
                mine = [event for event in sent if self.bob.pk in event.audience.user_ids]
                self.assertEqual([event.kind for event in mine], [PREFERENCES_UPDATED])
                for event in mine:
                    held = snapshot.apply_event(held, event.kind, event.data, me=self.bob.pk)
                self.assertEqual(held, self.rooms())
        self.assertEqual(
            {slug: room["notify"] for slug, room in self.rooms().items()},
            {
                "general": notify("all"),
                "random": notify("all", muted=True),
                "away": notify("mentions", muted=True, custom=True),
            },
        )


class SettingsPageTests(PreferencesTestCase):
    def setUp(self):
        super().setUp()
        self.client.force_login(self.bob)

    def flashes(self, response) -> list[str]:
        return [str(message) for message in get_messages(response.wsgi_request)]

    def test_needs_a_login(self):
        self.client.logout()
        response = self.client.get(SETTINGS_URL)
        self.assertRedirects(response, f"{reverse('login')}?next={SETTINGS_URL}")

    def test_shows_the_defaults_and_a_form_per_room(self):
        services.defaults_set(user=self.bob, level="all", desktop=False)
        self.set_room(self.random, level="nothing", muted=True)
        make_room("Public")  # not a member: not listed
        response = self.client.get(SETTINGS_URL)
        self.assertEqual(response.status_code, 200)
        self.assertTemplateUsed(response, "notifications/settings.html")
        self.assertEqual(
            response.context["defaults_form"].initial, {"level": "all", "desktop": False}
        )
        self.assertEqual(
            [room["slug"] for room in response.context["rooms"]], ["general", "random"]
        )
        self.assertContains(response, 'id="notify-general"')
        self.assertContains(response, 'id="notify-random"')
        self.assertContains(
            response,
            '<option value="default" selected>Default (every message)</option>',
            html=True,
        )
        self.assertContains(
            response, '<option value="nothing" selected>Nothing</option>', html=True
        )
        self.assertContains(
            response,
            '<input type="checkbox" name="muted" form="notify-random" id="id_random_muted"'
            " checked>",
            html=True,
        )
        self.assertNotContains(response, "Public")
        self.assertContains(response, f'href="{SETTINGS_URL}"')  # the top bar's link

    def test_saving_the_defaults_redirects_with_a_message(self):
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(SETTINGS_URL, {"level": "nothing"})  # desktop unticked
        self.assertRedirects(response, SETTINGS_URL)
        self.assertEqual(self.flashes(response), ["Your notification defaults are saved."])
        self.assertEqual(
            selectors.defaults_for(user=self.bob), {"level": "nothing", "desktop": False}
        )
        self.assertEqual([event.kind for event in sent], [PREFERENCES_UPDATED])

    def test_saving_a_room_row(self):
        response = self.client.post(SETTINGS_URL, {"room": "random", "level": "all", "muted": "on"})
        self.assertRedirects(response, SETTINGS_URL)
        self.assertEqual(self.flashes(response), ["Saved: #Random."])
        self.assertEqual(
            selectors.room_notify(user=self.bob),
            {
                self.general.pk: notify("mentions"),
                self.random.pk: notify("all", muted=True, custom=True),
            },
        )
        # Unticking mute and choosing the default again leaves the room as if never set.
        self.client.post(SETTINGS_URL, {"room": "random", "level": "default"})
        self.assertFalse(RoomNotificationSetting.objects.exists())

    def test_bad_input_shows_the_form_again_and_saves_nothing(self):
        response = self.client.post(SETTINGS_URL, {"level": "loud"})
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.context["defaults_form"].errors["level"])
        response = self.client.post(SETTINGS_URL, {"room": "general", "level": "loud"})
        self.assertEqual(response.status_code, 200)
        [general, _random] = response.context["rooms"]
        self.assertTrue(general["form"].errors["level"])
        self.assertFalse(NotificationDefaults.objects.exists())
        self.assertFalse(RoomNotificationSetting.objects.exists())

    def test_a_room_that_is_not_theirs_is_not_found(self):
        secret = make_room("Secret", is_private=True)
        add_member(secret, self.alice)
        for slug in ("secret", "nowhere", "not a slug"):
            with self.subTest(slug=slug):
                response = self.client.post(SETTINGS_URL, {"room": slug, "level": "all"})
                self.assertEqual(response.status_code, 404)
        self.assertFalse(RoomNotificationSetting.objects.exists())

    def test_posts_need_the_csrf_token(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.bob)
        self.assertEqual(client.post(SETTINGS_URL, {"level": "all"}).status_code, 403)
        self.assertFalse(NotificationDefaults.objects.exists())


class SettingAdminTests(TestCase):
    def test_staff_read_the_settings_and_change_none(self):
        self.client.force_login(make_user("root", is_staff=True, is_superuser=True))
        bob = make_user("bob")
        room = make_room("General")
        setting = RoomNotificationSetting.objects.create(user=bob, room=room, level="nothing")
        changelist = reverse("admin:notifications_roomnotificationsetting_changelist")
        response = self.client.get(changelist)
        self.assertContains(response, "bob")
        self.assertContains(response, "General")
        self.assertEqual(self.client.get(changelist + "add/").status_code, 403)
        change = reverse("admin:notifications_roomnotificationsetting_change", args=[setting.pk])
        self.client.post(change, {"level": "all"})
        self.assertEqual(RoomNotificationSetting.objects.get().level, "nothing")
        delete = reverse("admin:notifications_roomnotificationsetting_delete", args=[setting.pk])
        self.assertEqual(self.client.post(delete, {"post": "yes"}).status_code, 403)
        self.assertTrue(Room.objects.exists() and RoomNotificationSetting.objects.exists())
