"""Account safety: sign-in throttling, password reset and change, sign-up, room creation
limits (chat/services/account_safety.py, chat/views_account.py)."""

import re
import time
from unittest import mock

from django.contrib.auth import SESSION_KEY, authenticate, get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import SetPasswordMixin
from django.core import mail
from django.core.cache import cache
from django.test import Client, RequestFactory, TestCase, override_settings
from django.urls import reverse

from chat import events
from chat.models import Room
from chat.services import account_safety

from .factories import quiet_request_warnings

PASSWORD = "correct-horse-battery-staple"
# A fast hasher: these tests check passwords many times (users are created under it).
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOCKED = "Too many failed sign-in attempts. Try again in"
MISMATCH = str(SetPasswordMixin.error_messages["password_mismatch"])


def create_user(username: str, **fields):
    return get_user_model().objects.create_user(username=username, password=PASSWORD, **fields)


@override_settings(PASSWORD_HASHERS=FAST_HASHER)
class AccountTestCase(TestCase):
    def setUp(self):
        cache.clear()  # the throttles' counters and buckets live in the cache
        self.addCleanup(cache.clear)
        quiet_request_warnings(self)

    def sign_in(self, username, password, *, address="10.0.0.1", client=None):
        return (client or self.client).post(
            reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
        )

    def assert_locked(self, response):
        self.assertEqual(response.status_code, 429)
        self.assertContains(response, LOCKED, status_code=429)
        self.assertGreater(int(response["Retry-After"]), 0)
        self.assertNotIn(SESSION_KEY, self.client.session)


@override_settings(
    ACCOUNT_LOGIN_FAILURES_PER_ACCOUNT=3,
    ACCOUNT_LOGIN_FAILURES_PER_ADDRESS=5,
    ACCOUNT_LOGIN_LOCK_PERIOD=900.0,
)
class LoginThrottleTests(AccountTestCase):
    def setUp(self):
        super().setUp()
        self.alice = create_user("alice", is_staff=True)

    def fail(self, username, times, *, address="10.0.0.1"):
        for _ in range(times):
            response = self.sign_in(username, "wrong guess", address=address)
            self.assertEqual(response.status_code, 200)
            self.assertContains(response, "Please enter a correct username and password")

    def test_existing_and_unknown_accounts_are_locked_alike(self):
        # Each account guessed from its own address: only the account's count matters.
        self.fail("alice", 3, address="10.0.0.1")
        self.fail("nobody", 3, address="10.0.0.2")
        existing = self.sign_in("alice", "wrong guess", address="10.0.0.1")
        unknown = self.sign_in("nobody", "wrong guess", address="10.0.0.2")
        for response in (existing, unknown):
            self.assert_locked(response)
        self.assertEqual(
            existing.context["form"].non_field_errors(), unknown.context["form"].non_field_errors()
        )
        self.assertEqual(
            existing.context["form"].non_field_errors(),
            ["Too many failed sign-in attempts. Try again in 15 minutes."],
        )
        self.assertEqual(existing["Retry-After"], unknown["Retry-After"])

    def test_a_locked_account_refuses_the_right_password_without_checking_it(self):
        self.fail("alice", 3)
        with mock.patch.object(ModelBackend, "authenticate", autospec=True) as backend:
            # From another address too: the account itself is locked.
            for address in ("10.0.0.1", "192.0.2.9"):
                self.assert_locked(self.sign_in("alice", PASSWORD, address=address))
        backend.assert_not_called()

    def test_the_lock_ends_after_the_period(self):
        self.fail("alice", 3)
        self.assert_locked(self.sign_in("alice", PASSWORD))
        later = time.time() + 901  # the cache's expiry reads the same clock
        with mock.patch("time.time", return_value=later):
            response = self.sign_in("alice", PASSWORD)
        self.assertRedirects(response, reverse("chat:room_list"), fetch_redirect_response=False)
        self.assertEqual(self.client.session[SESSION_KEY], str(self.alice.pk))

    def test_an_address_is_locked_across_accounts(self):
        for username in ["a1", "a2", "a3", "a4", "a5"]:
            self.fail(username, 1)
        self.assert_locked(self.sign_in("alice", PASSWORD))
        # Another address may still sign in.
        response = self.sign_in("alice", PASSWORD, address="10.0.0.99")
        self.assertEqual(response.status_code, 302)

    def test_signing_in_to_ones_own_account_does_not_reset_the_address(self):
        create_user("mallory")
        self.fail("bob", 2)
        self.fail("carol", 2)
        own = Client()
        self.assertEqual(self.sign_in("mallory", PASSWORD, client=own).status_code, 302)
        self.fail("dave", 1)  # the fifth failure from this address
        self.assert_locked(self.sign_in("erin", "wrong guess"))

    def test_signing_in_forgets_the_accounts_failures(self):
        self.fail("alice", 2, address="10.0.0.1")
        self.assertEqual(self.sign_in("alice", PASSWORD, address="10.0.0.1").status_code, 302)
        self.client.logout()
        self.fail("alice", 2, address="10.0.0.2")
        self.assertEqual(self.sign_in("alice", PASSWORD, address="10.0.0.2").status_code, 302)

    def test_the_admin_sign_in_shares_the_lock(self):
        self.fail("alice", 3)
        response = self.client.post(
            reverse("admin:login"),
            {"username": "alice", "password": PASSWORD, "next": reverse("admin:index")},
            REMOTE_ADDR="10.0.0.1",
        )
        self.assertContains(response, LOCKED)
        self.assertNotIn(SESSION_KEY, self.client.session)

    def test_admin_failures_count_too(self):
        for _ in range(3):
            self.client.post(
                reverse("admin:login"),
                {"username": "alice", "password": "wrong guess"},
                REMOTE_ADDR="10.0.0.1",
            )
        self.assert_locked(self.sign_in("alice", PASSWORD))


