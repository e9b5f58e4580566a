"""Making, revoking and reading API tokens (api/services.py, api/selectors.py)."""

import hashlib
from datetime import timedelta

from django.core.cache import cache
from django.test import TestCase, override_settings
from django.utils import timezone

from api import selectors, services
from api.models import ApiToken
from chat import errors, events
from chat.tests.factories import make_user

from .factories import make_token


class TokenCreateTests(TestCase):
    def setUp(self):
        cache.clear()  # rate-limit buckets
        self.alice = make_user("alice")

    def test_the_text_is_returned_once_and_only_its_hash_is_kept(self):
        token, raw = services.token_create(user=self.alice, name=" deploy bot ", scope="read")
        self.assertTrue(raw.startswith("chat_"))
        self.assertGreaterEqual(len(raw), len("chat_") + 43)  # 32 random bytes, base64
        token.refresh_from_db()
        self.assertEqual(token.name, "deploy bot")
        self.assertEqual(token.scope, "read")
        self.assertFalse(token.may_write)
        self.assertEqual(token.prefix, raw[:12])
        self.assertEqual(token.key_hash, hashlib.sha256(raw.encode()).hexdigest())
        self.assertIsNone(token.expires_at)
        self.assertIsNone(token.last_used_at)
        stored = [str(value) for value in ApiToken.objects.values().get().values()]
        self.assertFalse([value for value in stored if raw in value], "the text is stored")

    def test_tokens_are_different_every_time(self):
        texts = {
            services.token_create(user=self.alice, name="t", scope="write")[1] for _ in range(5)
        }
        self.assertEqual(len(texts), 5)

    def test_bad_input_is_refused_with_a_sentence(self):
        cases = [
            ({"name": "  "}, errors.Empty),
            ({"name": None}, errors.Empty),
            ({"name": "x" * 65}, errors.TooLong),
            ({"scope": "admin"}, errors.Invalid),
            ({"expires_at": timezone.now() - timedelta(seconds=1)}, errors.Invalid),
        ]
        for change, error in cases:
            arguments = {"user": self.alice, "name": "bot", "scope": "read", **change}
            with self.subTest(change), self.assertRaises(error) as refused:
                services.token_create(**arguments)
            self.assertTrue(refused.exception.detail.endswith("."))
        self.assertFalse(ApiToken.objects.exists())

    @override_settings(API_TOKENS_PER_USER=2)
    def test_a_person_holds_a_bounded_number_of_tokens_that_sign_in(self):
        first, _ = services.token_create(user=self.alice, name="one", scope="read")
        services.token_create(user=self.alice, name="two", scope="read")
        with self.assertRaises(services.TooManyTokens):
            services.token_create(user=self.alice, name="three", scope="read")
        # Others' tokens, revoked and expired ones do not count.
        services.token_create(user=make_user("bob"), name="bob's", scope="read")
        services.token_revoke(token=first, by=self.alice)
        make_token(self.alice, expires_at=timezone.now() - timedelta(minutes=1))
        services.token_create(user=self.alice, name="three", scope="read")

    @override_settings(API_TOKEN_CREATES=2, API_TOKEN_CREATES_PERIOD=3600)
    def test_making_tokens_is_rate_limited(self):
        services.token_create(user=self.alice, name="one", scope="read")
        services.token_create(user=self.alice, name="two", scope="read")
        with self.assertRaises(errors.RateLimited) as refused:
            services.token_create(user=self.alice, name="three", scope="read")
        self.assertGreater(refused.exception.retry_after, 0)
        self.assertEqual(ApiToken.objects.count(), 2)


class TokenAuthenticateTests(TestCase):
    def setUp(self):
        self.alice = make_user("alice")
        self.token, self.raw = make_token(self.alice)

    def test_a_good_token_signs_its_user_in(self):
        token = services.token_authenticate(self.raw)
        self.assertEqual(token, self.token)
        self.assertEqual(token.user, self.alice)

    def test_tokens_that_do_not_sign_in(self):
        now = timezone.now()
        _, revoked = make_token(self.alice, revoked_at=now)
        _, expired = make_token(self.alice, expires_at=now)
        bob = make_user("bob", is_staff=True)
        _, inactive = make_token(bob)
        bob.is_active = False
        bob.save()
        for raw in [
            revoked,
            expired,
            inactive,
            self.raw + "x",
            self.raw[:-1],
            "",
            "chat_",
            "x" * 500,
        ]:
            with self.subTest(raw=raw):
                self.assertIsNone(services.token_authenticate(raw))

    def test_an_expiry_in_the_future_still_signs_in(self):
        _, raw = make_token(self.alice, expires_at=timezone.now() + timedelta(seconds=30))
        self.assertIsNotNone(services.token_authenticate(raw))

    def test_last_used_is_written_at_most_once_a_minute(self):
        with self.assertNumQueries(2):  # the read, and marking it used
            services.token_authenticate(self.raw)
        first_use = ApiToken.objects.get().last_used_at
        self.assertIsNotNone(first_use)
        with self.assertNumQueries(1):  # the read alone
            services.token_authenticate(self.raw)
        self.assertEqual(ApiToken.objects.get().last_used_at, first_use)
        ApiToken.objects.update(last_used_at=timezone.now() - timedelta(seconds=61))
        services.token_authenticate(self.raw)
        self.assertGreater(ApiToken.objects.get().last_used_at, first_use)


class TokenRevokeTests(TestCase):
    def setUp(self):
        self.alice = make_user("alice")
        self.token, self.raw = make_token(self.alice)

    def revoke(self, by):
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            services.token_revoke(token=self.token, by=by)
        return sent

    def test_revoking_ends_the_token_and_tells_its_users_sockets(self):
        sent = self.revoke(self.alice)
        self.assertIsNotNone(self.token.revoked_at)
        self.assertIsNone(services.token_authenticate(self.raw))
        self.assertEqual(
            [(event.kind, event.data, event.audience.topics()) for event in sent],
            [(events.SESSION_CHECK, {"ended_token": self.token.pk}, [f"user:{self.alice.pk}"])],
        )

    def test_revoking_twice_does_nothing_more(self):
        self.revoke(self.alice)
        revoked_at = self.token.revoked_at
        self.assertEqual(self.revoke(self.alice), [])
        self.assertEqual(ApiToken.objects.get().revoked_at, revoked_at)

    def test_staff_may_revoke_anyones_token_and_others_may_not(self):
        with self.assertRaises(errors.NotFound):
            self.revoke(make_user("bob"))
        self.assertIsNone(ApiToken.objects.get().revoked_at)
        self.revoke(make_user("staff", is_staff=True))
        self.assertIsNotNone(ApiToken.objects.get().revoked_at)


class SelectorTests(TestCase):
    def test_live_token_ids(self):
        alice, bob = make_user("alice"), make_user("bob")
        now = timezone.now()
        live, _ = make_token(alice)
        later, _ = make_token(alice, expires_at=now + timedelta(hours=1))
        revoked, _ = make_token(alice, revoked_at=now)
        expired, _ = make_token(alice, expires_at=now)
        bobs, _ = make_token(bob)
        bob.is_active = False
        bob.save()
        ids = {live.pk, later.pk, revoked.pk, expired.pk, bobs.pk, 10_000}
        self.assertEqual(selectors.live_token_ids(ids), {live.pk, later.pk})
        self.assertEqual(selectors.live_token_ids(set()), set())
        self.assertEqual(set(selectors.active_tokens(user=alice)), {live, later})
