"""The live staff dashboard (docs/operations.md, "Staff dashboard"): what it counts, the
processes' heartbeats, its staff-only socket and its staff-only page."""

import asyncio
import time
from datetime import timedelta
from unittest import mock

import redis.asyncio
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import OperationalError
from django.test import SimpleTestCase, TestCase, override_settings
from django.urls import reverse
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError

from chat.models import Message, ModerationAction, Room
from chat.realtime.presence import SIGNED_IN, LocalPresence, RedisPresence
from chat.tests.factories import make_message, make_messages, make_room, make_user
from chat.tests.servers import RedisServer
from chat.tests.test_consumers import TIMEOUT, SocketTestCase
from ops import dashboard, metrics, processes, stats
from ops.processes import Heartbeat, LocalProcesses, RedisProcesses, process_name, split_stale

DASHBOARD = "/ws/ops/dashboard/"


def _at(message: Message, moment) -> None:
    Message.objects.filter(pk=message.pk).update(created_at=moment)


class MessageActivityTests(TestCase):
    """Messages per minute per room over the window, and the busiest rooms."""

    def setUp(self):
        self.alice = make_user("alice")
        self.general = make_room("General")
        self.random = make_room("Random")
        self.now = timezone.now().replace(second=30, microsecond=0)
        self.start = self.now.replace(second=0) - timedelta(minutes=stats.ACTIVITY_MINUTES - 1)

    def message(self, room, moment):
        # Made in time order, as the site stores them: ids grow with created_at.
        message = make_message(room, self.alice)
        _at(message, moment)
        return message

    def test_counts_each_minute_of_the_window_per_room(self):
        self.message(self.general, self.now - timedelta(minutes=45))  # before the window
        self.message(self.general, self.start - timedelta(seconds=1))  # just before it
        self.message(self.general, self.start)  # its first moment
        for _ in range(2):
            self.message(self.general, self.now - timedelta(minutes=10))
        for _ in range(3):
            self.message(self.random, self.now - timedelta(minutes=1))
        self.message(self.general, self.now)

        with self.assertNumQueries(2):
            activity = stats.message_activity(now=self.now)

        self.assertEqual(activity.start, self.start)
        self.assertEqual(len(activity.per_minute), stats.ACTIVITY_MINUTES)
        expected = [0] * stats.ACTIVITY_MINUTES
        expected[0], expected[19], expected[28], expected[29] = 1, 2, 3, 1
        self.assertEqual(activity.per_minute, expected)
        self.assertEqual(activity.total, 7)
        general, random = activity.rooms
        self.assertEqual((general.slug, general.name, general.total), ("general", "General", 4))
        self.assertEqual(general.per_minute[0], 1)
        self.assertEqual(general.per_minute[19], 2)
        self.assertEqual(general.per_minute[29], 1)
        self.assertEqual((random.slug, random.total, random.per_minute[28]), ("random", 3, 3))

    def test_the_busiest_rooms_come_first_and_are_limited(self):
        quiet = make_room("Quiet")
        self.message(quiet, self.now)
        for _ in range(3):
            self.message(self.random, self.now)
        for _ in range(2):
            self.message(self.general, self.now)

        activity = stats.message_activity(now=self.now, busiest=2)

        self.assertEqual([room.slug for room in activity.rooms], ["random", "general"])
        self.assertEqual(activity.total, 6)  # the rooms left out still count

    def test_direct_conversations_count_but_are_not_listed(self):
        bob = make_user("bob")
        direct = Room.objects.create(
            name="direct",
            slug="d-1-2",
            kind=Room.Kind.DIRECT,
            direct_key=f"{self.alice.pk},{bob.pk}",
        )
        self.message(direct, self.now)
        self.message(self.general, self.now)

        activity = stats.message_activity(now=self.now)

        self.assertEqual((activity.total, activity.direct), (2, 1))
        self.assertEqual([room.slug for room in activity.rooms], ["general"])

    def test_an_empty_window(self):
        self.message(self.general, self.now - timedelta(hours=2))

        activity = stats.message_activity(now=self.now)

        self.assertEqual((activity.total, activity.rooms), (0, []))
        self.assertEqual(activity.per_minute, [0] * stats.ACTIVITY_MINUTES)


class ModerationActionsTests(TestCase):
    def test_newest_first_limited_with_names_as_copied(self):
        for number in range(4):
            ModerationAction.objects.create(
                kind=ModerationAction.Kind.BAN,
                actor_name="root",
                target_name=f"user{number}",
                room_name="General",
                reason=f"reason {number}",
            )

        with self.assertNumQueries(1):
            actions = stats.recent_moderation_actions(limit=3)

        self.assertEqual([a.target_name for a in actions], ["user3", "user2", "user1"])
        self.assertEqual(actions[0].get_kind_display(), "Ban")


