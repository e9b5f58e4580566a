"""Tab sockets (protocol 2) across server processes: a user's tabs on two daphne
processes hear what happens on either, within a second, and what they hold stays a
fresh fetch (PostgreSQL and Redis; see test_scale_out.py)."""

import asyncio
import contextlib
import json
import time

import websockets
from asgiref.sync import sync_to_async

from chat import selectors, snapshot
from chat.models import Membership
from notifications import selectors as inbox_selectors
from notifications import state as inbox_state

from .test_scale_out import ScaleOutTestCase

WITHIN = 1.0


class Tab:
    """A raw protocol 2 socket that records every frame with the time it came."""

    def __init__(self, url: str, cookie: str, origin: str):
        self.url, self.cookie, self.origin = url, cookie, origin
        self.frames: list[tuple[float, dict]] = []
        self.ws = None
        self.reader = None
        self.came = asyncio.Event()  # set at each frame

    async def open(self) -> dict:
        headers = {"Origin": self.origin, "Cookie": f"sessionid={self.cookie}"}
        self.ws = await websockets.connect(self.url, additional_headers=headers)
        self.reader = asyncio.ensure_future(self._read())
        return await self.wait_for("hello")

    async def _read(self):
        with contextlib.suppress(websockets.ConnectionClosed):
            async for text in self.ws:
                self.frames.append((time.monotonic(), json.loads(text)))
                self.came.set()

    async def send(self, frame: dict):
        await self.ws.send(json.dumps(frame))

    def of(self, kind: str) -> list[dict]:
        return [frame for _at, frame in self.frames if frame["type"] == kind]

    async def wait_for(self, kind: str, count: int = 1) -> dict:
        """Return the `count`th frame of a kind once it came (at most 5 s from now)."""
        try:
            async with asyncio.timeout(5):
                while len(self.of(kind)) < count:
                    self.came.clear()
                    await self.came.wait()
        except TimeoutError:
            kinds = [frame["type"] for _at, frame in self.frames]
            raise AssertionError(f"no {kind} (frames: {kinds})") from None
        return self.of(kind)[count - 1]

    def arrived(self, kind: str) -> float:
        return next(at for at, frame in self.frames if frame["type"] == kind)

    async def close(self):
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            await self.reader


class TabsAcrossProcessesTests(ScaleOutTestCase):
    users = ("alice", "bob")

    def setUp(self):
        super().setUp()
        Membership.objects.create(room=self.room, user=self.accounts["bob"])
        self.tabs: list[Tab] = []

    async def open_tab(self, username: str, server: str) -> tuple[Tab, dict]:
        port = self.port(server)
        tab = Tab(f"ws://127.0.0.1:{port}/ws/", self.cookies[username], f"http://127.0.0.1:{port}")
        self.tabs.append(tab)
        return tab, await tab.open()

    @sync_to_async
    def fresh(self, username: str) -> tuple[dict, dict]:
        user = self.accounts[username]
        rooms = {room["slug"]: room for room in selectors.member_rooms(user=user)}
        return rooms, inbox_selectors.hello_inbox(user=user)

    def applied(self, hello: dict, tab: Tab, me: int) -> tuple[dict, dict]:
        rooms = {room["slug"]: room for room in hello["rooms"]}
        inbox = hello["inbox"]
        for _at, frame in tab.frames[1:]:  # after the hello
            data = {name: value for name, value in frame.items() if name != "type"}
            rooms = snapshot.apply_event(rooms, frame["type"], data, me=me)
            inbox = inbox_state.apply_event(inbox, frame["type"], data)
        return rooms, inbox

    async def test_a_mention_and_a_read_cross_processes_within_a_second(self):
        try:
            bob_a, hello = await self.open_tab("bob", "A")
            bob_b, _ = await self.open_tab("bob", "B")
            alice_b, _ = await self.open_tab("alice", "B")
            await alice_b.send({"type": "view", "room": self.room.slug})
            await alice_b.wait_for("view")
            sent_at = time.monotonic()
            body = {"type": "message.send", "room": self.room.slug, "client_id": "m1"}
            await alice_b.send({**body, "body": "hello @bob"})
            new = await bob_a.wait_for("message.new")
            await bob_a.wait_for("notification.new")
            self.assertLess(bob_a.arrived("message.new") - sent_at, WITHIN)
            self.assertLess(bob_a.arrived("notification.new") - sent_at, WITHIN)

            # Read on the other process's tab: this one clears.
            await bob_b.wait_for("message.new")
            read_at = time.monotonic()
            rev = new["message"]["rev"]
            await bob_b.send({"type": "read", "room": self.room.slug, "rev": rev})
            await bob_a.wait_for("room.read")
            await bob_a.wait_for("notifications.read")
            self.assertLess(bob_a.arrived("room.read") - read_at, WITHIN)
            rooms, inbox = self.applied(hello, bob_a, self.accounts["bob"].pk)
            fresh_rooms, fresh_inbox = await self.fresh("bob")
            self.assertEqual(rooms, fresh_rooms)
            self.assertEqual(
                (inbox["notifications"], inbox["unread"]),
                (fresh_inbox["notifications"], fresh_inbox["unread"]),
            )
            self.assertEqual((rooms[self.room.slug]["unread"], inbox["unread"]), (0, 0))
        except BaseException:
            self.failed = True
            raise
        finally:
            await asyncio.gather(*(tab.close() for tab in self.tabs))
