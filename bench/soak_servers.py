"""The server side of the soak (scenario_soak.py): the processes under test, their
database and layer, and what is sampled of them.

- `Deployment`: one project process on SQLite and the in-process layer, or several on
  PostgreSQL + Redis (a database of its own, `bench_soak`, made and dropped on the
  server that DATABASE_URL names; Redis database 11 of REDIS_URL, emptied before and
  after). Each process is one of bench/servers.py's, on its own port, in one of its
  `ServerGroup`s (with its `Services`).
- `fill`: each benchmark user made a member of their rooms (run in a process of its own
  with the server's environment: `python bench/soak_servers.py --fill <json>`).
- `Sampler`: per process, from /proc, VmRSS, open fds, threads and CPU; from its
  /metrics (loopback needs no token: OPS_METRICS_ALLOW), the database thread's queue
  and the sockets open.
"""

import contextlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import clients
import servers
import soak_load

SCALE_OUT_PORTS = (8341, 8342, 8343, 8344)
PG_DATABASE = "bench_soak"
REDIS_DB = 11
METRIC = re.compile(
    r'^(chat_database_thread_queue|chat_sockets_open)(?:\{protocol="(\d)"\})? (\S+)$'
)


# --- the servers ------------------------------------------------------------------------


class Deployment:
    """The server processes of one soak run: one on SQLite, or several on PG + Redis."""

    def __init__(self, name: str, args):
        self.scale_out = args.soak_scale_out
        extra = dict(item.split("=", 1) for item in args.soak_env)
        if self.scale_out:
            ports = SCALE_OUT_PORTS[: args.soak_processes]
            self.group = servers.ServerGroup(
                [servers.SERVERS[name](port) for port in ports],
                servers.Services(PG_DATABASE, REDIS_DB),
            )
        else:
            self.group = servers.ServerGroup([servers.make(name)])
        self.servers = self.group.servers
        for server in self.servers:
            server.env.update(extra)
            # /metrics to loopback without a token: the default, said outright.
            server.env["OPS_METRICS_ALLOW"] = "127.0.0.1,::1"
        self.labels = (
            [f"{name} #{i + 1}" for i in range(len(self.servers))] if self.scale_out else [name]
        )

    @staticmethod
    def missing(args) -> str | None:
        """Why this deployment cannot run here, or None."""
        if not args.soak_scale_out:
            return None
        return servers.Services.missing(REDIS_DB)

    def prepare(self, args) -> None:
        rooms = [f"soak-{i}" for i in range(args.soak_rooms)]
        self.group.prepare(users=args.soak_users, rooms=rooms)
        first = self.group.first
        shape = {"rooms": rooms, "users": args.soak_users, "memberships": args.soak_memberships}
        subprocess.run(
            [sys.executable, __file__, "--fill", json.dumps(shape)],
            cwd=servers.ROOT,
            env=first.env,
            check=True,
            timeout=600,
        )
        self.rooms = rooms
        self.cookies = self.group.cookies(args.soak_users)

    def start(self) -> None:
        self.group.start()

    def peer_names(self) -> dict[int, str]:
        """Port -> name of what the processes' TCP sockets may lead to."""
        names = {server.port: "clients" for server in self.servers}
        if self.group.services is not None:
            names.update(self.group.services.ports())
        return names

    def processes(self) -> list[tuple[str, int, int]]:
        return [(label, s.pid, s.port) for label, s in zip(self.labels, self.servers, strict=True)]

    def logs(self) -> dict:
        """Per process: records that show a failure, and the log's tail."""
        found = {}
        for label, server in zip(self.labels, self.servers, strict=True):
            with contextlib.suppress(OSError):
                text = (server.tmp / "server.log").read_text(errors="replace")
                found[label] = {
                    "tracebacks": text.count("Traceback"),
                    "exceptions_inside_application": text.count("Exception inside application"),
                    "tail": text[-2000:],
                }
        return found

    def stop(self) -> None:
        self.group.stop()

    def describe(self) -> dict:
        return {
            "mode": "scale-out" if self.scale_out else "embedded",
            "database": "PostgreSQL" if self.scale_out else "SQLite",
            "layer": "Redis" if self.scale_out else "in-process",
            "processes": [
                {"label": label, **server.describe()}
                for label, server in zip(self.labels, self.servers, strict=True)
            ],
        }


def fill(shape: dict) -> None:
    """Make each benchmark user a member of their rooms (soak_load.user_rooms)."""
    sys.path.insert(0, str(servers.ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myproject.settings")
    import django

    django.setup()
    from django.contrib.auth.models import User

    from chat.models import Membership, Room

    rooms = {room.slug: room for room in Room.objects.filter(slug__in=shape["rooms"])}
    ordered = [rooms[slug] for slug in shape["rooms"]]
    users = {u.username: u for u in User.objects.filter(username__startswith="bench")}
    Membership.objects.bulk_create(
        (
            Membership(room=ordered[r], user=users[f"bench{u}"])
            for u in range(shape["users"])
            for r in soak_load.user_rooms(u, len(ordered), shape["memberships"])
        ),
        batch_size=2000,
    )


async def warm_up(deployment) -> None:
    # The first sockets load code and fill caches every later one shares.
    for _label, _pid, port in deployment.processes():
        for kind in ("room", "tab"):
            with contextlib.suppress(Exception):
                ws, _hello = await clients.open_socket(
                    soak_load.target(port, kind), deployment.rooms[0], deployment.cookies[0]
                )
                await ws.close()


# --- sampling ---------------------------------------------------------------------------


def _tree_status(pid: int) -> dict:
    """VmRSS (KiB), open fds and threads of the process and its descendants."""
    rss = fds = threads = 0
    for p in clients.process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1])
                elif line.startswith("Threads:"):
                    threads += int(line.split()[1])
            fds += len(os.listdir(f"/proc/{p}/fd"))
    return {"rss_kib": rss, "fds": fds, "threads": threads}


