"""Scale out in the benchmark (run.py --deployments): how the load generator spreads a
room's sockets over several server processes, how CPU is summed over them and read for
the services (PostgreSQL's exited backends included), what deploy() builds, and the
table that compares deployments.

Collected by pytest (`make test-python`) from bench/, which is not a package: pytest puts
bench/ on sys.path for it, as the bench's own scripts do. Nothing here starts a server.
"""

import os
import subprocess
import sys
import unittest
from array import array
from collections import Counter
from unittest import mock

import loadgen
import run
import servers

ENDPOINTS = [("ws://127.0.0.1:8301/ws/rooms/{room}/", "http://127.0.0.1:8301")]
SECOND = ("ws://127.0.0.1:8351/ws/rooms/{room}/", "http://127.0.0.1:8351")


def plan(rooms: int, members: int, more_endpoints=(), workers: int = 2) -> loadgen.Plan:
    url, origin = ENDPOINTS[0]
    return loadgen.Plan(
        protocol="project",
        url=url,
        origin=origin,
        more_endpoints=list(more_endpoints),
        cookies=[f"sessionid={k}" for k in range(rooms * members)],
        rooms=[f"room-{i}" for i in range(rooms)],
        members=members,
        senders=members,
        steps=[(5.0, 1.0)],
        workers=workers,
    )


