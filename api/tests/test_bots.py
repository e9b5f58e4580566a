"""Bot accounts: made with their token by a command (or marked by staff in the admin),
signed in by that token alone, and marked as a bot's wherever their messages show."""

import io

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import TestCase
from django.urls import reverse

from chat import selectors, services
from chat.models import Profile
from chat.tests.factories import add_member, make_room, make_user


class BotTestCase(TestCase):
    def setUp(self):
        cache.clear()
        self.room = make_room("General")

    def create_bot(self, username="helper", *extra) -> str:
        out, err = io.StringIO(), io.StringIO()
        call_command("create_bot", username, *extra, stdout=out, stderr=err)
        return out.getvalue().strip()

    def test_the_command_makes_a_bot_without_password_and_prints_its_token_once(self):
        raw = self.create_bot("helper", "--display-name", "Helper Bot")
        bot = get_user_model().objects.get(username="helper")
        self.assertFalse(bot.has_usable_password())
        self.assertEqual((bot.profile.is_bot, bot.profile.display_name), (True, "Helper Bot"))
        self.assertTrue(raw.startswith("chat_"))
        # The token signs the bot in; the printed text is nowhere stored.
        response = self.client.get(reverse("chat:api_rooms"), HTTP_AUTHORIZATION=f"Bearer {raw}")
        self.assertEqual(response.status_code, 200)
        self.assertFalse(bot.api_tokens.filter(key_hash=raw).exists())

    def test_a_taken_or_bad_username_is_refused_and_nothing_is_made(self):
        make_user("alice")
        for username in ["ALICE", "no spaces allowed", ""]:
            with self.subTest(username=username), self.assertRaises(CommandError):
                self.create_bot(username)
        self.assertFalse(Profile.objects.filter(is_bot=True).exists())

    def test_a_bots_messages_say_so_live_in_pages_and_on_the_page(self):
        raw = self.create_bot("helper")
        bot = get_user_model().objects.get(username="helper")
        alice = make_user("alice")
        add_member(self.room, alice)
        response = self.client.post(
            reverse("chat:api_room_messages", args=["general"]),
            {"body": "beep"},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {raw}",
        )
        self.assertEqual(response.status_code, 201)
        self.assertEqual(
            response.json()["message"]["author"],
            {"id": bot.pk, "username": "helper", "display_name": "", "bot": True},
        )
        services.message_send(room=self.room, author=alice, body="hi")
        authors = [m["author"] for m in selectors.message_page(room=self.room)["messages"]]
        self.assertEqual([a.get("bot") for a in authors], [True, None])  # a person's has none
        self.client.force_login(alice)
        page = self.client.get(self.room.get_absolute_url())
        self.assertContains(page, 'data-author-bot="true"', count=1)
        self.assertContains(page, '<span class="bot-badge"', count=1)
        # The profile card says so too; a person's has no "bot" at all.
        card = self.client.get(reverse("chat:api_user", args=["helper"])).json()
        self.assertIs(card["user"]["bot"], True)
        card = self.client.get(reverse("chat:api_user", args=["alice"])).json()
        self.assertNotIn("bot", card["user"])

    def test_staff_mark_an_account_as_a_bots_in_the_admin(self):
        staff = make_user("admin", is_staff=True, is_superuser=True)
        bot = make_user("robot")
        self.client.force_login(staff)
        url = reverse("admin:auth_user_change", args=[bot.pk])
        page = self.client.get(url)
        form = page.context["adminform"].form
        data = {name: value for name, value in form.initial.items() if value is not None}
        data.update(
            {
                "username": "robot",
                "date_joined_0": "2026-12-01",
                "date_joined_1": "10:00:00",
                "profile-TOTAL_FORMS": "1",
                "profile-INITIAL_FORMS": "0",
                "profile-MIN_NUM_FORMS": "0",
                "profile-MAX_NUM_FORMS": "1",
                "profile-0-display_name": "",
                "profile-0-is_bot": "on",
                "profile-0-user": str(bot.pk),
            }
        )
        data.pop("password", None)
        data.pop("groups", None)
        data.pop("user_permissions", None)
        response = self.client.post(url, data)
        self.assertEqual(response.status_code, 302)
        self.assertTrue(Profile.objects.get(user=bot).is_bot)