class SnapshotDatabasePartTests(TestCase):
    def test_a_fixed_number_of_queries_whatever_the_traffic(self):
        root = make_user("root", is_staff=True)
        self.client.force_login(root)
        session_key = self.client.session.session_key
        alice = make_user("alice")
        for number in range(5):
            room = make_room(f"Room {number}")
            make_messages(room, alice, number + 1)
            ModerationAction.objects.create(kind=ModerationAction.Kind.ARCHIVE, room_name=room.name)

        # Access: the session, the user, the staff status; then messages (2), moderation.
        with self.assertNumQueries(6):
            refusal, data = dashboard._from_database(session_key=session_key, user_id=root.pk)

        self.assertIsNone(refusal)
        self.assertEqual(data["activity"]["total"], 15)
        self.assertEqual(len(data["moderation"]), 5)


# --- processes ------------------------------------------------------------------------------


def _beat(process: str, updated_at: float, sockets=None) -> Heartbeat:
    return Heartbeat(
        process=process,
        sockets=sockets or {"1": 0, "2": 0},
        database_queue=0,
        started_at=updated_at - 100,
        updated_at=updated_at,
    )


@override_settings(OPS_HEARTBEAT_INTERVAL=5)
class HeartbeatTests(SimpleTestCase):
    def test_a_process_silent_for_three_heartbeats_is_stale(self):
        now = 1_000_000.0
        live, stale = split_stale(
            [_beat("web2:1", now - 14.9), _beat("web1:1", now), _beat("web3:1", now - 15.1)],
            now=now,
            interval=5,
        )
        self.assertEqual([beat.process for beat in live], ["web1:1", "web2:1"])
        self.assertEqual([beat.process for beat in stale], ["web3:1"])

    def test_this_process_reports_its_open_sockets_by_protocol(self):
        before = processes.this_process().sockets
        metrics.SOCKETS_OPEN.labels("2").inc(3)
        self.addCleanup(metrics.SOCKETS_OPEN.labels("2").dec, 3)

        beat = processes.this_process()

        self.assertEqual(beat.process, process_name())
        self.assertEqual(beat.sockets["2"], before["2"] + 3)
        self.assertEqual(beat.sockets["1"], before["1"])
        self.assertLessEqual(beat.started_at, beat.updated_at)
        self.assertEqual(Heartbeat.from_json(beat.to_json()), beat)

    async def test_local_store_keeps_the_live_and_forgets_the_stale(self):
        store = LocalProcesses()
        now = time.time()
        await store.publish(_beat("here:1", now))
        await store.publish(_beat("gone:1", now - 60))

        self.assertEqual([beat.process for beat in await store.live(now=now)], ["here:1"])
        self.assertEqual(list(store.heartbeats), ["here:1"])


