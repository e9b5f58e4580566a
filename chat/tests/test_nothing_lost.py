"""Nothing acknowledged is lost and nothing is stored twice, whatever the layer does.

These tests drive real consumers through WebsocketCommunicator with clients that
follow PROTOCOL.md (chat/tests/room_view.py), over a channel layer that drops,
duplicates and reorders group messages (chat/tests/faults.py).
"""

import asyncio
import random
import sys
import threading
from collections import Counter
from unittest import mock

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client, TransactionTestCase, override_settings

from chat import events, services
from chat.models import Message
from chat.services import messages as message_services
from myproject.asgi import application

from .room_view import RoomView

FAULTY_LAYER = {
    "default": {
        "BACKEND": "chat.tests.faults.FaultyChannelLayer",
        "CONFIG": {"capacity": 100_000},
    }
}


def _session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


class Tab:
    """One browser tab: a socket plus the client state that outlives reconnects."""

    def __init__(self, *, slug: str, cookie: bytes, view: RoomView):
        self.slug, self.cookie, self.view = slug, cookie, view
        self.communicator = None

    async def open(self):
        """Connect with ?since=R, then resend whatever was never acknowledged."""
        self.communicator = WebsocketCommunicator(
            application,
            f"/ws/rooms/{self.slug}/?since={self.view.rev}",
            headers=[(b"origin", b"http://localhost"), (b"cookie", self.cookie)],
        )
        connected, _ = await self.communicator.connect()
        assert connected
        hello = await self.communicator.receive_json_from(timeout=5)
        assert hello["type"] == "hello", hello
        for frame in self.view.resend_frames():
            await self.communicator.send_json_to(frame)

    async def close(self):
        await self.communicator.disconnect()

    async def send(self, frame: dict):
        await self.communicator.send_json_to(frame)

    async def drain(self):
        """Handle every frame that has arrived, answering as the protocol says."""
        # receive_nothing first: a receive that times out would cancel the consumer.
        while not await self.communicator.receive_nothing(timeout=0.02):
            frame = await self.communicator.receive_json_from(timeout=5)
            for answer in self.view.handle(frame):
                await self.communicator.send_json_to(answer)

    async def read_until(self, kind: str, **fields) -> dict:
        """Handle frames, answering as the protocol says, until one of a kind arrives."""
        while True:
            frame = await self.communicator.receive_json_from(timeout=10)
            for answer in self.view.handle(frame):
                await self.communicator.send_json_to(answer)
            if frame["type"] == kind and all(frame.get(k) == v for k, v in fields.items()):
                return frame

    async def barrier(self):
        """Return once the server has answered every frame sent so far (it answers in order)."""
        await self.send({"type": "ping", "t": "barrier"})
        await self.read_until("pong", t="barrier")

    async def catch_up(self):
        """Settle as a client does: ping to learn the room's revision, sync what is missing."""
        await self.send({"type": "ping", "t": "final"})
        pong = await self.read_until("pong", t="final")
        if pong["rev"] > self.view.rev:
            # The view answered the pong with a sync; read it to the end.
            await self.read_until("sync", complete=True)


async def _receive_type(communicator, kind: str) -> dict:
    """Return the next frame of a type, passing over others (presence, typing)."""
    while (frame := await communicator.receive_json_from(timeout=5))["type"] != kind:
        pass
    return frame


def _database_view(room) -> dict[int, tuple]:
    return {
        row["id"]: (row["rev"], "" if row["deleted_at"] else row["body"], bool(row["deleted_at"]))
        for row in Message.objects.filter(room=room).values("id", "rev", "body", "deleted_at")
    }


