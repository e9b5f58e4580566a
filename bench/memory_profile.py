"""Where the memory of an idle socket goes: the project's application served in-process,
measured with tracemalloc, the clients in a process of their own.

    .venv/bin/python bench/memory_profile.py --sockets 1000 --rooms 20
    .venv/bin/python bench/memory_profile.py --server daphne --kinds room --show 40

One fresh SQLite database in a temp dir (migrated; users, logged-in sessions and public
rooms from bench/project_setup.py; each user a member of --memberships of the rooms, so
that a tab socket follows them). Then, for each mode of --modes:

- `rss`: the server without tracemalloc, for VmRSS per socket (tracemalloc's own
  bookkeeping would inflate it);
- `trace`: the server with tracemalloc (--depth frames a trace), for the allocation sites.

Each mode starts the server afresh (`--server`: uvicorn on uvloop + httptools +
websockets-sansio, as bench/asgi_servers.py starts it; the same on wsproto; or daphne on
uvloop, as myproject.serve runs it), warms it up (a socket of each kind opened and
closed), then per kind of --kinds opens --sockets idle sockets (`room`: /ws/rooms/<slug>/,
protocol 1, socket k in room k % --rooms; `tab`: /ws/, protocol 2), each of its own user,
with the Origin header and the user's session cookie, waits for every `hello`, lets the
server settle, and compares a snapshot with the one before the kind opened. The sockets
stay open while the next kind opens; at the end all are closed and the server is
measured once more against the first snapshot (what an open and close leaves behind).

Printed per kind: KiB and allocations per socket, in total, by package, by file:line,
by the first frame outside the standard library (who asked for it: "owner"), and by
traceback; asyncio tasks per socket; VmRSS per socket. --json writes every table.
"""

import argparse
import asyncio
import contextlib
import gc
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import tracemalloc
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE_PACKAGES = "site-packages"
STDLIB = sysconfig.get_paths()["stdlib"]
KINDS = ("room", "tab")
# Not the application's: the profiler's own and the import machinery.
IGNORED_FILES = ("<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>")


def room_slug(i: int) -> str:
    return f"mem-{i}"


def server_env(tmp: Path) -> dict:
    """The environment of a production-like server on a database in `tmp` (no Redis)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_DEBUG", None)
    env.pop("REDIS_URL", None)
    env.update(
        DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
        DJANGO_SECRET_KEY="bench-only-secret-key-" + "x" * 40,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SETTINGS_MODULE="myproject.settings",
    )
    return env


# --- the database ----------------------------------------------------------------------


def prepare(tmp: Path, env: dict, users: int, rooms: int, memberships: int) -> list[str]:
    """Migrate, make users with sessions and rooms, memberships; return the session keys."""
    python = sys.executable
    subprocess.run(
        [python, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    out = tmp / "sessions.json"
    slugs = ",".join(room_slug(i) for i in range(rooms))
    subprocess.run(
        [
            python,
            str(ROOT / "bench" / "project_setup.py"),
            "--users",
            str(users),
            "--rooms",
            slugs,
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    subprocess.run(
        [python, __file__, "--fill-memberships", str(rooms), str(memberships)],
        cwd=ROOT,
        env=env,
        check=True,
    )
    return [user["session"] for user in json.loads(out.read_text())["users"]]


def fill_memberships(rooms: int, each: int) -> None:
    """Make bench user k a member of rooms k % rooms, k+1 % rooms, ... (`each` of them)."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth.models import User

    from chat.models import Membership, Room

    by_slug = {room.slug: room for room in Room.objects.filter(slug__startswith="mem-")}
    users = User.objects.filter(username__startswith="bench").order_by("id")
    rows = [
        Membership(room=by_slug[room_slug((k + step) % rooms)], user=user)
        for k, user in enumerate(users)
        for step in range(min(each, rooms))
    ]
    Membership.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)


