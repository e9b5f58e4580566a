"""API tokens on the WebSocket: `Authorization: Bearer` on the handshake signs in the
room socket and the tab socket; a read-only token's socket reads only; a revoked token
closes its sockets within a second, an expiring one when it expires; the login watch
leaves token sockets alone until their token ends. Through the real ASGI application
(origin check, authentication, routing)."""

import asyncio
import time
from datetime import timedelta

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from api import services
from api.models import ApiToken
from chat import services as chat_services
from chat.models import Message
from chat.tests.factories import PASSWORD, add_member, make_message, make_user
from chat.tests.test_consumers import ORIGIN, TIMEOUT, SocketTestCase
from myproject.asgi import application

from .factories import make_token

ROOM = "/ws/rooms/general/"
TAB = "/ws/"


@override_settings(CHAT_SESSION_NUDGE_DELAY=0.2)
class TokenSocketTestCase(SocketTestCase):
    def setUp(self):
        super().setUp()
        add_member(self.room, self.alice)
        self.writer, self.write_raw = make_token(self.alice, scope="write")
        self.reader, self.read_raw = make_token(self.alice, scope="read")

    def token_communicator(self, raw, path=ROOM, *, origin=None, cookie=None):
        """A socket as a script opens it: the token in the header, no Origin, no cookie."""
        headers = [(b"authorization", f"Bearer {raw}".encode())]
        if origin is not None:
            headers.append((b"origin", origin))
        if cookie is not None:
            headers.append((b"cookie", cookie))
        communicator = WebsocketCommunicator(application, path, headers=headers)
        self.communicators.append(communicator)
        return communicator

    async def token_connect(self, raw, path=ROOM, **kwargs):
        communicator = self.token_communicator(raw, path, **kwargs)
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        self.assertTrue(connected)
        return communicator

    async def open_room(self, raw, **kwargs):
        """Open the room socket with a token; read hello and the user's presence."""
        socket = await self.token_connect(raw, ROOM, **kwargs)
        hello = await self.expect(socket, "hello", protocol=1)
        await self.expect(socket, "presence", status="online")
        return socket, hello

    async def open_tab(self, raw, **kwargs):
        socket = await self.token_connect(raw, TAB, **kwargs)
        return socket, await self.expect(socket, "hello", protocol=2)

    async def assertClosedWithin(self, communicator, seconds: float, code: int = 4401):
        """The socket closes with `code` within `seconds`; frames before the close are skipped."""
        started = time.monotonic()
        while True:
            left = seconds - (time.monotonic() - started)
            self.assertGreater(left, 0, "the socket did not close in time")
            output = await communicator.receive_output(timeout=left)
            if output["type"] == "websocket.close":
                self.assertEqual(output["code"], code)
                return time.monotonic() - started


