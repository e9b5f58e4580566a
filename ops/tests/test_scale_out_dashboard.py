"""The staff dashboard across server processes (PostgreSQL and Redis; see
chat/tests/test_scale_out.py): a dashboard open on one process lists both, with the
sockets each one holds, counts a user on the other as online, and drops a process
that stopped."""

import asyncio
import json
import os
import socket
import time
from unittest import mock

import redis
import websockets
from django.conf import settings
from django.contrib.auth.models import User

from chat.tests.test_scale_out import ScaleOutTestCase, _session_cookie, closes_clients
from ops.processes import RedisProcesses

HEARTBEAT = "0.3"  # seconds, in both processes; a process silent for three is dropped
WAIT = 5.0


class Socket:
    """A raw WebSocket to one process that keeps the last frame of each type."""

    def __init__(self, port: int, path: str, cookie: str):
        self.url = f"ws://127.0.0.1:{port}{path}"
        self.headers = {"Origin": f"http://127.0.0.1:{port}", "Cookie": f"sessionid={cookie}"}
        self.ws = None

    async def open(self):
        self.ws = await websockets.connect(self.url, additional_headers=self.headers)
        return self

    async def frame_where(self, kind: str, check=lambda frame: True) -> dict:
        """Read frames until one of this kind passes `check` (within WAIT seconds)."""
        last = None
        try:
            async with asyncio.timeout(WAIT):
                while True:
                    frame = json.loads(await self.ws.recv())
                    if frame.get("type") == kind:
                        last = frame
                        if check(frame):
                            return frame
        except TimeoutError:
            raise AssertionError(f"no {kind} passed the check; the last: {last}") from None

    async def close(self):
        if self.ws is not None:
            await self.ws.close()


def _row(frame: dict, process: str) -> dict | None:
    return next((row for row in frame["processes"] or [] if row["process"] == process), None)


class DashboardAcrossProcessesTests(ScaleOutTestCase):
    users = ("alice", "bob")

    def setUp(self):
        client = redis.Redis.from_url(settings.REDIS_URL)
        try:
            client.delete(RedisProcesses.KEY)  # heartbeats of an earlier test's processes
        finally:
            client.close()
        overrides = {"OPS_HEARTBEAT_INTERVAL": HEARTBEAT, "OPS_DASHBOARD_INTERVAL": HEARTBEAT}
        with mock.patch.dict(os.environ, overrides):
            super().setUp()  # the processes start with this environment
        self.root_cookie = _session_cookie(User.objects.create_user("root", is_staff=True))
        self.sockets: list[Socket] = []

    def name(self, server: str) -> str:
        return f"{socket.gethostname()}:{self.servers[server].pid}"

    async def open(self, server: str, path: str, cookie: str) -> Socket:
        opened = await Socket(self.port(server), path, cookie).open()
        self.sockets.append(opened)
        return opened

    @closes_clients
    async def test_a_dashboard_on_one_process_sees_the_sockets_of_both(self):
        a, b = self.name("A"), self.name("B")
        try:
            dashboard = await self.open("A", "/ws/ops/dashboard/", self.root_cookie)
            await self.open("B", "/ws/", self.cookies["bob"])  # bob's tab, on B

            def both_seen(frame):
                rows = _row(frame, a), _row(frame, b)
                return all(rows) and rows[1]["sockets"].get("2") == 1

            frame = await dashboard.frame_where("snapshot", both_seen)
            self.assertEqual(_row(frame, a)["sockets"].get("2", 0), 0)
            self.assertEqual(frame["sockets_open"], 1)
            self.assertEqual(frame["people_online"], 1)  # bob, online through B

            self.servers["B"].stop()
            stopped = time.monotonic()
            frame = await dashboard.frame_where("snapshot", lambda f: _row(f, b) is None)
            self.assertIsNotNone(_row(frame, a))
            self.assertLess(time.monotonic() - stopped, WAIT)
        finally:
            await asyncio.gather(*(opened.close() for opened in self.sockets))