# --- the server (a process of its own, the one measured) -------------------------------


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def category(filename: str) -> str:
    """A file's owner: the project's module dir, a site-packages package, or stdlib."""
    if SITE_PACKAGES in filename:
        return filename.split(SITE_PACKAGES + os.sep, 1)[1].split(os.sep, 1)[0]
    if filename.startswith(STDLIB):
        rest = filename[len(STDLIB) :].lstrip(os.sep)
        return "stdlib/" + rest.split(os.sep, 1)[0].removesuffix(".py")
    if filename.startswith(str(ROOT)):
        parts = Path(filename).relative_to(ROOT).parts
        return "/".join(parts[:2]) if len(parts) > 2 else "/".join(parts)
    return filename


def short(filename: str) -> str:
    if SITE_PACKAGES in filename:
        return filename.split(SITE_PACKAGES + os.sep, 1)[1]
    if filename.startswith(STDLIB):
        return filename[len(STDLIB) :].lstrip(os.sep)
    if filename.startswith(str(ROOT)):
        return str(Path(filename).relative_to(ROOT))
    return filename


def is_stdlib(filename: str) -> bool:
    """Whether a frame is the standard library's (or this script's: the loop's runner)."""
    if filename == __file__ or filename.startswith("<"):
        return True
    return filename.startswith(STDLIB) and SITE_PACKAGES not in filename


class Measurer:
    """Snapshots of the server's own memory, taken on its event loop between events."""

    def __init__(self, trace: bool, top: int):
        self.trace, self.top = trace, top
        self.marks: dict[str, tuple] = {}

    def state(self):
        gc.collect()
        snapshot = None
        if self.trace:
            snapshot = tracemalloc.take_snapshot().filter_traces(
                [
                    tracemalloc.Filter(False, tracemalloc.__file__),
                    *(tracemalloc.Filter(False, name) for name in IGNORED_FILES),
                ]
            )
        return snapshot, rss_kib(), len(asyncio.all_tasks())

    def mark(self, name: str) -> dict:
        self.marks[name] = self.state()
        _, rss, tasks = self.marks[name]
        return {"rss_kib": rss, "tasks": tasks}

    def measure(self, since: str, sockets: int) -> dict:
        """Compare now with the mark `since`, per socket (sockets: how many opened since)."""
        before, rss_before, tasks_before = self.marks[since]
        after, rss, tasks = self.state()
        per = max(1, sockets)
        result = {
            "sockets": sockets,
            "rss_kib": rss,
            "rss_kib_per_socket": round((rss - rss_before) / per, 2),
            "tasks": tasks,
            "tasks_per_socket": round((tasks - tasks_before) / per, 3),
        }
        if after is None:
            return result
        stats = after.compare_to(before, "traceback")
        total = sum(stat.size_diff for stat in stats)
        count = sum(stat.count_diff for stat in stats)
        result["traced_kib_per_socket"] = round(total / 1024 / per, 3)
        result["traced_allocations_per_socket"] = round(count / per, 2)
        by_package, by_line, by_owner = Counter(), Counter(), Counter()
        by_owner_package = Counter()
        counts = defaultdict(int)
        for stat in stats:
            frames = list(stat.traceback)  # oldest first, the allocation last
            site = frames[-1]
            by_package[category(site.filename)] += stat.size_diff
            line = f"{short(site.filename)}:{site.lineno}"
            by_line[line] += stat.size_diff
            counts[line] += stat.count_diff
            owner = next((f for f in reversed(frames) if not is_stdlib(f.filename)), site)
            key = f"{short(owner.filename)}:{owner.lineno}"
            by_owner[key] += stat.size_diff
            by_owner_package[category(owner.filename)] += stat.size_diff
            counts["owner " + key] += stat.count_diff

        def per_socket(counter, prefix=""):
            return [
                {
                    "where": where,
                    "kib": round(size / 1024 / per, 3),
                    "allocs": round(counts[prefix + where] / per, 2) if counts else None,
                }
                for where, size in counter.most_common(self.top)
            ]

        result["by_package"] = [
            {"where": where, "kib": round(size / 1024 / per, 3)}
            for where, size in by_package.most_common(self.top)
        ]
        result["by_owner_package"] = [
            {"where": where, "kib": round(size / 1024 / per, 3)}
            for where, size in by_owner_package.most_common(self.top)
        ]
        result["by_line"] = per_socket(by_line)
        result["by_owner"] = per_socket(by_owner, "owner ")
        result["by_traceback"] = [
            {
                "kib": round(stat.size_diff / 1024 / per, 3),
                "allocs": round(stat.count_diff / per, 2),
                "traceback": [f"{short(f.filename)}:{f.lineno}" for f in stat.traceback],
            }
            for stat in stats[: self.top]
        ]
        return result