class HandshakeTests(TokenSocketTestCase):
    async def test_a_token_opens_the_room_socket_without_origin_or_cookie(self):
        socket, hello = await self.open_room(self.write_raw)
        self.assertEqual(hello["me"]["username"], "alice")
        await self.send(socket, type="message.send", client_id="c-1", body="from a bot")
        message = await self.expect(socket, "message.new")
        self.assertEqual(message["message"]["author"]["username"], "alice")
        self.assertEqual(await self.count_messages(author=self.alice), 1)

    async def test_a_token_opens_the_tab_socket(self):
        tab, hello = await self.open_tab(self.read_raw)
        self.assertEqual(hello["me"]["username"], "alice")
        self.assertEqual([room["slug"] for room in hello["rooms"]], ["general"])
        await self.send(tab, type="view", room="general")
        await self.expect(tab, "view")

    async def test_the_origin_is_not_asked_of_a_token_but_is_of_a_cookie(self):
        # A script sends no Origin; a token handshake may come with any, even another site's.
        await self.open_room(self.write_raw)
        other_site = await self.token_connect(self.write_raw, origin=b"http://evil.test")
        await self.expect(other_site, "hello")
        # The cookie alone, without an Origin (or from another site), is refused as before.
        for origin in (None, b"http://evil.test"):
            refused = self.communicator(self.alice, ROOM, origin=origin)
            connected, _ = await refused.connect(timeout=TIMEOUT)
            self.assertFalse(connected, msg=origin)

    async def test_the_token_wins_over_a_cookie(self):
        _, hello = await self.open_room(self.write_raw, cookie=self.cookies[self.bob.pk])
        self.assertEqual(hello["me"]["username"], "alice")

    async def test_a_bad_token_is_not_made_up_for_by_a_cookie(self):
        socket = await self.token_connect(
            "chat_unknown", ROOM, origin=ORIGIN, cookie=self.cookies[self.alice.pk]
        )
        await self.assertClosed(socket, 4401)

    async def test_tokens_that_do_not_sign_in_are_closed_4401(self):
        now = timezone.now()
        _, revoked = await database_sync_to_async(make_token)(self.alice, revoked_at=now)
        _, expired = await database_sync_to_async(make_token)(self.alice, expires_at=now)
        for raw in ["chat_unknown", "", revoked, expired]:
            for path in (ROOM, TAB):
                socket = await self.token_connect(raw, path)
                await self.assertClosed(socket, 4401)

    async def test_a_token_in_the_query_string_is_ignored(self):
        for name in ("token", "access_token", "bearer"):
            socket = await self.connect(path=f"{ROOM}?{name}={self.write_raw}")
            await self.assertClosed(socket, 4401)
            socket = await self.connect(path=f"{TAB}?{name}={self.write_raw}")
            await self.assertClosed(socket, 4401)

    async def test_another_scheme_is_ignored_and_the_session_applies(self):
        headers = [(b"authorization", b"Basic YWxpY2U6c2VjcmV0"), (b"origin", ORIGIN)]
        socket = WebsocketCommunicator(application, ROOM, headers=headers)
        self.communicators.append(socket)
        connected, _ = await socket.connect(timeout=TIMEOUT)
        self.assertTrue(connected)
        await self.assertClosed(socket, 4401)  # no cookie: not signed in
        without_origin = WebsocketCommunicator(application, ROOM, headers=headers[:1])
        connected, _ = await without_origin.connect(timeout=TIMEOUT)
        self.assertFalse(connected)

    async def test_the_staff_dashboard_takes_no_token(self):
        staff = await database_sync_to_async(make_user)("staff", is_staff=True)
        _, raw = await database_sync_to_async(make_token)(staff)
        dashboard = self.token_communicator(raw, "/ws/ops/dashboard/")
        connected, _ = await dashboard.connect(timeout=TIMEOUT)
        self.assertFalse(connected)  # the header is ignored there: no Origin, refused


class ReadOnlyTests(TokenSocketTestCase):
    async def test_a_read_token_reads_but_changes_nothing(self):
        message = await database_sync_to_async(make_message)(self.room, self.bob, "hi alice")
        socket, _ = await self.open_room(self.read_raw)
        await self.send(socket, type="history")
        history = await self.expect(socket, "history")
        self.assertEqual([m["id"] for m in history["messages"]], [message.pk])
        refused = [
            {"type": "message.send", "client_id": "c-1", "body": "hi"},
            {"type": "message.edit", "id": message.pk, "body": "changed"},
            {"type": "message.delete", "id": message.pk},
            {"type": "reaction.add", "id": message.pk, "emoji": "👍"},
            {"type": "typing", "active": True},
        ]
        for frame in refused:
            await socket.send_json_to(frame)
            error = await self.expect_error(socket, "forbidden", detail="This token may only read.")
            if "client_id" in frame:
                self.assertEqual(error["client_id"], "c-1")
        await self.assertStillOpen(socket)
        stored = await database_sync_to_async(Message.objects.get)()
        self.assertEqual((stored.body, stored.deleted_at), ("hi alice", None))
        self.assertEqual(await self.count_messages(author=self.alice), 0)

    async def test_a_read_tokens_tab_views_but_sends_nothing(self):
        message = await database_sync_to_async(make_message)(self.room, self.bob, "hi alice")
        tab, _ = await self.open_tab(self.read_raw)
        await self.send(tab, type="view", room="general")
        await self.expect(tab, "view")
        await self.expect(tab, "presence", room="general")
        await self.send(tab, type="message.send", room="general", client_id="c-1", body="hi")
        await self.expect_error(tab, "forbidden", client_id="c-1")
        await self.send(tab, type="read", room="general", rev=message.rev)
        await self.expect_error(tab, "forbidden")
        await self.assertStillOpen(tab)
        self.assertEqual(await self.count_messages(), 1)

    async def test_the_refusals_are_not_counted_as_bad_frames(self):
        socket, _ = await self.open_room(self.read_raw)
        for i in range(25):
            await self.send(socket, type="message.send", client_id=f"c-{i}", body="hi")
            await self.expect_error(socket, "forbidden")
        await self.assertStillOpen(socket)


