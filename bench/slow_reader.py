r"""Measure the server's memory while one socket asks for a lot and never reads.

One room of --messages messages of --length characters, on the project's server as
docs/operations.md runs it (bench/servers.py), or with daphne's own defaults
(--daphne-defaults: messages up to 1 MiB instead of the documented 64 KiB). One socket (a
raw TCP socket with a small receive buffer, chat/tests/stalled_client.py) sends --syncs
`{"type": "sync", "since": 0}` frames, at once or --rate a second, and never reads; a
second socket pings. Prints the server's VmRSS before the abuse, at its highest and at
the end, when (and whether) the server dropped the socket, and how long the other
socket's pong then took.

    .venv/bin/python bench/slow_reader.py --daphne-defaults --rate 4
    .venv/bin/python bench/slow_reader.py --daphne-defaults --rate 4 \
        --server-env CHAT_SOCKET_OUTPUT_MAX=1099511627776

A CHAT_SOCKET_OUTPUT_MAX far above what the abuse can make the server hold (1 TiB)
measures the server as it was without the bound.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from servers import PROJECT_DAPHNE, ProjectServer  # noqa: E402 (bench/ is the script's directory)
from websockets.sync.client import connect  # noqa: E402

from chat.tests.stalled_client import StalledSocket, rss_kib  # noqa: E402

ROOM = "slow-reader"
MIB = 1024


def fill(messages: int, length: int) -> None:
    """Fill the room in the server's database (run in a process of its own, with Django)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myproject.settings")
    import django

    django.setup()
    from django.contrib.auth.models import User

    from chat.models import Room
    from chat.tests.stalled_client import fill_room

    fill_room(
        Room.objects.get(slug=ROOM),
        User.objects.get(username="bench0"),
        count=messages,
        length=length,
    )


def ping(ws, token: str, within: float) -> float:
    """Send a ping; return the seconds until its pong (skipping other frames)."""
    started = time.monotonic()
    ws.send(json.dumps({"type": "ping", "t": token}))
    deadline = started + within
    while True:
        frame = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if frame.get("type") == "pong" and frame.get("t") == token:
            return time.monotonic() - started


def measure(server: ProjectServer, args) -> dict:
    good_cookie, stalled_cookie = server.cookies(2)
    with connect(
        f"ws://127.0.0.1:{server.port}/ws/rooms/{ROOM}/",
        origin=server.origin,
        additional_headers={"Cookie": good_cookie},
        open_timeout=10,
        max_size=2**24,
    ) as good:
        json.loads(good.recv(timeout=10))  # hello
        stalled = StalledSocket(port=server.port, slug=ROOM, cookie=stalled_cookie)
        ping(good, "warm", within=10)
        time.sleep(1)
        before = rss_kib(server.pid)
        started = time.monotonic()
        sent, peak, dropped_after = 0, before, None
        last_growth = started
        # Until the server drops the socket, or, without a drop, until every sync is sent
        # and the server's memory has stopped growing for --settle seconds.
        while time.monotonic() < started + args.wait:
            due = args.syncs if not args.rate else int((time.monotonic() - started) * args.rate)
            while dropped_after is None and sent < min(due + 1, args.syncs):
                if not stalled.send_json({"type": "sync", "since": 0}):
                    break
                sent += 1
            rss = rss_kib(server.pid)
            if rss > peak + MIB:
                last_growth = time.monotonic()
            peak = max(peak, rss)
            if dropped_after is None and stalled.closed_by_server():
                dropped_after = time.monotonic() - started
            quiet = time.monotonic() - last_growth > args.settle
            if quiet and (dropped_after is not None or sent == args.syncs):
                break
            time.sleep(0.05)
        pong_wait = ping(good, "after", within=30)
        after = rss_kib(server.pid)
        stalled.close()
    return {
        "server_env": args.server_env,
        "syncs_sent": sent,
        "rss_before_mib": round(before / MIB, 1),
        "rss_peak_mib": round(peak / MIB, 1),
        "rss_after_mib": round(after / MIB, 1),
        "growth_peak_mib": round((peak - before) / MIB, 1),
        "growth_after_mib": round((after - before) / MIB, 1),
        "dropped_after_s": None if dropped_after is None else round(dropped_after, 2),
        "pong_after_abuse_s": round(pong_wait, 3),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--length", type=int, default=4000)
    parser.add_argument("--syncs", type=int, default=300)
    parser.add_argument("--rate", type=float, default=0, help="syncs per second; 0: at once")
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="more environment for the server, e.g. CHAT_SOCKET_OUTPUT_MAX=1099511627776",
    )
    parser.add_argument("--port", type=int, default=8311)
    parser.add_argument("--wait", type=float, default=150, help="longest abuse, seconds")
    parser.add_argument("--settle", type=float, default=3, help="seconds without growth")
    parser.add_argument(
        "--daphne-defaults",
        action="store_true",
        help="without the flags of docs/operations.md (so messages up to daphne's 1 MiB)",
    )
    parser.add_argument("--fill", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fill:
        fill(args.messages, args.length)
        return

    server = ProjectServer(args.port)
    if args.daphne_defaults:
        server.command = [*PROJECT_DAPHNE, "-b", "127.0.0.1", "-p", str(server.port)]
        server.command.append("myproject.asgi:application")
    server.env.update(setting.split("=", 1) for setting in args.server_env)
    try:
        server.prepare(users=2, rooms=[ROOM])
        fill_command = [sys.executable, __file__, "--fill", f"--messages={args.messages}"]
        subprocess.run(
            [*fill_command, f"--length={args.length}"],
            cwd=ROOT,
            env=server.env,
            check=True,
            timeout=120,
        )
        server.start()
        result = measure(server, args)
    finally:
        server.log.flush()
        log = (server.tmp / "server.log").read_text(errors="replace")
        server.stop()
    print(json.dumps(result, indent=2))
    for line in log.splitlines():
        if "WARNING" in line or "ERROR" in line or "Traceback" in line:
            print(line)


if __name__ == "__main__":
    main()
