from datetime import timedelta

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client, TestCase
from django.utils import timezone

from chat.session_store import SessionStore

from .factories import make_user


class SessionStoreTestCase(TestCase):
    def setUp(self):
        self.alice = make_user("alice")
        client = Client()
        client.force_login(self.alice)
        self.key = client.cookies["sessionid"].value

    def test_a_login_s_session_loads_in_one_query(self):
        session = SessionStore(self.key)
        with self.assertNumQueries(1):
            self.assertEqual(session[SESSION_KEY], str(self.alice.pk))
        self.assertEqual(session.session_key, self.key)

    def test_an_expired_session_is_empty_and_forgotten(self):
        Session.objects.filter(pk=self.key).update(expire_date=timezone.now() - timedelta(1))
        session = SessionStore(self.key)
        self.assertNotIn(SESSION_KEY, session)
        self.assertIsNone(session.session_key)

    def test_an_unknown_key_is_empty(self):
        session = SessionStore("x" * 32)
        self.assertEqual(dict(session.items()), {})
        self.assertIsNone(session.session_key)

    def test_the_site_uses_it(self):
        # Logging in through the site writes a session this store reads.
        client = Client()
        client.force_login(self.alice)
        self.assertIsInstance(client.session, SessionStore)