class ClientAddressTests(TestCase):
    def address(self, remote_addr):
        return account_safety.client_address(RequestFactory().get("/", REMOTE_ADDR=remote_addr))

    def test_ipv4_is_counted_by_address(self):
        self.assertEqual(self.address("203.0.113.7"), "203.0.113.7")
        self.assertEqual(self.address("::ffff:203.0.113.7"), "203.0.113.7")

    def test_ipv6_is_counted_by_its_64(self):
        self.assertEqual(self.address("2001:db8:1:2::1"), "2001:db8:1:2::/64")
        self.assertEqual(self.address("2001:db8:1:2:ffff::9"), "2001:db8:1:2::/64")
        self.assertNotEqual(self.address("2001:db8:1:3::1"), "2001:db8:1:2::/64")


class PasswordResetTests(AccountTestCase):
    def setUp(self):
        super().setUp()
        self.alice = create_user("alice", email="alice@example.com")

    def request_reset(self, email, *, address="10.0.0.1"):
        return self.client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=address)

    def test_the_login_page_links_to_the_reset(self):
        self.assertContains(self.client.get(reverse("login")), reverse("password_reset"))

    def test_reset_by_mail_end_to_end(self):
        response = self.request_reset("ALICE@example.com")
        self.assertRedirects(response, reverse("password_reset_done"))
        self.assertEqual(len(mail.outbox), 1)
        message = mail.outbox[0]
        self.assertEqual(message.to, ["alice@example.com"])
        self.assertIn("Reset your password", message.subject)
        link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", message.body).group(1)

        # The link's token moves into the session, then the form asks for the password.
        form_page = self.client.get(link, follow=True)
        self.assertContains(form_page, "Choose a new password")
        self.assertContains(form_page, "At least 8 characters.")
        set_url = form_page.redirect_chain[-1][0]
        new_password = "a brand new pass phrase"
        response = self.client.post(
            set_url, {"new_password1": new_password, "new_password2": new_password}
        )
        self.assertRedirects(response, reverse("password_reset_complete"))

        self.assertIsNone(authenticate(username="alice", password=PASSWORD))
        response = self.sign_in("alice", new_password)
        self.assertRedirects(response, reverse("chat:room_list"), fetch_redirect_response=False)
        # The link works once.
        self.assertContains(self.client.get(link, follow=True), "This link no longer works")

    def test_an_unknown_email_looks_the_same_and_sends_nothing(self):
        response = self.request_reset("nobody@example.com")
        self.assertRedirects(response, reverse("password_reset_done"))
        self.assertEqual(mail.outbox, [])

    @override_settings(ACCOUNT_RESETS_PER_ADDRESS=2)
    def test_reset_requests_are_throttled_per_address(self):
        for email in ["alice@example.com", "nobody@example.com"]:
            self.assertEqual(self.request_reset(email).status_code, 302)
        response = self.request_reset("alice@example.com")
        self.assertContains(
            response, "Too many password reset requests from your network.", status_code=429
        )
        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(
            self.request_reset("alice@example.com", address="10.9.9.9").status_code, 302
        )
        self.assertEqual(len(mail.outbox), 2)

    def test_the_new_password_shows_every_problem_at_once(self):
        self.request_reset("alice@example.com")
        link = re.search(r"(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
        set_url = self.client.get(link, follow=True).redirect_chain[-1][0]
        response = self.client.post(set_url, {"new_password1": "1234", "new_password2": "1235"})
        errors = response.context["form"].errors
        self.assertIn(
            "This password is too short. It must contain at least 8 characters.",
            errors["new_password1"],
        )
        self.assertIn(MISMATCH, errors["new_password2"])


class PasswordChangeTests(AccountTestCase):
    def setUp(self):
        super().setUp()
        self.alice = create_user("alice")
        self.assertEqual(self.sign_in("alice", PASSWORD).status_code, 302)

    def change(self, old, new, confirm=None):
        data = {"old_password": old, "new_password1": new, "new_password2": confirm or new}
        return self.client.post(reverse("password_change"), data, REMOTE_ADDR="10.0.0.1")

    def test_the_profile_page_links_to_it(self):
        response = self.client.get(reverse("chat:profile_settings"))
        self.assertContains(response, reverse("password_change"))
        self.assertContains(response, reverse("account_settings"))

    def test_changing_keeps_this_session_and_ends_the_others(self):
        elsewhere = Client()
        self.assertEqual(self.sign_in("alice", PASSWORD, client=elsewhere).status_code, 302)
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            response = self.change(PASSWORD, "another long pass phrase")
        self.assertRedirects(response, reverse("password_change_done"))
        # Open sockets are told to re-check their login (chat/receivers.py).
        self.assertIn(
            events.Event(
                events.SESSION_CHECK, {"ended_session": None}, events.to_users([self.alice.pk])
            ),
            sent,
        )
        self.assertEqual(self.client.get(reverse("chat:room_list")).status_code, 200)
        self.assertEqual(elsewhere.get(reverse("chat:room_list")).status_code, 302)
        self.assertIsNone(authenticate(username="alice", password=PASSWORD))
        self.assertIsNotNone(authenticate(username="alice", password="another long pass phrase"))

    def test_a_wrong_current_password_changes_nothing(self):
        response = self.change("not my password", "another long pass phrase")
        self.assertContains(response, "That is not your current password.")
        self.assertIsNotNone(authenticate(username="alice", password=PASSWORD))

    @override_settings(ACCOUNT_LOGIN_FAILURES_PER_ACCOUNT=3)
    def test_guessing_the_current_password_is_throttled_like_signing_in(self):
        for _ in range(3):
            self.change("not my password", "another long pass phrase")
        response = self.change(PASSWORD, "another long pass phrase")
        self.assertContains(response, LOCKED, status_code=429)
        self.assertIsNotNone(authenticate(username="alice", password=PASSWORD))

    def test_requires_login(self):
        self.client.logout()
        response = self.client.get(reverse("password_change"))
        self.assertRedirects(
            response,
            f"{reverse('login')}?next={reverse('password_change')}",
            fetch_redirect_response=False,
        )


class AccountSettingsTests(AccountTestCase):
    url = reverse("account_settings")

    def setUp(self):
        super().setUp()
        self.alice = create_user("alice")
        self.client.force_login(self.alice)

    def test_setting_the_email_needs_the_current_password(self):
        response = self.client.post(self.url, {"email": "alice@example.com", "password": "nope"})
        self.assertContains(response, "That is not your current password.")
        self.alice.refresh_from_db()
        self.assertEqual(self.alice.email, "")

        response = self.client.post(self.url, {"email": "alice@EXAMPLE.com", "password": PASSWORD})
        self.assertRedirects(response, self.url)
        self.alice.refresh_from_db()
        self.assertEqual(self.alice.email, "alice@example.com")
        self.assertContains(self.client.get(self.url), "alice@example.com")
        # A reset can now reach it.
        self.client.logout()
        self.client.post(reverse("password_reset"), {"email": "alice@example.com"})
        self.assertEqual(mail.outbox[0].to, ["alice@example.com"])

    def test_the_email_can_be_removed(self):
        self.alice.email = "alice@example.com"
        self.alice.save()
        response = self.client.post(self.url, {"email": "", "password": PASSWORD}, follow=True)
        self.assertContains(response, "E-mail removed.")
        self.alice.refresh_from_db()
        self.assertEqual(self.alice.email, "")

    def test_saving_the_email_does_not_recheck_open_sockets(self):
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            self.client.post(self.url, {"email": "alice@example.com", "password": PASSWORD})
        self.assertFalse([event for event in sent if event.type == events.SESSION_CHECK])

    def test_requires_login(self):
        self.client.logout()
        self.assertEqual(self.client.get(self.url).status_code, 302)


class SignupTests(AccountTestCase):
    url = reverse("signup")

    def sign_up(self, username, password, confirm=None, *, email="", address="10.0.0.1"):
        data = {
            "username": username,
            "email": email,
            "password1": password,
            "password2": confirm or password,
        }
        return Client().post(self.url, data, REMOTE_ADDR=address)

    def test_the_password_rules_are_one_plain_line(self):
        response = self.client.get(self.url)
        self.assertContains(
            response,
            "At least 8 characters. Not like your username or e-mail, not a common password, "
            "not only digits.",
        )
        self.assertNotContains(response, "<ul><li>Your password")
        self.assertContains(response, "Optional: only for resetting your password.")

    def test_two_password_problems_show_at_once(self):
        response = self.sign_up("newcomer", "12345678")
        errors = response.context["form"].errors["password1"]
        self.assertEqual(
            errors, ["This password is too common.", "This password is entirely numeric."]
        )
        for error in errors:
            self.assertContains(response, error)

    def test_a_mismatch_does_not_hide_the_other_problems(self):
        response = self.sign_up("newcomer", "short", "shorts")
        form = response.context["form"]
        self.assertIn(
            "This password is too short. It must contain at least 8 characters.",
            form.errors["password1"],
        )
        self.assertIn(MISMATCH, form.errors["password2"])
        self.assertFalse(get_user_model().objects.filter(username="newcomer").exists())

    def test_the_optional_email_is_saved(self):
        response = self.sign_up("newcomer", "a-long-pass-phrase", email="New@Example.COM")
        self.assertEqual(response.status_code, 302)
        user = get_user_model().objects.get(username="newcomer")
        self.assertEqual(user.email, "New@example.com")

    @override_settings(ACCOUNT_SIGNUPS_PER_ADDRESS=2)
    def test_signups_are_throttled_per_address(self):
        for username in ["first", "second"]:
            self.assertEqual(self.sign_up(username, "a-long-pass-phrase").status_code, 302)
        response = self.sign_up("third", "a-long-pass-phrase")
        self.assertContains(
            response,
            "Too many accounts were created from your network. Try again in",
            status_code=429,
        )
        self.assertFalse(get_user_model().objects.filter(username="third").exists())
        # Refused forms don't count; another address is not limited.
        self.assertEqual(
            self.sign_up("third", "a-long-pass-phrase", address="10.0.0.2").status_code, 302
        )


@override_settings(CHAT_RATE_ROOMS=2, CHAT_RATE_ROOMS_PERIOD=3600.0)
class RoomCreationThrottleTests(AccountTestCase):
    url = reverse("chat:room_list")

    def test_room_creation_is_limited_per_user_with_the_message_on_the_page(self):
        bob = create_user("bob")
        self.client.force_login(bob)
        for name in ["One", "Two"]:
            self.assertEqual(self.client.post(self.url, {"name": name}).status_code, 302)
        response = self.client.post(self.url, {"name": "Three"})
        self.assertEqual(response.status_code, 200)
        self.assertContains(
            response, "You have created too many rooms lately. Try again in 30 minutes."
        )
        self.assertFalse(Room.objects.filter(name="Three").exists())
        # Another person is not limited by bob's rooms.
        carol = create_user("carol")
        self.client.force_login(carol)
        self.assertEqual(self.client.post(self.url, {"name": "Three"}).status_code, 302)

    def test_staff_are_not_limited(self):
        self.client.force_login(create_user("staff", is_staff=True))
        for name in ["One", "Two", "Three"]:
            self.assertEqual(self.client.post(self.url, {"name": name}).status_code, 302)