class RevocationTests(TokenSocketTestCase):
    async def test_revoking_closes_the_tokens_sockets_within_a_second(self):
        room_socket, _ = await self.open_room(self.write_raw)
        tab, _ = await self.open_tab(self.write_raw)
        other_token, _ = await self.open_tab(self.read_raw)
        browser = await self.connect(self.alice, TAB)
        await self.expect(browser, "hello")
        await database_sync_to_async(services.token_revoke)(token=self.writer, by=self.alice)
        for socket in (room_socket, tab):
            await self.assertClosedWithin(socket, 1.0)
        # The user's other token and their browser stay signed in.
        await self.assertStillOpen(other_token)
        await self.assertStillOpen(browser)

    async def test_revoking_on_the_settings_page_closes_the_socket(self):
        socket, _ = await self.open_room(self.write_raw)
        client = Client()
        await database_sync_to_async(client.force_login)(self.alice)
        url = reverse("api:token_revoke", args=[self.writer.pk])
        response = await sync_to_async(client.post)(url)
        self.assertEqual(response.status_code, 302)
        await self.assertClosedWithin(socket, 1.0)

    async def test_an_expiring_token_closes_its_socket_when_it_expires(self):
        expires_at = timezone.now() + timedelta(seconds=1.2)
        _, raw = await database_sync_to_async(make_token)(self.alice, expires_at=expires_at)
        _, later = await database_sync_to_async(make_token)(
            self.alice, expires_at=timezone.now() + timedelta(days=30)
        )
        socket, _ = await self.open_tab(raw)
        lasting, _ = await self.open_tab(later)
        await self.assertClosedWithin(socket, 3.0)
        self.assertGreaterEqual(timezone.now(), expires_at)
        self.assertLess((timezone.now() - expires_at).total_seconds(), 1.0)
        await self.assertStillOpen(lasting)  # an expiry far ahead closes nothing yet

    @override_settings(CHAT_SESSION_CHECK_INTERVAL=1)
    async def test_the_periodic_check_keeps_token_sockets_open_while_their_token_lives(self):
        token_socket, _ = await self.open_room(self.write_raw)
        browser = await self.connect(self.alice)
        await self.expect(browser, "hello")
        await asyncio.sleep(2.5)  # two full checks
        await self.assertStillOpen(token_socket)
        await self.assertStillOpen(browser)

    @override_settings(CHAT_SESSION_CHECK_INTERVAL=1)
    async def test_the_periodic_check_finds_a_token_revoked_behind_the_sites_back(self):
        socket, _ = await self.open_room(self.write_raw)
        # No event is sent for this (a row changed in the database directly).
        await ApiToken.objects.filter(pk=self.writer.pk).aupdate(revoked_at=timezone.now())
        await self.assertClosedWithin(socket, 3.0)

    async def test_a_session_ending_leaves_token_sockets_open(self):
        browser_client = Client()
        await database_sync_to_async(browser_client.force_login)(self.alice)
        cookie = f"sessionid={browser_client.cookies['sessionid'].value}".encode()
        browser = await self.connect(cookie=cookie, path=TAB)
        await self.expect(browser, "hello")
        token_socket, _ = await self.open_tab(self.write_raw)
        await sync_to_async(browser_client.post)(reverse("logout"))
        await self.assertClosedWithin(browser, 3.0)
        # A new password ends other sessions, not tokens.
        self.alice.set_password(PASSWORD + "-new")
        await database_sync_to_async(self.alice.save)()
        await asyncio.sleep(1.0)  # past the nudge delay and a keeper tick
        await self.assertStillOpen(token_socket)

    async def test_deactivating_the_account_closes_its_token_sockets(self):
        socket, _ = await self.open_tab(self.write_raw)
        await database_sync_to_async(chat_services.user_deactivate)(user=self.alice)
        await self.assertClosedWithin(socket, 1.0)
        refused = await self.token_connect(self.write_raw, TAB)
        await self.assertClosed(refused, 4401)
