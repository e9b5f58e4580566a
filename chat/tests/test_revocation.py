"""A socket closes (4401) once the login it was opened with has ended."""

import asyncio

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.models import Session
from django.test import Client, TransactionTestCase, override_settings
from django.urls import reverse

from chat.realtime.sessions import signed_out_channels
from myproject.asgi import application

from .factories import PASSWORD, make_room, make_user

# Generous: the nudge waits CHAT_SESSION_NUDGE_DELAY, the keeper ticks every 0.5 s.
CLOSE_WITHIN = 5


def _logged_in_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@override_settings(CHAT_SESSION_NUDGE_DELAY=0.2)
class RevocationTests(TransactionTestCase):
    def setUp(self):
        self.alice = make_user("alice")
        self.room = make_room("General")

    async def open_socket(self, client: Client) -> WebsocketCommunicator:
        cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
        communicator = WebsocketCommunicator(
            application,
            "/ws/rooms/general/",
            headers=[(b"origin", b"http://localhost"), (b"cookie", cookie)],
        )
        connected, _ = await communicator.connect(timeout=5)
        self.assertTrue(connected)
        self.assertEqual((await communicator.receive_json_from(timeout=5))["type"], "hello")
        return communicator

    async def assertClosedWith4401(self, communicator):
        while True:
            output = await communicator.receive_output(timeout=CLOSE_WITHIN)
            if output["type"] == "websocket.close":
                self.assertEqual(output["code"], 4401)
                break
        await communicator.disconnect()

    async def assertStillOpen(self, communicator):
        # Longer than the nudge delay plus a keeper tick: a wrong close would have come.
        await asyncio.sleep(1.5)
        await communicator.send_json_to({"type": "ping", "t": "open?"})
        while (await communicator.receive_json_from(timeout=5))["type"] != "pong":
            pass
        await communicator.disconnect()

    async def test_logout_in_another_tab_closes_the_socket_of_that_session(self):
        browser = await sync_to_async(_logged_in_client)(self.alice)
        other_device = await sync_to_async(_logged_in_client)(self.alice)
        socket = await self.open_socket(browser)
        other_socket = await self.open_socket(other_device)
        await sync_to_async(browser.post)(reverse("logout"))
        await self.assertClosedWith4401(socket)
        # Logging out one browser leaves the other signed in.
        await self.assertStillOpen(other_socket)

    async def test_password_change_closes_the_other_sessions_sockets(self):
        changer = await sync_to_async(_logged_in_client)(self.alice)
        elsewhere = await sync_to_async(_logged_in_client)(self.alice)
        changer_socket = await self.open_socket(changer)
        elsewhere_socket = await self.open_socket(elsewhere)
        response = await sync_to_async(changer.post)(
            reverse("password_change"),
            {
                "old_password": PASSWORD,
                "new_password1": "a-brand-new-passphrase",
                "new_password2": "a-brand-new-passphrase",
            },
        )
        self.assertEqual(response.status_code, 302)
        await self.assertClosedWith4401(elsewhere_socket)
        # The changer's session was renewed under a new key: the socket opened with the
        # old key closes too, and the browser, still signed in, opens a new one.
        await self.assertClosedWith4401(changer_socket)
        await self.assertStillOpen(await self.open_socket(changer))
        login = await sync_to_async(changer.get)(f"{reverse('login')}?next=/rooms/general/")
        self.assertRedirects(login, "/rooms/general/", fetch_redirect_response=False)

    async def test_deactivating_the_account_closes_its_sockets(self):
        client = await sync_to_async(_logged_in_client)(self.alice)
        socket = await self.open_socket(client)
        self.alice.is_active = False
        await sync_to_async(self.alice.save)()
        await self.assertClosedWith4401(socket)

    @override_settings(CHAT_SESSION_CHECK_INTERVAL=1)
    async def test_a_session_removed_behind_the_sites_back_is_found_by_the_periodic_check(self):
        client = await sync_to_async(_logged_in_client)(self.alice)
        socket = await self.open_socket(client)
        # No signal fires for this (e.g. `clearsessions`, or a session expiring).
        await Session.objects.all().adelete()
        await self.assertClosedWith4401(socket)


class SignedOutChannelsTests(TransactionTestCase):
    def test_only_sessions_that_no_longer_sign_in_are_reported(self):
        alice, bob = make_user("alice"), make_user("bob")
        alice_key = _logged_in_client(alice).cookies["sessionid"].value
        bob_key = _logged_in_client(bob).cookies["sessionid"].value
        sockets = {
            "ok": (alice_key, alice.pk),
            "wrong-user": (alice_key, bob.pk),
            "unknown-session": ("nosuchsession", alice.pk),
            "bob": (bob_key, bob.pk),
        }
        self.assertEqual(sorted(signed_out_channels(sockets)), ["unknown-session", "wrong-user"])
        bob.set_password("changed-password-here")
        bob.save()
        self.assertEqual(
            sorted(signed_out_channels(sockets)), ["bob", "unknown-session", "wrong-user"]
        )