@override_settings(CHANNEL_LAYERS=FAULTY_LAYER, CHAT_RATE_MESSAGES=100_000, CHAT_RATE_ROOMS=100_000)
class FaultScheduleTests(TransactionTestCase):
    """For many random fault schedules, every client's final view equals the database."""

    schedules = 25
    steps = 40

    def setUp(self):
        self.alice = User.objects.create_user("alice", password="pw")
        self.bob = User.objects.create_user("bob", password="pw")
        self.cookies = {"alice": _session_cookie(self.alice), "bob": _session_cookie(self.bob)}

    async def test_random_fault_schedules_lose_and_duplicate_nothing(self):
        totals = Counter()
        for seed in range(self.schedules):
            totals += await self.run_schedule(seed)
        print(f"\nfault schedules: {self.schedules}; totals: {dict(totals)}", file=sys.__stderr__)
        # The schedules did exercise the faults and the repair.
        self.assertGreater(totals["dropped"], 0)
        self.assertGreater(totals["duplicated"], 0)
        self.assertGreater(totals["delayed"], 0)
        self.assertGreater(totals["recovered"], 0)
        self.assertEqual(totals["sent"], totals["stored"])

    async def run_schedule(self, seed: int) -> Counter:
        rng = random.Random(seed)
        layer = get_channel_layer()
        layer.configure(
            drop=rng.uniform(0.05, 0.5),
            duplicate=rng.uniform(0.0, 0.3),
            delay=rng.uniform(0.0, 0.5),
            seed=seed,
        )
        room = await sync_to_async(services.room_create)(
            name=f"Faults {seed}", created_by=self.alice
        )
        tabs = [
            Tab(slug=room.slug, cookie=self.cookies[name], view=RoomView(username=name))
            for name in ("alice", "alice", "bob")
        ]
        for tab in tabs:
            await tab.open()
        sent: set[str] = set()
        for _ in range(self.steps):
            await self.random_step(rng, rng.choice(tabs), sent)
        for tab in tabs:
            await tab.barrier()
        await layer.settle()
        for tab in tabs:
            await tab.catch_up()
        expected = await sync_to_async(_database_view)(room)
        for tab in tabs:
            self.assertEqual(tab.view.outbox, {}, f"seed {seed}: unacknowledged messages")
            self.assertEqual(tab.view.snapshot(), expected, f"seed {seed}: view differs")
            await tab.close()
        stored = await Message.objects.filter(room=room).acount()
        client_ids = Message.objects.filter(room=room).values_list("client_id", flat=True)
        distinct = len({client_id async for client_id in client_ids})
        self.assertEqual(stored, distinct, f"seed {seed}: a client_id was stored twice")
        return Counter(
            sent=len(sent),
            stored=stored,
            recovered=sum(tab.view.recovered for tab in tabs),
            **layer.counts,
        )

    async def random_step(self, rng: random.Random, tab: Tab, sent: set[str]):
        roll = rng.random()
        if roll < 0.55:
            frame = tab.view.compose(f"message {len(sent)} from {tab.view.username}")
            sent.add(frame["client_id"])
            await tab.send(frame)
        elif roll < 0.65 and (own := self.own_live_messages(tab)):
            message = rng.choice(own)
            await tab.send(
                {"type": "message.edit", "id": message["id"], "body": f"{message['body']}!"}
            )
        elif roll < 0.72 and (own := self.own_live_messages(tab)):
            await tab.send({"type": "message.delete", "id": rng.choice(own)["id"]})
        elif roll < 0.82:
            # Drop the socket without reading what is in flight: acknowledgements get lost.
            await tab.close()
            await tab.open()
        else:
            await tab.drain()

    @staticmethod
    def own_live_messages(tab: Tab) -> list[dict]:
        return [
            message
            for message in tab.view.messages.values()
            if message["author"]["username"] == tab.view.username and not message["deleted"]
        ]


class CatchUpTests(TransactionTestCase):
    """Reconnecting with ?since=R brings exactly what was missed."""

    def setUp(self):
        self.alice = User.objects.create_user("alice", password="pw")
        self.bob = User.objects.create_user("bob", password="pw")
        self.room = services.room_create(name="Catch up", created_by=self.alice)

    async def test_reconnect_with_since_receives_exactly_the_changes_missed(self):
        send = sync_to_async(services.message_send)
        kept, _ = await send(room=self.room, author=self.alice, body="kept", client_id="k")
        edited, _ = await send(room=self.room, author=self.alice, body="before", client_id="e")
        deleted, _ = await send(room=self.room, author=self.alice, body="gone", client_id="d")
        view = RoomView(username="bob")
        cookie = await sync_to_async(_session_cookie)(self.bob)
        tab = Tab(slug=self.room.slug, cookie=cookie, view=view)
        await tab.open()
        await tab.drain()
        held_rev = view.rev
        self.assertEqual(held_rev, 3)
        await tab.close()
        # While bob is away: one new message, one edit, one deletion.
        new, _ = await send(room=self.room, author=self.alice, body="new", client_id="n")
        await sync_to_async(services.message_edit)(
            room=self.room, user=self.alice, message_id=edited["id"], body="after"
        )
        await sync_to_async(services.message_delete)(
            room=self.room, user=self.alice, message_id=deleted["id"]
        )
        communicator = WebsocketCommunicator(
            application,
            f"/ws/rooms/{self.room.slug}/?since={held_rev}",
            headers=[(b"origin", b"http://localhost"), (b"cookie", cookie)],
        )
        await communicator.connect()
        await _receive_type(communicator, "hello")
        sync = await _receive_type(communicator, "sync")
        await communicator.disconnect()
        self.assertEqual(sync["type"], "sync")
        self.assertTrue(sync["complete"])
        self.assertEqual(sync["rev"], 6)
        self.assertEqual(
            [(m["id"], m["rev"], m["body"], m["deleted"]) for m in sync["messages"]],
            [
                (new["id"], 4, "new", False),
                (edited["id"], 5, "after", False),
                (deleted["id"], 6, "", True),
            ],
        )
        self.assertNotIn(kept["id"], [m["id"] for m in sync["messages"]])