@override_settings(OPS_HEARTBEAT_INTERVAL=5)
class RedisHeartbeatTests(SimpleTestCase):
    """Two stores stand for two processes sharing one Redis."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.redis = RedisServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.redis.stop()
        super().tearDownClass()

    async def test_every_process_sees_every_live_heartbeat_and_the_stale_are_removed(self):
        web1, web2 = RedisProcesses(self.redis.url), RedisProcesses(self.redis.url)
        now = time.time()
        await web1.publish(_beat("web1:7", now, {"1": 2, "2": 5}))
        await web2.publish(_beat("web2:7", now - 1))
        await web2.publish(_beat("web3:7", now - 16))  # stopped a while ago

        seen = await web1.live(now=now)

        self.assertEqual([beat.process for beat in seen], ["web1:7", "web2:7"])
        self.assertEqual((seen[0].sockets, seen[0].sockets_total), ({"1": 2, "2": 5}, 7))
        client = redis.asyncio.Redis.from_url(self.redis.url)
        try:
            kept = sorted(await client.hkeys(RedisProcesses.KEY))
            ttl = await client.ttl(RedisProcesses.KEY)
        finally:
            await client.aclose()
        self.assertEqual(kept, [b"web1:7", b"web2:7"])
        self.assertGreater(ttl, 0)


# --- people online ----------------------------------------------------------------------------


class PeopleOnlineTests(SimpleTestCase):
    async def test_local_presence_counts_each_user_once(self):
        presence = LocalPresence()
        await presence.join(room_id=SIGNED_IN, user_id=1, username="alice", channel_name="a1")
        await presence.join(room_id=SIGNED_IN, user_id=1, username="alice", channel_name="a2")
        await presence.join(room_id=5, user_id=2, username="bob", channel_name="b1")  # protocol 1
        # A tab's room in view is not a socket of its own.
        await presence.join(
            room_id=5, user_id=1, username="alice", channel_name="a1", counted=False
        )

        self.assertEqual(await presence.users_online(), 2)
        await presence.leave(room_id=5, user_id=2, channel_name="b1")
        self.assertEqual(await presence.users_online(), 1)


class RedisPeopleOnlineTests(SimpleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.redis = RedisServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.redis.stop()
        super().tearDownClass()

    def process(self, ttl=60) -> RedisPresence:
        return RedisPresence(self.redis.url, ttl=ttl, heartbeat=3600, sweep=0)

    async def test_users_with_a_live_socket_in_any_process_count_once(self):
        web1, web2, dead = self.process(), self.process(), self.process(ttl=0.01)
        await web1.join(room_id=SIGNED_IN, user_id=1, username="alice", channel_name="a1")
        await web2.join(room_id=SIGNED_IN, user_id=1, username="alice", channel_name="a2")
        await web2.join(room_id=5, user_id=2, username="bob", channel_name="b1")
        # A process that died: its entries expire, though the user's key lingers a while.
        await dead.join(room_id=SIGNED_IN, user_id=3, username="carol", channel_name="c1")
        await asyncio.sleep(0.05)

        self.assertEqual(await web1.users_online(), 2)
        await web2.leave(room_id=5, user_id=2, channel_name="b1")
        self.assertEqual(await web1.users_online(), 1)


# --- the socket -------------------------------------------------------------------------------


@override_settings(OPS_DASHBOARD_INTERVAL=0.2, OPS_HEARTBEAT_INTERVAL=0.1)
class DashboardSocketTests(SocketTestCase):
    def setUp(self):
        super().setUp()
        processes._store = None  # the heartbeats kept in this process
        self.root = make_user("root", is_staff=True)
        self.login(self.root)

    async def snapshot_where(self, communicator, check, *, frames: int = 20) -> dict:
        """Read snapshots until one passes `check`; fail after `frames` of them."""
        for _ in range(frames):
            frame = await self.expect(communicator, "snapshot")
            if check(frame):
                return frame
        self.fail(f"no snapshot passed the check in {frames}: last {frame}")

    async def test_staff_get_a_snapshot_at_once_and_later_ones_follow_new_messages(self):
        await database_sync_to_async(make_messages)(self.room, self.alice, 2)
        tab = await self.connect(self.alice, "/ws/")
        await self.expect(tab, "hello")

        dashboard = await self.connect(self.root, DASHBOARD)
        first = await self.expect(dashboard, "snapshot")

        self.assertEqual(first["people_online"], 1)
        self.assertEqual(first["interval"], 0.2)
        self.assertEqual(first["activity"]["total"], 2)
        self.assertEqual(first["activity"]["per_minute"][-1], 2)
        self.assertEqual(
            [(room["slug"], room["total"]) for room in first["activity"]["rooms"]],
            [("general", 2)],
        )
        self.assertEqual(first["moderation"], [])

        await database_sync_to_async(make_message)(self.room, self.bob, "one more")
        later = await self.snapshot_where(dashboard, lambda f: f["activity"]["total"] == 3)
        self.assertEqual(later["activity"]["rooms"][0]["total"], 3)

        # This process's heartbeat, with the tab's socket in it (protocol 2).
        here = await self.snapshot_where(
            dashboard,
            lambda f: any(
                p["process"] == process_name() and p["sockets"].get("2", 0) >= 1
                for p in f["processes"]
            ),
        )
        self.assertGreaterEqual(here["sockets_open"], 1)

    async def test_a_moderation_action_shows_in_the_next_snapshot(self):
        dashboard = await self.connect(self.root, DASHBOARD)
        await self.expect(dashboard, "snapshot")

        await database_sync_to_async(ModerationAction.objects.create)(
            kind=ModerationAction.Kind.MUTE,
            actor_name="root",
            target_name="bob",
            room_name="General",
            reason="<b>shouting</b>",
        )

        frame = await self.snapshot_where(dashboard, lambda f: f["moderation"])
        action = frame["moderation"][0]
        self.assertEqual(
            {k: action[k] for k in ("kind", "kind_label", "actor", "target", "room", "reason")},
            {
                "kind": "mute",
                "kind_label": "Mute",
                "actor": "root",
                "target": "bob",
                "room": "General",
                "reason": "<b>shouting</b>",
            },
        )

    async def test_a_member_who_is_not_staff_is_refused_with_4403(self):
        dashboard = await self.connect(self.alice, DASHBOARD)
        await self.assertClosed(dashboard, 4403)

    async def test_someone_signed_out_is_refused_with_4401(self):
        dashboard = await self.connect(None, DASHBOARD)
        await self.assertClosed(dashboard, 4401)

    async def test_another_sites_page_is_refused(self):
        communicator = self.communicator(self.root, DASHBOARD, origin=b"http://evil.example")
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        self.assertFalse(connected)

    async def assertClosedSoon(self, communicator, code):
        """Snapshots may still arrive; then the socket closes with `code`."""
        for _ in range(20):
            output = await communicator.receive_output(timeout=TIMEOUT)
            if output["type"] == "websocket.close":
                self.assertEqual(output["code"], code)
                return
        self.fail("the socket stayed open")

    async def test_staff_no_more_is_closed_with_4403(self):
        dashboard = await self.connect(self.root, DASHBOARD)
        await self.expect(dashboard, "snapshot")

        await database_sync_to_async(get_user_model().objects.filter(pk=self.root.pk).update)(
            is_staff=False
        )

        await self.assertClosedSoon(dashboard, 4403)

    async def test_a_login_that_ended_is_closed_with_4401(self):
        dashboard = await self.connect(self.root, DASHBOARD)
        await self.expect(dashboard, "snapshot")

        await database_sync_to_async(lambda: Session.objects.all().delete())()

        await self.assertClosedSoon(dashboard, 4401)

    async def test_ping_is_answered_and_anything_else_refused(self):
        dashboard = await self.connect(self.root, DASHBOARD)
        await dashboard.send_json_to({"type": "ping", "t": 42})
        await dashboard.send_to(text_data="not json")
        frames = [await dashboard.receive_json_from(timeout=TIMEOUT) for _ in range(6)]
        answers = [frame for frame in frames if frame["type"] != "snapshot"]
        self.assertEqual(answers[0], {"type": "pong", "t": 42})
        self.assertEqual((answers[1]["type"], answers[1]["code"]), ("error", "bad_frame"))

    async def test_the_database_away_closes_with_4503(self):
        with mock.patch.object(stats, "message_activity", side_effect=OperationalError("gone")):
            dashboard = await self.connect(self.root, DASHBOARD)
            with self.assertLogs("ops.consumers", "WARNING"):
                await self.assertClosed(dashboard, 4503)

    async def test_presence_out_of_reach_leaves_only_its_number_empty(self):
        broken = mock.Mock()
        broken.users_online = mock.AsyncMock(side_effect=RedisConnectionError("refused"))
        with (
            mock.patch("ops.dashboard.get_presence", return_value=broken),
            self.assertLogs("ops.dashboard", "WARNING"),
        ):
            dashboard = await self.connect(self.root, DASHBOARD)
            frame = await self.expect(dashboard, "snapshot")

        self.assertIsNone(frame["people_online"])
        self.assertEqual(frame["activity"]["total"], 0)
        self.assertIsInstance(frame["processes"], list)


# --- the page ---------------------------------------------------------------------------------


class DashboardPageTests(TestCase):
    def setUp(self):
        self.url = reverse("ops:dashboard")

    def test_staff_get_the_page(self):
        self.client.force_login(make_user("root", is_staff=True))

        response = self.client.get(self.url)

        self.assertEqual(response.status_code, 200)
        self.assertTemplateUsed(response, "admin/ops/dashboard.html")
        self.assertContains(response, 'data-ws-path="/ws/ops/dashboard/"')
        self.assertContains(response, '<script type="module" src="/static/js/ops/dashboard.js">')
        self.assertContains(response, "Connecting…")

    def test_a_member_who_is_not_staff_is_sent_to_the_admin_login(self):
        self.client.force_login(make_user("alice"))

        response = self.client.get(self.url)

        self.assertRedirects(
            response, f"{reverse('admin:login')}?next={self.url}", fetch_redirect_response=False
        )

    def test_someone_signed_out_is_sent_to_the_admin_login(self):
        response = self.client.get(self.url)

        self.assertRedirects(
            response, f"{reverse('admin:login')}?next={self.url}", fetch_redirect_response=False
        )

    def test_the_admin_home_page_links_to_it(self):
        self.client.force_login(make_user("root", is_staff=True, is_superuser=True))

        response = self.client.get(reverse("admin:index"))

        self.assertContains(response, f'<a href="{self.url}">Live dashboard</a>', html=True)
        self.assertContains(response, "app-chat")  # the apps are still listed