def serve(conn, options: dict) -> None:
    """Serve the application on 127.0.0.1:port; answer the orchestrator's commands."""
    os.environ.update(options["env"])
    os.chdir(ROOT)
    # The server's log (a line per socket opened and closed) goes to a file, not the report.
    log = os.open(options["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    sys.path.insert(0, str(ROOT))
    from myproject.serve import use_uvloop

    use_uvloop()
    if options["server"] == "daphne":
        import daphne.server  # noqa: F401  installs Twisted's reactor, on uvloop's loop

        from chat.realtime.backpressure import install

        install()
    from myproject.asgi import application

    measurer = Measurer(options["trace"], options["top"])
    loop_ready = threading.Event()
    state = {}

    def control():
        loop_ready.wait()
        loop = state["loop"]
        while True:
            command, *args = conn.recv()
            if command == "start-trace":
                if options["trace"]:
                    tracemalloc.start(options["depth"])
                conn.send("ok")
                continue
            if command == "stop":
                loop.call_soon_threadsafe(state["stop"])
                return

            async def run(command=command, args=args):
                return getattr(measurer, command)(*args)

            conn.send(asyncio.run_coroutine_threadsafe(run(), loop).result())

    threading.Thread(target=control, daemon=True).start()
    port = options["port"]
    if options["server"] in ("uvicorn", "uvicorn-wsproto"):
        import uvicorn

        config = uvicorn.Config(
            application,
            host="127.0.0.1",
            port=port,
            loop="none",
            http="httptools",
            ws="wsproto" if options["server"] == "uvicorn-wsproto" else "websockets-sansio",
            ws_max_size=65536,
            ws_ping_interval=20,
            ws_ping_timeout=30,
            ws_per_message_deflate=options["deflate"],
            lifespan="off",
            access_log=False,
            log_level="warning",
        )
        server = uvicorn.Server(config)

        async def main():
            state["loop"] = asyncio.get_running_loop()
            state["stop"] = lambda: setattr(server, "should_exit", True)
            loop_ready.set()
            await server.serve()

        asyncio.run(main())
    else:
        from daphne.server import Server
        from twisted.internet import reactor

        server = Server(
            application,
            endpoints=[f"tcp:port={port}:interface=127.0.0.1"],
            signal_handlers=False,
            websocket_timeout=86400,
            websocket_connect_timeout=10,
            # Handshakes are slow under tracemalloc: daphne's 5 s would refuse some.
            websocket_handshake_timeout=120,
            ping_interval=20,
            ping_timeout=30,
            websocket_max_message_size=65536,
            websocket_max_frame_size=65536,
            application_close_timeout=10,
            verbosity=0,
        )
        state["loop"] = reactor._asyncioEventloop
        state["stop"] = reactor.stop
        loop_ready.set()
        server.run()


# --- the clients (a process of their own, not measured) --------------------------------


def clients(conn, options: dict) -> None:
    """Open and hold sockets as told: ("open", kind, first user, count), ("close",)."""
    asyncio.run(_clients(conn, options))


async def _clients(conn, options: dict) -> None:
    from websockets.asyncio.client import connect

    base = f"ws://127.0.0.1:{options['port']}"
    origin = f"http://127.0.0.1:{options['port']}"
    sessions, rooms = options["sessions"], options["rooms"]
    sockets, readers = [], set()
    loop = asyncio.get_running_loop()

    async def read(ws):
        with contextlib.suppress(Exception):
            async for _ in ws:
                pass

    async def open_one(kind: str, k: int, sem, failures: Counter):
        path = "/ws/" if kind == "tab" else f"/ws/rooms/{room_slug(k % rooms)}/"
        headers = {"Origin": origin, "Cookie": f"sessionid={sessions[k]}"}
        async with sem:
            for _attempt in range(3):
                try:
                    ws = await connect(
                        base + path,
                        additional_headers=headers,
                        compression="deflate" if options["deflate"] else None,
                        ping_interval=None,
                        max_size=2**22,
                        open_timeout=30,
                        proxy=None,
                    )
                    first = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    if first.get("type") != "hello":
                        raise RuntimeError(f"first frame {first.get('type')}")
                except Exception as error:
                    failures[type(error).__name__] += 1
                    await asyncio.sleep(0.5)
                    continue
                sockets.append(ws)
                reader = asyncio.create_task(read(ws))
                readers.add(reader)
                reader.add_done_callback(readers.discard)
                return

    while True:
        command, *args = await loop.run_in_executor(None, conn.recv)
        if command == "open":
            kind, first, count = args
            sem, failures = asyncio.Semaphore(options["concurrency"]), Counter()
            opened = len(sockets)
            await asyncio.gather(
                *(open_one(kind, k, sem, failures) for k in range(first, first + count))
            )
            conn.send({"opened": len(sockets) - opened, "failures": dict(failures)})
        elif command == "close":
            await _close_all(sockets)
            closed, sockets[:] = len(sockets), []
            conn.send({"closed": closed})
        elif command == "exit":
            return


async def _close_all(sockets) -> None:
    sem = asyncio.Semaphore(100)

    async def close(ws):
        async with sem:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 10)

    await asyncio.gather(*(close(ws) for ws in sockets))


# --- the orchestrator ----------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_mode(mode: str, args, env: dict, sessions: list[str], log) -> dict:
    ctx = multiprocessing.get_context("spawn")
    port = free_port()
    server_end, server_conn = ctx.Pipe()
    client_end, client_conn = ctx.Pipe()
    options = {
        "env": env,
        "server": args.server,
        "port": port,
        "trace": mode == "trace",
        "depth": args.depth,
        "top": args.top,
        "deflate": args.deflate,
        "log": str(args.tmp / f"server-{mode}.log"),
    }
    server = ctx.Process(target=serve, args=(server_conn, options), daemon=True)
    server.start()
    client_options = {
        "port": port,
        "sessions": sessions,
        "rooms": args.rooms,
        "concurrency": args.concurrency,
        "deflate": args.deflate,
    }
    client = ctx.Process(target=clients, args=(client_conn, client_options), daemon=True)
    client.start()
    result = {"mode": mode, "server": args.server, "kinds": {}}
    try:
        _wait_port(port, server)
        # Warm-up: code loaded, caches filled, the hub started once, by a socket of each kind.
        warm = args.sockets  # the one user beyond the measured sockets'
        for kind in args.kinds:
            client_end.send(("open", kind, warm, 1))
            client_end.recv()
        client_end.send(("close",))
        client_end.recv()
        time.sleep(args.settle)
        server_end.send(("start-trace",))
        server_end.recv()
        server_end.send(("mark", "start"))
        result["start"] = server_end.recv()
        log(f"[{mode}] {args.server}: start {result['start']}")
        previous = "start"
        for kind in args.kinds:
            began = time.monotonic()
            client_end.send(("open", kind, 0, args.sockets))
            opened = client_end.recv()
            log(
                f"[{mode}] {kind}: {opened['opened']}/{args.sockets} open in "
                f"{time.monotonic() - began:.1f} s, failed attempts {opened['failures']}"
            )
            time.sleep(args.settle)
            server_end.send(("measure", previous, opened["opened"]))
            measured = server_end.recv()
            measured["failures"] = opened["failures"]
            result["kinds"][kind] = measured
            server_end.send(("mark", kind))
            server_end.recv()
            previous = kind
            log(report_kind(kind, measured, args.show))
        client_end.send(("close",))
        closed = client_end.recv()["closed"]
        time.sleep(args.settle)
        server_end.send(("measure", "start", closed))
        result["after_close"] = server_end.recv()
        log(report_kind("after closing them all (per socket closed)", result["after_close"], 8))
    finally:
        with contextlib.suppress(Exception):
            client_end.send(("exit",))
        with contextlib.suppress(Exception):
            server_end.send(("stop",))
        client.join(10)
        server.join(15)
        for process in (client, server):
            if process.is_alive():
                process.kill()
    return result


def _wait_port(port: int, process, within: float = 60) -> None:
    import socket

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not process.is_alive():
            raise RuntimeError(f"server exited with {process.exitcode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.2)
    raise RuntimeError(f"server on {port} not ready within {within} s")


def report_kind(kind: str, m: dict, top: int) -> str:
    lines = [
        f"== {kind}: {m['sockets']} sockets; RSS {m['rss_kib_per_socket']} KiB/socket, "
        f"asyncio tasks {m['tasks_per_socket']}/socket"
    ]
    if "traced_kib_per_socket" not in m:
        return "\n".join(lines)
    lines[0] += (
        f"; traced {m['traced_kib_per_socket']} KiB/socket "
        f"in {m['traced_allocations_per_socket']} allocations"
    )
    for title, key in (
        ("by package (allocation site)", "by_package"),
        ("by package of the first frame outside the standard library", "by_owner_package"),
        ("by file:line (allocation site)", "by_line"),
        ("by first frame outside the standard library", "by_owner"),
    ):
        lines.append(f"  -- {title}: KiB/socket (allocations/socket)")
        for row in m[key][:top]:
            allocs = f" ({row['allocs']})" if row.get("allocs") is not None else ""
            lines.append(f"  {row['kib']:8.3f}{allocs:>10}  {row['where']}")
    lines.append("  -- by traceback (oldest frame first, the allocation last)")
    for row in m["by_traceback"][: min(top, 12)]:
        lines.append(f"  {row['kib']:8.3f} ({row['allocs']})")
        lines.extend(f"              {frame}" for frame in row["traceback"])
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--fill-memberships":
        fill_memberships(int(sys.argv[2]), int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=1000, help="sockets per kind")
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--memberships", type=int, default=3, help="rooms each user is in")
    parser.add_argument("--kinds", default="room,tab", help="room, tab or both, in that order")
    parser.add_argument(
        "--server", choices=("uvicorn", "uvicorn-wsproto", "daphne"), default="uvicorn"
    )
    parser.add_argument("--modes", default="rss,trace", help="rss, trace or both")
    parser.add_argument("--depth", type=int, default=8, help="frames per traceback")
    parser.add_argument("--top", type=int, default=200, help="rows per table in --json")
    parser.add_argument("--show", type=int, default=25, help="rows per table printed")
    parser.add_argument("--settle", type=float, default=2.0, help="s after the opens")
    parser.add_argument("--concurrency", type=int, default=50, help="opens in flight")
    parser.add_argument(
        "--deflate",
        action="store_true",
        help="clients offer permessage-deflate, as browsers do; uvicorn accepts it (its "
        "default), daphne never does (off: as bench/asgi_servers.py starts uvicorn)",
    )
    parser.add_argument("--json", help="write every figure here")
    args = parser.parse_args()
    args.kinds = [kind for kind in args.kinds.split(",") if kind]
    if set(args.kinds) - set(KINDS):
        parser.error(f"--kinds: {', '.join(KINDS)}")

    def log(text: str) -> None:
        print(text, flush=True)

    tmp = args.tmp = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    try:
        env = server_env(tmp)
        # One user per socket of a kind, plus the warm-up's.
        sessions = prepare(tmp, env, args.sockets + 1, args.rooms, args.memberships)
        results = [
            run_mode(mode, args, env, sessions, log) for mode in args.modes.split(",") if mode
        ]
    finally:
        if not os.environ.get("BENCH_KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        arguments = {**vars(args), "tmp": str(tmp)}
        Path(args.json).write_text(json.dumps({"args": arguments, "results": results}, indent=1))


if __name__ == "__main__":
    main()