def _tcp_peers(pid: int) -> dict[str, tuple[int, int, str]]:
    """Socket inode -> (local port, remote port, state) of the process's TCP sockets."""
    peers = {}
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
                peers[inode] = (
                    int(local.rsplit(":", 1)[1], 16),
                    int(remote.rsplit(":", 1)[1], 16),
                    state,
                )
    return peers


def fd_kinds(pid: int, names: dict[int, str]) -> dict[str, int]:
    """Count the open fds of the process and its descendants by what they are: TCP
    sockets by peer (`names`: port -> name, e.g. the database's), other sockets, pipes,
    event fds, files."""
    kinds: Counter = Counter()
    for p in clients.process_tree(pid):
        peers = _tcp_peers(p)
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{p}/fd"):
                with contextlib.suppress(OSError):
                    link = os.readlink(f"/proc/{p}/fd/{fd}")
                    kinds[_fd_kind(link, peers, names)] += 1
    return dict(kinds.most_common())


def _fd_kind(link: str, peers: dict, names: dict[int, str]) -> str:
    if link.startswith("socket:["):
        peer = peers.get(link[8:-1])
        if peer is None:
            return "socket (not TCP)"
        local, remote, state = peer
        if state == "0A":
            return "TCP listening"
        if remote in names:
            return f"TCP to {names[remote]}"
        if local in names:
            return f"TCP from {names[local]}"
        return "TCP, other"
    if link.startswith("anon_inode:"):
        return link
    if link.startswith("pipe:"):
        return "pipe"
    return "file"


def scrape(port: int) -> dict:
    """The database thread's queue and the sockets open, from the process's /metrics."""
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as answer:
        text = answer.read().decode()
    found = {"queue": None, "sockets_p1": None, "sockets_p2": None}
    for line in text.splitlines():
        match = METRIC.match(line)
        if match is None:
            continue
        value = int(float(match.group(3)))
        if match.group(1) == "chat_database_thread_queue":
            found["queue"] = value
        else:
            found[f"sockets_p{match.group(2)}"] = value
    return found


class Sampler:
    """Samples every process every `every` s when tick() is called often enough."""

    def __init__(self, processes, every: float, phases: dict, log, names: dict[int, str]):
        self.processes = processes
        self.names = names  # port -> what listens there, to say what the TCP fds are
        self.every = every
        self.phases = phases  # seconds since t0: warmup_end, load_end; closed once known
        self.log = log
        self.t0 = time.time()
        self.due = 0.0
        self.samples = {label: [] for label, _pid, _port in processes}
        self.cpu = {}
        self.scrape_failures: Counter = Counter()
        self.count = 0

    def phase(self, t: float) -> str:
        if t < 0:
            return "before"
        if t < self.phases["warmup_s"]:
            return "warm-up"
        if t < self.phases["load_s"]:
            return "load"
        closed = self.phases.get("closed_s")
        return "closing" if closed is None or t < closed else "quiet"

    def tick(self) -> None:
        if time.time() >= self.due:
            self.take()

    def take(self) -> None:
        now = time.time()
        t = round(now - self.t0, 1)
        for label, pid, port in self.processes:
            sample = {"t": t, "phase": self.phase(now - self.t0), **_tree_status(pid)}
            sample["fd_kinds"] = fd_kinds(pid, self.names)
            cpu = clients.cpu_s(pid)
            last = self.cpu.get(label)
            sample["cpu_s"] = round(cpu, 2)
            sample["cpu_pct"] = round(100 * (cpu - last[1]) / (now - last[0]), 1) if last else None
            self.cpu[label] = (now, cpu)
            try:
                sample.update(scrape(port))
            except Exception as exc:
                self.scrape_failures[f"{label}: {type(exc).__name__}"] += 1
                sample.update(queue=None, sockets_p1=None, sockets_p2=None)
            self.samples[label].append(sample)
        if self.count % max(1, round(60 / self.every)) == 0:
            self.log(f"  t {t:>7} s ({self.phase(now - self.t0)}): " + _sample_text(self.samples))
        self.count += 1
        self.due = max(self.due + self.every, now + self.every / 2)

    def start(self, t0: float) -> None:
        """Times are from t0 (the load's start); the first sample is due at once."""
        self.t0 = t0
        self.due = time.time()


def _sample_text(samples: dict) -> str:
    parts = []
    for label, rows in samples.items():
        s = rows[-1]
        sockets = (s["sockets_p1"] or 0) + (s["sockets_p2"] or 0)
        parts.append(
            f"{label} RSS {s['rss_kib'] / 1024:.1f} MiB, {s['fds']} fds, {s['threads']} threads, "
            f"CPU {s['cpu_pct']}%, queue {s['queue']}, sockets {sockets}"
        )
    return "; ".join(parts)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--fill":
        fill(json.loads(sys.argv[2]))
    else:
        sys.exit("run through bench/run.py --scenarios soak")
