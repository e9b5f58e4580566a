"""The tokens page, /settings/tokens/ (api/views.py), through Django's test client."""

import hashlib
import re
from datetime import UTC, datetime, timedelta

from django.core.cache import cache
from django.test import TestCase, override_settings
from django.urls import reverse
from django.utils import timezone

from api.models import ApiToken
from chat import events
from chat.tests.factories import make_user, quiet_request_warnings

from .factories import make_token

TOKEN_TEXT = re.compile(r"chat_[A-Za-z0-9_-]{43}")


class TokenPageTests(TestCase):
    def setUp(self):
        cache.clear()  # rate-limit buckets
        quiet_request_warnings(self)
        self.alice = make_user("alice")
        self.client.force_login(self.alice)
        self.url = reverse("api:tokens")

    def create(self, **fields):
        data = {"name": "deploy bot", "scope": "read", "expiry": "never", **fields}
        return self.client.post(self.url, data)

    def test_signed_out_visitors_are_sent_to_log_in(self):
        self.client.logout()
        response = self.client.get(self.url)
        self.assertEqual(response.status_code, 302)
        self.assertIn(reverse("login"), response["Location"])

    def test_the_new_token_is_shown_once(self):
        response = self.create(scope="write")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Cache-Control"], "no-store")
        shown = TOKEN_TEXT.findall(response.content.decode())
        self.assertEqual(len(set(shown)), 1)
        raw = shown[0]
        token = ApiToken.objects.get()
        self.assertEqual((token.user, token.name, token.scope), (self.alice, "deploy bot", "write"))
        self.assertEqual(token.key_hash, hashlib.sha256(raw.encode()).hexdigest())
        self.assertContains(response, "shown this once")
        self.assertContains(response, 'data-js="token-copy"')
        # The list shows it by its prefix, and never its text again.
        page = self.client.get(self.url)
        self.assertNotContains(page, raw)
        self.assertContains(page, f"{token.prefix}…")
        self.assertContains(page, "deploy bot")
        self.assertContains(page, "Read and write")

    def test_the_list_shows_each_tokens_state(self):
        now = timezone.now()
        make_token(self.alice, name="live one", expires_at=now + timedelta(days=3))
        make_token(self.alice, name="old one", revoked_at=now)
        make_token(self.alice, name="past one", expires_at=now - timedelta(days=1))
        used, _ = make_token(self.alice, name="used one")
        ApiToken.objects.filter(pk=used.pk).update(last_used_at=now - timedelta(hours=2))
        make_token(make_user("bob"), name="bob's secret")
        page = self.client.get(self.url).content.decode()
        for text in ["live one", "old one", "past one", "Revoked", "Expired", "2\xa0hours ago"]:
            self.assertIn(text, page)
        self.assertNotIn("bob's secret", page)
        # Only the tokens still signing in can be revoked.
        self.assertEqual(page.count("Revoke…"), 2)

    def test_expiry_choices(self):
        now = timezone.now()
        self.create(name="month", expiry="30")
        self.create(name="quarter", expiry="90")
        day = (now + timedelta(days=10)).date()
        self.create(name="day", expiry="date", expires_on=day.isoformat())
        self.create(name="never", expiry="never")
        expiry = dict(ApiToken.objects.values_list("name", "expires_at"))
        self.assertAlmostEqual(
            expiry["month"], now + timedelta(days=30), delta=timedelta(minutes=1)
        )
        self.assertAlmostEqual(
            expiry["quarter"], now + timedelta(days=90), delta=timedelta(minutes=1)
        )
        # Until that day ends (UTC).
        self.assertEqual(
            expiry["day"], datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
        )
        self.assertIsNone(expiry["never"])

    def test_bad_input_is_said_on_the_form_and_makes_nothing(self):
        today = timezone.now().astimezone(UTC).date()
        cases = [
            ({"name": ""}, "This field is required."),
            ({"scope": "admin"}, "Select a valid choice."),
            ({"expiry": "date"}, "Choose the day the token stops working."),
            (
                {"expiry": "date", "expires_on": (today - timedelta(days=1)).isoformat()},
                "Choose today",
            ),
            ({"expiry": "date", "expires_on": "9999-12-31"}, "within the next ten years"),
            ({"name": "x" * 65}, "at most 64 characters"),
        ]
        for fields, sentence in cases:
            with self.subTest(fields):
                response = self.create(**fields)
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, sentence)
                self.assertIsNone(TOKEN_TEXT.search(response.content.decode()))
        self.assertFalse(ApiToken.objects.exists())

    @override_settings(API_TOKENS_PER_USER=1)
    def test_the_cap_is_said_on_the_form(self):
        self.create()
        response = self.create(name="second")
        self.assertContains(response, "You have 1 tokens already: revoke one first.")
        self.assertEqual(ApiToken.objects.count(), 1)

    @override_settings(API_TOKEN_CREATES=1)
    def test_too_many_made_lately_is_a_429(self):
        self.create()
        response = self.create(name="second")
        self.assertEqual(response.status_code, 429)
        self.assertGreaterEqual(int(response["Retry-After"]), 1)
        self.assertContains(response, "You have made many tokens lately", status_code=429)

    def test_revoking(self):
        token, _ = make_token(self.alice, name="deploy bot")
        url = reverse("api:token_revoke", args=[token.pk])
        self.assertEqual(self.client.get(url).status_code, 405)
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(url, follow=True)
        self.assertRedirects(response, self.url)
        self.assertContains(response, "Revoked “deploy bot”")
        token.refresh_from_db()
        self.assertIsNotNone(token.revoked_at)
        self.assertEqual([event.data for event in sent], [{"ended_token": token.pk}])
        # Again: nothing more happens.
        self.assertRedirects(self.client.post(url), self.url)

    def test_another_persons_token_cannot_be_revoked_here(self):
        token, _ = make_token(make_user("bob"))
        response = self.client.post(reverse("api:token_revoke", args=[token.pk]))
        self.assertEqual(response.status_code, 404)
        token.refresh_from_db()
        self.assertIsNone(token.revoked_at)

    def test_the_account_pages_link_here(self):
        for page in ("account_settings", "chat:profile_settings"):
            self.assertContains(self.client.get(reverse(page)), f'href="{self.url}"')