class SpreadTests(unittest.TestCase):
    def test_one_endpoint_puts_every_socket_on_it(self):
        sockets = list(plan(1, 200).sockets())
        self.assertEqual({endpoint for *_rest, endpoint in sockets}, {ENDPOINTS[0]})

    def test_two_endpoints_split_each_room_and_its_senders_in_halves(self):
        for rooms, members in ((1, 200), (50, 20)):
            sockets = list(plan(rooms, members, [SECOND]).sockets())
            per_room = Counter((room, endpoint) for _k, room, _c, _s, endpoint in sockets)
            self.assertEqual(set(per_room.values()), {members // 2}, (rooms, members))
            senders = Counter(e for _k, _r, _c, is_sender, e in sockets if is_sender)
            self.assertEqual(senders[ENDPOINTS[0]], senders[SECOND])

    def test_each_client_process_has_sockets_on_every_endpoint(self):
        workers = 2
        sockets = list(plan(1, 200, [SECOND], workers).sockets())
        for wid in range(workers):
            mine = Counter(e for k, _r, _c, _s, e in sockets if k % workers == wid)
            self.assertEqual(mine[ENDPOINTS[0]], mine[SECOND], wid)


class CpuTests(unittest.TestCase):
    def test_family_cpu_counts_a_child_that_exited(self):
        before = loadgen.family_cpu_seconds(os.getpid())
        # A child that burns CPU and is waited for: only cutime/cstime keep its CPU.
        burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass"
        subprocess.run([sys.executable, "-c", burn], check=True)
        self.assertGreaterEqual(loadgen.family_cpu_seconds(os.getpid()) - before, 0.25)

    def test_a_step_sums_the_processes_and_reports_the_services(self):
        lat = array("d", [0.01] * 2000).tobytes()
        result = {
            "sent": [10],
            "send_lag": [0.0],
            "latencies": [lat],
            "errors": {},
            "other_types": {},
            "closed": {},
            "frames": 2000,
            "cpu_at": [(0.0, 0.0), (1.0, 0.1)],
        }
        p = plan(1, 200, [SECOND])
        summary = loadgen._summarize(
            p,
            200,
            {},
            1.0,
            [result],
            [[1.0, 2.0], [1.5, 3.0]],
            [{"Redis": 1.0, "PostgreSQL": 4.0}, {"Redis": 1.2, "PostgreSQL": 4.4}],
        )
        step = summary["steps"][0]
        self.assertEqual(step["delivered_ratio"], 1.0)
        self.assertEqual(step["server_cpu_s"], 1.5)
        self.assertEqual(step["server_cpu_s_by_process"], [0.5, 1.0])
        self.assertEqual(step["server_cpu_s_per_1000_deliveries"], 0.75)
        self.assertEqual(step["services_cpu_s"], {"Redis": 0.2, "PostgreSQL": 0.4})
        self.assertEqual(step["services_cpu_s_per_1000_deliveries"], 0.3)

    def test_one_process_and_no_services_keep_the_old_step(self):
        result = {
            "sent": [1],
            "send_lag": [0.0],
            "latencies": [array("d", [0.01] * 200).tobytes()],
            "errors": {},
            "other_types": {},
            "closed": {},
            "frames": 200,
            "cpu_at": [(0.0, 0.0), (1.0, 0.1)],
        }
        summary = loadgen._summarize(plan(1, 200), 200, {}, 1.0, [result], [[1.0], [1.2]], [{}, {}])
        step = summary["steps"][0]
        self.assertEqual(step["server_cpu_s"], 0.2)
        self.assertNotIn("server_cpu_s_by_process", step)
        self.assertNotIn("services_cpu_s", step)


class DeployTests(unittest.TestCase):
    def test_deployment_names(self):
        self.assertEqual(servers.deployment_processes("embedded"), 1)
        self.assertEqual(servers.deployment_processes("redis2"), 2)
        for bad in ("redis0", "redis", "pg", "redis12"):
            with self.assertRaises(ValueError):
                servers.deployment_processes(bad)

    def test_only_the_project_scales_out(self):
        with self.assertRaises(ValueError):
            servers.deploy("raw", "redis2")

    def test_two_processes_share_the_services_on_their_own_ports(self):
        env = {"DATABASE_URL": "postgres://u@127.0.0.1:5999/chat", "REDIS_URL": "redis://h:6999/0"}
        with mock.patch.dict(os.environ, env):
            group = servers.deploy("project", "redis2")
        try:
            self.assertEqual([s.port for s in group.servers], [8301, 8351])
            for server in group.servers:
                self.assertEqual(
                    server.env["DATABASE_URL"], "postgres://u@127.0.0.1:5999/bench_scale"
                )
                self.assertEqual(server.env["REDIS_URL"], "redis://h:6999/12")
            self.assertEqual(
                [origin for _url, origin in group.endpoints()],
                ["http://127.0.0.1:8301", "http://127.0.0.1:8351"],
            )
            self.assertEqual(group.services.ports(), {5999: "PostgreSQL", 6999: "Redis"})
        finally:
            for server in group.servers:
                server.stop()

    def test_embedded_is_one_process_on_sqlite(self):
        group = servers.deploy("project")
        try:
            self.assertEqual(len(group.servers), 1)
            self.assertIsNone(group.services)
            self.assertTrue(group.first.env["DATABASE_URL"].startswith("sqlite:///"))
            self.assertNotIn("REDIS_URL", group.first.env)
        finally:
            group.first.stop()


def step(rate, dps, ratio, p99, cpu_per_1000, services_per_1000=None):
    found = {
        "offered_rate": rate,
        "deliveries_per_s": dps,
        "delivered_ratio": ratio,
        "p50_ms": p99 / 2,
        "p99_ms": p99,
        "server_cpu_s": 1.0,
        "server_cpu_s_per_1000_deliveries": cpu_per_1000,
    }
    if services_per_1000 is not None:
        found["services_cpu_s"] = {"Redis": 0.1}
        found["services_cpu_s_per_1000_deliveries"] = services_per_1000
    return found


class TableTests(unittest.TestCase):
    def report(self, deployments: str) -> dict:
        fanout = {
            "project": {"steps": [step(5, 1000.0, 1.0, 20.0, 0.1)]},
            "project+redis1": {"steps": [step(5, 1000.0, 1.0, 40.0, 0.2, 0.05)]},
            "project+redis2": {"steps": [step(5, 800.0, 0.8, 80.0, 0.3, 0.05)]},
        }
        return {
            "args": {"deployments": deployments, "workers": 2},
            "machine": {"nproc": 2},
            "results": {"fanout": fanout},
        }

    def test_each_deployment_against_the_one_before(self):
        text = "\n".join(run.scale_out_markdown(self.report("embedded,redis1,redis2")))
        self.assertIn(
            "| fanout | project | 5 | redis1/embedded "
            "| 1.00 | 2.00 | 2.00 | 2.00 | 2.50 | +0.150 |",
            text,
        )
        # redis2 lost deliveries: its CPU per delivery is not compared.
        self.assertIn(
            "| fanout | project | 5 | redis2/redis1 | 0.80 | 2.00 | 2.00 | n/a | n/a | n/a |", text
        )
        self.assertIn(
            "| 5 | redis1 | 1000.0 | 100.0% | 20.0 | 40.0 | 1.0 | 0.2 | Redis 0.1 | 0.05 |", text
        )

    def test_no_section_without_a_scaled_deployment(self):
        self.assertEqual(run.scale_out_markdown(self.report("embedded")), [])


if __name__ == "__main__":
    unittest.main()