class IdempotentSendTests(TransactionTestCase):
    def setUp(self):
        self.alice = User.objects.create_user("alice", password="pw")
        self.room = services.room_create(name="Idempotent", created_by=self.alice)
        self.cookie = _session_cookie(self.alice)

    def communicator(self, since: int | None = None) -> WebsocketCommunicator:
        query = f"?since={since}" if since is not None else ""
        return WebsocketCommunicator(
            application,
            f"/ws/rooms/{self.room.slug}/{query}",
            headers=[(b"origin", b"http://localhost"), (b"cookie", self.cookie)],
        )

    async def test_lost_acknowledgement_then_resend_stores_one_row(self):
        frame = {"type": "message.send", "client_id": "lost-ack", "body": "hello"}
        first = self.communicator()
        await first.connect()
        await first.receive_json_from()  # hello
        await first.send_json_to(frame)
        # The socket drops before the acknowledgement is read.
        await first.disconnect()
        self.assertEqual(await Message.objects.filter(client_id="lost-ack").acount(), 1)
        second = self.communicator(since=0)
        await second.connect()
        await _receive_type(second, "sync")
        await second.send_json_to(frame)
        answer = await _receive_type(second, "message.new")
        await second.disconnect()
        self.assertEqual(answer["type"], "message.new")
        self.assertEqual(answer["message"]["client_id"], "lost-ack")
        self.assertEqual(await Message.objects.filter(client_id="lost-ack").acount(), 1)

    async def test_same_client_id_from_two_sockets_at_once_stores_one_row(self):
        tabs = [self.communicator(), self.communicator()]
        for tab in tabs:
            await tab.connect()
            await tab.receive_json_from()  # hello
        frame = {"type": "message.send", "client_id": "twice", "body": "once"}
        await asyncio.gather(*(tab.send_json_to(frame) for tab in tabs))
        answers = []
        for tab in tabs:
            answers.append(await _receive_type(tab, "message.new"))
            await tab.disconnect()
        self.assertEqual(await Message.objects.filter(client_id="twice").acount(), 1)
        self.assertEqual(answers[0]["message"]["id"], answers[1]["message"]["id"])


class ConcurrentSendRaceTests(TransactionTestCase):
    """Two requests that both find no row for a client_id, then both insert."""

    def setUp(self):
        self.alice = User.objects.create_user("alice", password="pw")
        self.room = services.room_create(name="Race", created_by=self.alice)

    def test_the_losing_insert_answers_with_the_winning_row(self):
        # Make the pre-check miss in both, as it does when two inserts race.
        real_lookup = message_services._existing
        forced_misses = iter([True, True])

        def racing_lookup(**kwargs):
            # The two pre-checks miss; the lookup after the failed insert is real.
            if next(forced_misses, False):
                return None
            return real_lookup(**kwargs)

        with (
            mock.patch.object(message_services, "_existing", side_effect=racing_lookup) as lookup,
            events.captured_events() as sent,
        ):
            first, first_created = services.message_send(
                room=self.room, author=self.alice, body="hi", client_id="race"
            )
            second, second_created = services.message_send(
                room=self.room, author=self.alice, body="hi", client_id="race"
            )
        self.assertTrue(first_created)
        self.assertFalse(second_created)
        # Both pre-checks missed; the loser looked again after its insert failed.
        self.assertEqual(lookup.call_count, 3)
        self.assertEqual(first["id"], second["id"])
        self.assertEqual(Message.objects.filter(client_id="race").count(), 1)
        # The losing transaction rolled back whole: its revision was not taken, and it
        # sent nothing.
        self.room.refresh_from_db()
        self.assertEqual(self.room.rev, 1)
        self.assertEqual(
            [(event.kind, event.data) for event in sent], [(events.MESSAGE_NEW, {"message": first})]
        )

    def test_threads_sending_the_same_client_id_store_one_row(self):
        barrier = threading.Barrier(4)
        results = []

        def send():
            barrier.wait()
            try:
                results.append(
                    services.message_send(
                        room=self.room, author=self.alice, body="hi", client_id="threads"
                    )
                )
            finally:
                connection.close()

        threads = [threading.Thread(target=send) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(len(results), 4)
        self.assertEqual(len({message["id"] for message, _created in results}), 1)
        self.assertEqual(sum(created for _message, created in results), 1)
        self.assertEqual(Message.objects.filter(client_id="threads").count(), 1)
