"""Scenario 6, "tabs": the tab socket (protocol 2, `/ws/`) against protocol 1's room socket.

The project only (the peers have no protocol 2), one server process as the other
scenarios run it. Before it starts, its database gets (Django's ORM, in a process of its
own with the server's environment, after bench/project_setup.py made users and sessions):

- a user in --tabs-rooms rooms (200), each of 30 messages, 10 of them unread, one in four
  rooms with an unread mention; 60 notifications (30 unread); 20 rooms with a level of
  their own. A second user with the same inbox, in one of those rooms (same state).
- a room of --tabs-members members (1,000), each also a member of 3 of 10 side rooms,
  and a member who sends.

1. Opening: one socket at a time, each closed before the next, the three kinds taking
   turns: a tab of the user in 200 rooms, a tab of the user in 1 room, and a protocol 1
   socket of the first user in one of the rooms. Per kind: time from the start of the
   handshake to the `hello` (and, in the JSON, from the upgrade's answer), its size, and
   the server's CPU per open and close (from /proc/<pid>/task/*/schedstat, in ns).
2. One message to the big room, all members online: a tab at `/ws/` per member, spread
   over --workers client processes, every socket read; a sender's tab (`view` +
   `message.send`) posts --tabs-messages messages at --tabs-rate a second. Per message:
   the time until the last of the tabs had its `message.new` (with `room` and
   `created_rev`, checked on every frame), and the time of every delivery. The same
   again with protocol 1 room sockets in the room, the reference. Those belong to one
   user per 25 sockets (under the cap of 30 per user): with a user per socket, each
   join would send the room's whole online list to every socket already in it (about
   half a million frames of up to 1,000 names), which this run cannot wait for. A
   message's fan-out does the same work per socket whoever its user is. The two kinds
   take turns, --tabs-rounds times, each opening its sockets afresh: the machine's
   speed drifts.
"""

import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import clients
import loadgen
import servers
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

NAME = "tabs"
SERVERS = tuple(servers.PROJECTS)
BIG = "tabs-big"
SIDE_ROOMS = 10
SIDE_ROOMS_EACH = 3
ROOM_MESSAGES = 30
ROOM_UNREAD = 10
NOTIFICATIONS = 60
CUSTOM_LEVELS = 20
BIG_MESSAGES = 50
# Users made by project_setup.py, by index: bench0 is in many rooms, bench1 in one,
# bench2 sends, the members of the big room follow.
HEAVY, LIGHT, SENDER, FIRST_MEMBER = 0, 1, 2, 3
P1_SOCKETS_PER_USER = 25
WARM_UP = 3
MARK = re.compile(r"~tabs~(\d+)~")
OPEN_KINDS = ("tab_many", "tab_one", "room_socket")


def add_arguments(parser) -> None:
    group = parser.add_argument_group("tabs (scenario 6)")
    group.add_argument(
        "--tabs-rooms", type=int, default=200, help="rooms of the user whose tab opens"
    )
    group.add_argument("--tabs-opens", type=int, default=None, help="opens per kind (50; short 20)")
    group.add_argument(
        "--tabs-members", type=int, default=None, help="members of the room (1,000; short 300)"
    )
    group.add_argument(
        "--tabs-messages", type=int, default=None, help="messages sent (20; short 8)"
    )
    group.add_argument("--tabs-rate", type=float, default=1.0, help="messages a second")
    group.add_argument(
        "--tabs-rounds", type=int, default=None, help="fan-out rounds of each kind (2; short 1)"
    )
    group.add_argument(
        "--tabs-idle-seconds", type=float, default=None, help="idle CPU before sending (5; short 3)"
    )


# Options left unset: (short run, full run).
DEFAULTS = {
    "tabs_members": (300, 1000),
    "tabs_opens": (20, 50),
    "tabs_messages": (8, 20),
    "tabs_rounds": (1, 2),
    "tabs_idle_seconds": (3.0, 5.0),
}


def _room_slug(i: int) -> str:
    return f"tabs-{i:03d}"


# --- filling the database (Django, in a process of its own) ---------------------------


def fill(shape: dict) -> None:
    """Write the rooms, messages, memberships and notifications of the scenario.

    `shape`: {"rooms": the heavy user's rooms (0: no inboxes), "members": of the big room}.
    """
    sys.path.insert(0, str(servers.ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myproject.settings")
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import transaction
    from django.utils import timezone

    names = {u.username: u for u in User.objects.filter(username__startswith="bench")}
    members = [names[f"bench{FIRST_MEMBER + i}"] for i in range(shape["members"])]
    authors = members[:10]
    now = timezone.now()
    with transaction.atomic():
        if shape["rooms"]:
            heavy, light = names[f"bench{HEAVY}"], names[f"bench{LIGHT}"]
            _fill_inboxes(heavy, light, shape["rooms"], authors, now)
        _fill_big_room(names[f"bench{SENDER}"], members, authors, now)


def _fill_inboxes(heavy, light, count: int, authors: list, now) -> None:
    """The heavy user's rooms, messages, levels and inbox; the light user's one room."""
    from datetime import timedelta

    from chat.models import Membership, Message, MessageMention, Room
    from notifications.models import Notification, RoomNotificationSetting

    rooms = Room.objects.bulk_create(
        Room(
            slug=_room_slug(i),
            name=f"Tabs {i:03d}",
            rev=ROOM_MESSAGES,
            last_activity_at=now - timedelta(minutes=i),
        )
        for i in range(count)
    )
    messages, mentioned = [], []
    for r, room in enumerate(rooms):
        for rev in range(1, ROOM_MESSAGES + 1):
            # The last message of one room in four mentions the user (both users in
            # the room they share): unread, so its id is in `unread_mentions`.
            mention = rev == ROOM_MESSAGES and r % 4 == 0
            who = [heavy, light] if mention and r == 0 else [heavy] if mention else []
            messages.append(
                Message(
                    room=room,
                    author=authors[(r + rev) % len(authors)],
                    body=f"message {rev} of {room.name}, of an ordinary length for a chat",
                    rev=rev,
                    created_rev=rev,
                    mention_ids=",".join(str(u.pk) for u in who),
                )
            )
            mentioned.append(who)
    messages = Message.objects.bulk_create(messages, batch_size=2000)
    MessageMention.objects.bulk_create(
        MessageMention(message=message, user=user)
        for message, who in zip(messages, mentioned, strict=True)
        for user in who
    )
    read_up_to = ROOM_MESSAGES - ROOM_UNREAD
    rows = [Membership(room=room, user=heavy, last_read_rev=read_up_to) for room in rooms]
    rows.append(Membership(room=rooms[0], user=light, last_read_rev=read_up_to))
    Membership.objects.bulk_create(rows, batch_size=2000)
    RoomNotificationSetting.objects.bulk_create(
        [
            RoomNotificationSetting(user=heavy, room=room, level="all")
            for room in rooms[:CUSTOM_LEVELS]
        ]
        + [RoomNotificationSetting(user=light, room=rooms[0], level="all")]
    )
    # The same inbox for both users: mentions of the last message of rooms 0..59.
    last_of_room = [m for m in messages if m.rev == ROOM_MESSAGES]
    Notification.objects.bulk_create(
        Notification(
            user=user,
            kind="mention",
            actor=message.author,
            room=message.room,
            message=message,
            reason=f"{message.author.username} mentioned you in {message.room.name}",
            read_at=now if i % 2 else None,
        )
        for user in (heavy, light)
        for i, message in enumerate(last_of_room[:NOTIFICATIONS])
    )


def _fill_big_room(sender, members: list, authors: list, now) -> None:
    """The big room's history, all read by its members; each member in 3 side rooms."""
    from chat.models import Membership, Message, Room

    sides = Room.objects.bulk_create(
        Room(slug=f"tabs-side-{i}", name=f"Tabs side {i}", rev=20, last_activity_at=now)
        for i in range(SIDE_ROOMS)
    )
    big = Room.objects.get(slug=BIG)
    Room.objects.filter(pk=big.pk).update(rev=BIG_MESSAGES, last_activity_at=now)
    Message.objects.bulk_create(
        (
            Message(
                room=room,
                author=authors[rev % len(authors)],
                body=f"message {rev} of {room.name}",
                rev=rev,
                created_rev=rev,
            )
            for room, count in [(big, BIG_MESSAGES)] + [(side, 20) for side in sides]
            for rev in range(1, count + 1)
        ),
        batch_size=2000,
    )
    rows = [
        Membership(room=big, user=user, last_read_rev=BIG_MESSAGES) for user in [sender, *members]
    ]
    rows += [
        Membership(room=sides[(i + step) % SIDE_ROOMS], user=user, last_read_rev=15)
        for i, user in enumerate(members)
        for step in (0, 3, 7)[:SIDE_ROOMS_EACH]
    ]
    Membership.objects.bulk_create(rows, batch_size=2000)


def fill_database(server, shape: dict) -> None:
    """Run fill(shape) in a process of its own, with the server's environment."""
    subprocess.run(
        [sys.executable, __file__, "--fill", json.dumps(shape)],
        cwd=servers.ROOT,
        env=server.env,
        check=True,
        timeout=300,
    )


# --- 1. opening ------------------------------------------------------------------------


def server_cpu_ns(pid: int) -> int:
    """CPU time of every thread of the process, ns (/proc/<pid>/task/*/schedstat)."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int(stat.read_text().split()[0])
    return total


async def _open_once(url: str, origin: str, cookie: str, pid: int) -> dict:
    """Open a socket, read its `hello` (and the `rooms` frames that complete it), close
    it; return the times, the hello with all its rooms, its bytes, the CPU.

    A socket closed before its `hello` returns {"failed": why} (a hello larger than
    daphne's --websocket-max-message-size is never sent: the server drops the socket).
    """
    cpu_before = server_cpu_ns(pid)
    began = time.perf_counter()
    try:
        ws = await connect(
            url,
            origin=origin,
            additional_headers={"Cookie": cookie},
            compression=None,
            ping_interval=None,
            max_size=2**24,
            open_timeout=30,
            proxy=None,
        )
        upgraded = time.perf_counter()
        raw = await asyncio.wait_for(ws.recv(), 30)
        hello = json.loads(raw)
        size = len(raw.encode())
        # Rooms past one frame follow the hello in `rooms` frames: the tab is open once
        # the last of them is in.
        if hello.get("rooms_complete") is False:
            while True:
                more = await asyncio.wait_for(ws.recv(), 30)
                size += len(more.encode())
                frame = json.loads(more)
                hello["rooms"] += frame.get("rooms", [])
                if frame.get("type") != "rooms" or frame.get("complete"):
                    break
    except ConnectionClosed as error:
        await asyncio.sleep(0.02)
        return {"failed": f"closed with {error.rcvd.code if error.rcvd else 'no code'}"}
    except Exception as error:
        await asyncio.sleep(0.02)
        return {"failed": clients.failure_reason(error)}
    done = time.perf_counter()
    await ws.close()
    # The server's side of the close (leaving topics and presence) belongs to this open.
    await asyncio.sleep(0.02)
    if hello.get("type") != "hello":
        return {"failed": f"first frame {hello.get('type')}"}
    return {
        "total": done - began,
        "after_upgrade": done - upgraded,
        "bytes": size,
        "hello": hello,
        "cpu_ns": server_cpu_ns(pid) - cpu_before,
    }


def _hello_check(hello: dict) -> dict:
    """What a hello holds: the counts the tab starts from."""
    rooms = hello.get("rooms", [])
    return {
        "protocol": hello.get("protocol"),
        "rooms": len(rooms) if "rooms" in hello else None,
        "notifications": len(hello["inbox"]["notifications"]) if "inbox" in hello else None,
        "unread_notifications": hello.get("inbox", {}).get("unread"),
        "unread_messages": sum(r["unread"] for r in rooms),
        "unread_mentions": sum(len(r["unread_mentions"]) for r in rooms),
    }


async def _time_opens(server, cookies: list, opens: int) -> dict:
    base = f"ws://127.0.0.1:{server.port}"
    kinds = {
        "tab_many": (f"{base}/ws/", cookies[HEAVY]),
        "tab_one": (f"{base}/ws/", cookies[LIGHT]),
        "room_socket": (f"{base}/ws/rooms/{_room_slug(0)}/", cookies[HEAVY]),
    }
    seen = {kind: {"total": [], "after_upgrade": [], "bytes": [], "cpu_ns": []} for kind in kinds}
    checks = dict.fromkeys(kinds)
    failed = {kind: Counter() for kind in kinds}
    for i in range(WARM_UP + opens):
        for kind, (url, cookie) in kinds.items():
            one = await _open_once(url, server.origin, cookie, server.pid)
            if "failed" in one:
                failed[kind][one["failed"]] += 1
                continue
            checks[kind] = _hello_check(one["hello"])
            if i >= WARM_UP:
                for key in seen[kind]:
                    seen[kind][key].append(one[key])
    result = {}
    for kind, values in seen.items():
        cpu_ms = sorted(ns / 1e6 for ns in values["cpu_ns"])
        result[kind] = {
            "opens": len(cpu_ms),
            "failed": dict(failed[kind]),
            "handshake_to_hello": clients.ms_summary(values["total"]),
            "upgrade_to_hello": clients.ms_summary(values["after_upgrade"]),
            "hello_bytes": max(values["bytes"], default=None),
            "server_cpu_ms_p50": round(loadgen.percentile(cpu_ms, 50), 2) if cpu_ms else None,
            "server_cpu_ms_mean": round(sum(cpu_ms) / len(cpu_ms), 2) if cpu_ms else None,
            "hello": checks[kind],
        }
    return result


# --- 2. one message, every member online -----------------------------------------------


class _Receiver:
    """What one client process's sockets received of the measured messages."""

    def __init__(self, tab: bool):
        self.tab = tab
        self.got: list[dict[int, float]] = []
        self.received = 0
        self.arrived = asyncio.Event()
        self.kinds: Counter = Counter()
        self.closes: Counter = Counter()
        self.bad = 0  # message.new of the room without `room` or `created_rev`
        self.duplicates = 0
        self.frame_bytes = 0

    def socket(self):
        """Return the frame handler of one more socket."""
        got: dict[int, float] = {}
        self.got.append(got)

        def on_frame(raw: str) -> None:
            at = time.time()
            frame = json.loads(raw)
            if frame.get("type") != "message.new":
                return
            message = frame.get("message") or {}
            match = MARK.search(message.get("body") or "")
            if match is None:
                return
            room = frame.get("room") if self.tab else message.get("room")
            if room != BIG or not isinstance(message.get("created_rev"), int):
                self.bad += 1
                return
            seq = int(match.group(1))
            if seq in got:
                self.duplicates += 1
                return
            got[seq] = at
            self.received += 1
            self.frame_bytes = len(raw.encode())
            self.arrived.set()

        return on_frame

    async def wait(self, messages: int, deadline: float) -> None:
        """Wait until every socket has every message, or until the deadline (time.time())."""
        while self.received < messages * len(self.got):
            self.arrived.clear()
            remaining = deadline - time.time()
            if remaining <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), remaining)

    def report(self, seqs) -> dict:
        return {
            "arrivals": {seq: [got[seq] for got in self.got if seq in got] for seq in seqs},
            "sockets": len(self.got),
            "bad": self.bad,
            "duplicates": self.duplicates,
            "frame_bytes": self.frame_bytes,
        }


class _Members:
    """One client process's sockets of the room: opened, read, reported, closed."""

    def __init__(self, origin: str, concurrency: int):
        self.origin = origin
        self.concurrency = concurrency
        self.socks, self.tasks = [], set()
        self.receiver = _Receiver(tab=True)

    async def open(self, url: str, tab: bool, assigned: list) -> tuple:
        """Open a socket per (cookie, username); return (opened, failures, wrong users)."""
        self.receiver = _Receiver(tab)
        target = clients.Target("project", url, self.origin, [None])
        failures: Counter = Counter()
        sem = asyncio.Semaphore(self.concurrency)
        wrong_user = 0

        async def one(cookie, username):
            nonlocal wrong_user
            async with sem:
                opened = await clients.open_retrying(target, BIG, cookie, failures)
            if opened is None:
                return
            ws, hello = opened
            wrong_user += hello["me"]["username"] != username
            self.socks.append(ws)
            handler = self.receiver.socket()
            drain = clients.drain(ws, self.receiver.kinds, self.receiver.closes, handler)
            self.tasks.add(asyncio.create_task(drain))

        await asyncio.gather(*(one(cookie, name) for cookie, name in assigned))
        return len(self.socks), dict(failures), wrong_user

    async def collect(self, seqs: list[int], deadline: float) -> dict:
        await self.receiver.wait(len(seqs), deadline)
        return self.receiver.report(seqs)

    async def close(self) -> tuple:
        await clients.close_all(self.socks)
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=10)
        self.socks, self.tasks = [], set()
        return dict(self.receiver.kinds), dict(self.receiver.closes)


async def _members_worker(wid: int, link, origin: str, concurrency: int):
    """Do what the parent says: open, collect, close; until it says exit."""
    members = _Members(origin, concurrency)
    while True:
        command, *arguments = await link.get()
        if command == "exit":
            link.put("done")
            return
        link.put(await getattr(members, command)(*arguments))


async def open_viewing_tab(server, cookie: str, room: str) -> tuple:
    """Open a tab socket and put `room` in view; return (socket, hello)."""
    target = clients.Target("project", f"ws://127.0.0.1:{server.port}/ws/", server.origin, [cookie])
    ws, hello = await clients.open_socket(target, room, cookie)
    await ws.send(json.dumps({"type": "view", "room": room}))
    while json.loads(await asyncio.wait_for(ws.recv(), 30)).get("type") != "view":
        pass
    return ws, hello


async def _send(server, cookie, tab: bool, number: int, count: int, rate: float, marks) -> dict:
    """Post `count` messages at `rate` a second from one socket; return when each was sent."""
    if tab:
        ws, _hello = await open_viewing_tab(server, cookie, BIG)
    else:
        url = f"ws://127.0.0.1:{server.port}/ws/rooms/{BIG}/"
        target = clients.Target("project", url, server.origin, [cookie])
        ws, _hello = await clients.open_socket(target, BIG, cookie)
    # A client_id of each round and kind: a repeated one would store and broadcast nothing.
    prefix = f"{'tab' if tab else 'room'}{number}-"
    acks: dict[int, float] = {}
    all_acked = asyncio.Event()
    errors: Counter = Counter()

    async def read():
        with contextlib.suppress(Exception):
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("type") == "error":
                    errors[frame.get("code")] += 1
                elif frame.get("type") == "message.new":
                    client_id = frame["message"].get("client_id") or ""
                    if client_id.startswith(prefix):
                        acks[int(client_id[len(prefix) :])] = time.time()
                        if len(acks) == count:
                            all_acked.set()

    reader = asyncio.create_task(read())
    sent: dict[int, float] = {}
    await asyncio.sleep(0.5)
    marks["cpu_before"] = server_cpu_ns(server.pid)
    marks["began"] = time.time()
    for i in range(count):
        delay = marks["began"] + i / rate - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = {
            "type": "message.send",
            "client_id": f"{prefix}{i}",
            "body": f"~tabs~{i}~ one message to a room of many members, all of them online",
        }
        if tab:
            frame["room"] = BIG
        sent[i] = time.time()
        await ws.send(json.dumps(frame))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(all_acked.wait(), 10)
    await ws.close()
    reader.cancel()
    return {"sent": sent, "acks": acks, "errors": dict(errors)}


def _fan_out(server, workers, args, cookies, *, tab: bool, number: int, log) -> tuple[dict, dict]:
    """Open a socket per member (tab) or the protocol 1 sockets, send, collect, close.

    Return the round's figures and its samples (seconds), which pool() sums over rounds.
    """
    members = args.tabs_members
    if tab:
        url = f"ws://127.0.0.1:{server.port}/ws/"
        owners = [FIRST_MEMBER + k for k in range(members)]
    else:
        url = f"ws://127.0.0.1:{server.port}/ws/rooms/{BIG}/"
        users = -(-members // P1_SOCKETS_PER_USER)
        owners = [FIRST_MEMBER + k % users for k in range(members)]
    label = "tabs" if tab else "room sockets"
    per_worker = [
        [(cookies[u], f"bench{u}") for u in owners[w :: args.workers]] for w in range(args.workers)
    ]
    cpu_before = clients.cpu_s(server.pid)
    began = time.monotonic()
    for w, pipe in enumerate(workers.pipes):
        pipe.send(("open", url, tab, per_worker[w]))
    answers = workers.recv(600)
    open_seconds = time.monotonic() - began
    opened = sum(a[0] for a in answers)
    failures = Counter()
    for a in answers:
        failures.update(a[1])
    quiet = clients.wait_quiet(server.pid)
    open_cpu = clients.cpu_s(server.pid) - cpu_before
    log(
        f"  {opened}/{members} {label} open in {open_seconds:.1f} s, server CPU {open_cpu:.2f} s "
        f"(quiet after {quiet} s), failed attempts {dict(failures)}"
    )
    idle_a = server_cpu_ns(server.pid)
    time.sleep(args.tabs_idle_seconds)
    idle_cpu_per_s = (server_cpu_ns(server.pid) - idle_a) / 1e9 / args.tabs_idle_seconds
    marks: dict = {}
    sending = loadgen.run_async(
        _send(server, cookies[SENDER], tab, number, args.tabs_messages, args.tabs_rate, marks)
    )
    sent = sending["sent"]
    seqs = sorted(sent)
    reports = workers.ask(("collect", seqs, time.time() + 10), 60)
    window = time.time() - marks["began"]
    cpu = (server_cpu_ns(server.pid) - marks["cpu_before"]) / 1e9
    closing = workers.ask(("close",), 120)
    kinds, closes = Counter(), Counter()
    for k, c in closing:
        kinds.update(k)
        closes.update(c)
    samples = {"last": [], "every": [], "ack": [], "messages": len(seqs), "delivered": 0}
    samples["ack"] = [sending["acks"][seq] - sent[seq] for seq in seqs if seq in sending["acks"]]
    delivered_to_all = 0
    for seq in seqs:
        arrivals = [at for r in reports for at in r["arrivals"][seq]]
        samples["delivered"] += len(arrivals)
        delivered_to_all += len(arrivals) == opened
        samples["every"].extend(at - sent[seq] for at in arrivals)
        if arrivals:
            samples["last"].append(max(arrivals) - sent[seq])
    samples["expected"] = len(seqs) * opened
    samples["cpu"] = cpu
    samples["net_cpu"] = cpu - idle_cpu_per_s * window
    result = {
        "sockets_wanted": members,
        "sockets": opened,
        "users": len(set(owners)),
        "failed_attempts": dict(failures),
        "wrong_user": sum(a[2] for a in answers),
        "open_seconds": round(open_seconds, 2),
        "open_server_cpu_s": round(open_cpu, 2),
        "messages_acknowledged": len(sending["acks"]),
        "sender_errors": sending["errors"],
        "messages_delivered_to_all": delivered_to_all,
        "bad_frames": sum(r["bad"] for r in reports),
        "duplicates": sum(r["duplicates"] for r in reports),
        "frame_bytes": max(r["frame_bytes"] for r in reports),
        "window_s": round(window, 2),
        "idle_cpu_s_per_s": round(idle_cpu_per_s, 4),
        "frames_by_type": dict(kinds),
        "closes_seen": dict(closes),
        **pool([samples]),
    }
    log(
        f"  {len(seqs)} messages ({len(sending['acks'])} acknowledged, ack p50 "
        f"{result['ack']['p50_ms']} ms, errors {sending['errors']}): "
        f"{samples['delivered']}/{samples['expected']} delivered, bad {result['bad_frames']}; "
        f"last delivery p50 {result['last_delivery']['p50_ms']} "
        f"p99 {result['last_delivery']['p99_ms']} ms, every delivery p50 "
        f"{result['every_delivery']['p50_ms']} p99 {result['every_delivery']['p99_ms']} ms; "
        f"server CPU {cpu:.2f} s over {window:.1f} s (idle {idle_cpu_per_s:.3f} s/s); "
        f"frames {dict(kinds)}"
    )
    clients.wait_quiet(server.pid)
    return result, samples


def pool(rounds: list[dict]) -> dict:
    """Sum the samples of one or more rounds into the figures of the tables."""
    messages = sum(r["messages"] for r in rounds)
    expected = sum(r["expected"] for r in rounds)
    delivered = sum(r["delivered"] for r in rounds)
    cpu = sum(r["cpu"] for r in rounds)
    net = sum(r["net_cpu"] for r in rounds)
    return {
        "messages_sent": messages,
        "expected_deliveries": expected,
        "deliveries": delivered,
        "delivered_ratio": round(delivered / expected, 4) if expected else None,
        "ack": clients.ms_summary([x for r in rounds for x in r["ack"]]),
        "last_delivery": clients.ms_summary([x for r in rounds for x in r["last"]]),
        "every_delivery": clients.ms_summary([x for r in rounds for x in r["every"]]),
        "server_cpu_s": round(cpu, 3),
        "server_cpu_ms_per_message": round(1000 * cpu / messages, 1) if messages else None,
        "server_cpu_ms_per_message_net": round(1000 * net / messages, 1) if messages else None,
    }


# --- the scenario ----------------------------------------------------------------------


def run(server_name: str, args, log) -> dict:
    users = FIRST_MEMBER + args.tabs_members
    server = servers.make(server_name)
    log(
        f"[tabs] {server_name}: preparing (a user in {args.tabs_rooms} rooms; "
        f"a room of {args.tabs_members} members)"
    )
    try:
        server.prepare(users=users, rooms=[BIG])
        began = time.monotonic()
        fill_database(server, {"rooms": args.tabs_rooms, "members": args.tabs_members})
        log(f"  database filled in {time.monotonic() - began:.1f} s")
        server.start()
        cookies = server.cookies(users)
        opening = loadgen.run_async(_time_opens(server, cookies, args.tabs_opens))
        for kind, r in opening.items():
            log(
                f"  open {kind}: handshake to hello p50 {r['handshake_to_hello']['p50_ms']} "
                f"p99 {r['handshake_to_hello']['p99_ms']} ms, hello {r['hello_bytes']} bytes, "
                f"server CPU p50 {r['server_cpu_ms_p50']} ms; {r['hello']}"
            )
        clients.wait_quiet(server.pid)
        rounds, samples = [], {"tabs": [], "room_sockets": []}
        with clients.Workers(
            args.workers, _members_worker, server.origin, args.open_concurrency
        ) as workers:
            # The two kinds take turns, round after round: the machine's speed drifts.
            for number in range(args.tabs_rounds):
                log(f"  round {number + 1} of {args.tabs_rounds}")
                rounds.append({})
                for key in samples:
                    result, taken = _fan_out(
                        server, workers, args, cookies, tab=key == "tabs", number=number, log=log
                    )
                    rounds[-1][key] = result
                    samples[key].append(taken)
            workers.ask(("exit",), 30)
        log_tail = (server.tmp / "server.log").read_text(errors="replace")[-2000:]
        return {
            "opening": opening,
            "fan_out": {"rounds": rounds, "pooled": {k: pool(v) for k, v in samples.items()}},
            "server": server.describe(),
            "server_log_tail": log_tail,
        }
    finally:
        server.stop()


# --- the report ------------------------------------------------------------------------

_OPEN_LABELS = {
    "tab_many": "tab `/ws/`, user in {rooms} rooms",
    "tab_one": "tab `/ws/`, same inbox, 1 room",
    "room_socket": "room socket `/ws/rooms/<slug>/` (protocol 1), user in {rooms} rooms",
}


def markdown(report: dict) -> list[str]:
    res = report["results"][NAME]
    lines = []
    for name in clients.project_names(res):
        lines += _markdown_one(name, res[name], report["args"])
    return lines


def _markdown_one(name: str, r: dict, a: dict) -> list[str]:
    opening, fan = r["opening"], r["fan_out"]
    server = "" if name == "project" else f" ({name})"
    lines = [
        f"### One socket per tab{server}: opening for a user in {a['tabs_rooms']} rooms; one "
        f"message to a room of {a['tabs_members']:,} members online",
        "",
        f"Opening: {a['tabs_opens']} opens of each kind, one at a time, the kinds taking turns, "
        f"each socket closed before the next ({WARM_UP} of each first, not counted). Each "
        f"room has {ROOM_MESSAGES} messages, {ROOM_UNREAD} unread, one in four an unread "
        f"mention; {min(NOTIFICATIONS, a['tabs_rooms'])} notifications, half unread. Server "
        "CPU: the server process's threads, from just before the handshake to 20 ms after "
        "the close.",
        "",
        "| socket | rooms in hello | hello bytes | handshake to hello p50 ms | p99 ms "
        "| max ms | server CPU ms per open + close, p50 | mean |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in OPEN_KINDS:
        o = opening[kind]
        rooms = (o["hello"] or {}).get("rooms")
        lines.append(
            f"| {_OPEN_LABELS[kind].format(rooms=a['tabs_rooms'])} | "
            f"{'-' if rooms is None else rooms} | {_thousands(o['hello_bytes'])} | "
            f"{o['handshake_to_hello']['p50_ms']} | {o['handshake_to_hello']['p99_ms']} | "
            f"{o['handshake_to_hello']['max_ms']} | {o['server_cpu_ms_p50']} | "
            f"{o['server_cpu_ms_mean']} |"
        )
    many, one, p1 = (opening[k] for k in OPEN_KINDS)
    ratio = clients.ratio
    for kind in OPEN_KINDS:
        if opening[kind]["failed"]:
            lines += [
                "",
                f"- {_OPEN_LABELS[kind].format(rooms=a['tabs_rooms'])}: no hello "
                f"({clients.counts_text(opening[kind]['failed'])})",
            ]
    lines += [
        "",
        f"- tab in {a['tabs_rooms']} rooms / tab in 1 room: handshake to hello p50 "
        f"{ratio(many['handshake_to_hello']['p50_ms'], one['handshake_to_hello']['p50_ms'])}, "
        f"p99 {ratio(many['handshake_to_hello']['p99_ms'], one['handshake_to_hello']['p99_ms'])}"
        f", server CPU {ratio(many['server_cpu_ms_p50'], one['server_cpu_ms_p50'])}, "
        f"hello bytes {ratio(many['hello_bytes'], one['hello_bytes'])}",
        f"- tab in {a['tabs_rooms']} rooms / protocol 1 room socket: handshake to hello p50 "
        f"{ratio(many['handshake_to_hello']['p50_ms'], p1['handshake_to_hello']['p50_ms'])}, "
        f"p99 {ratio(many['handshake_to_hello']['p99_ms'], p1['handshake_to_hello']['p99_ms'])}"
        f", server CPU {ratio(many['server_cpu_ms_p50'], p1['server_cpu_ms_p50'])}, "
        f"hello bytes {ratio(many['hello_bytes'], p1['hello_bytes'])}",
        f"- tab in 1 room / protocol 1 room socket: handshake to hello p50 "
        f"{ratio(one['handshake_to_hello']['p50_ms'], p1['handshake_to_hello']['p50_ms'])}, "
        f"server CPU {ratio(one['server_cpu_ms_p50'], p1['server_cpu_ms_p50'])}",
        "",
        f"Fan-out: {a['tabs_rounds']} round(s), each opening the sockets of one kind, then "
        f"{a['tabs_messages']} messages at {a['tabs_rate']:g} a second from one more member's "
        "socket (tab: `view` + `message.send`), then closing them; the kinds take turns. "
        f"Sockets spread over {a['workers']} client processes, every one read. Ack: the "
        "sender's own `message.new`. Last delivery: per message, until the last socket had its "
        "`message.new` (each checked for `room` and `created_rev`); p99 of "
        f"{a['tabs_messages'] * a['tabs_rounds']} messages is the highest. Server CPU: from "
        "the first send until every delivery was in; net: minus the same sockets' idle CPU "
        f"over as long (measured for {a['tabs_idle_seconds']:g} s before).",
        "",
        "| round | sockets | users | open s | server CPU s to open | delivered "
        "| frame bytes | ack p50 ms | last delivery p50 ms | p99 ms | every delivery p50 ms "
        "| p99 ms | server CPU ms / message | net |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    labels = {"tabs": "tabs `/ws/`", "room_sockets": "room sockets (protocol 1)"}
    rows = [
        (str(n + 1), key, f)
        for n, by_kind in enumerate(fan["rounds"])
        for key, f in by_kind.items()
    ]
    rows += [("all", key, f) for key, f in fan["pooled"].items()]
    for number, key, f in rows:
        first = fan["rounds"][0][key]
        opening_cells = f"{first['sockets']:,} {labels[key]} | {first['users']:,} | " + (
            f"{f['open_seconds']} | {f['open_server_cpu_s']}" if number != "all" else " | "
        )
        lines.append(
            f"| {number} | {opening_cells} | "
            f"{f['deliveries']:,}/{f['expected_deliveries']:,} "
            f"({100 * (f['delivered_ratio'] or 0):.1f}%) | {first['frame_bytes']} | "
            f"{f['ack']['p50_ms']} | {f['last_delivery']['p50_ms']} | "
            f"{f['last_delivery']['p99_ms']} | {f['every_delivery']['p50_ms']} | "
            f"{f['every_delivery']['p99_ms']} | {f['server_cpu_ms_per_message']} | "
            f"{f['server_cpu_ms_per_message_net']} |"
        )
    t, p = fan["pooled"]["tabs"], fan["pooled"]["room_sockets"]
    open_cpu = {
        key: sum(by_kind[key]["open_server_cpu_s"] for by_kind in fan["rounds"])
        for key in ("tabs", "room_sockets")
    }
    lines += [
        "",
        "- protocol 2 / protocol 1, all rounds: last delivery p50 "
        f"{ratio(t['last_delivery']['p50_ms'], p['last_delivery']['p50_ms'])}, p99 "
        f"{ratio(t['last_delivery']['p99_ms'], p['last_delivery']['p99_ms'])}; every "
        f"delivery p50 {ratio(t['every_delivery']['p50_ms'], p['every_delivery']['p50_ms'])}"
        f", p99 {ratio(t['every_delivery']['p99_ms'], p['every_delivery']['p99_ms'])}; "
        f"ack p50 {ratio(t['ack']['p50_ms'], p['ack']['p50_ms'])}; server CPU per message "
        f"{ratio(t['server_cpu_ms_per_message'], p['server_cpu_ms_per_message'])} "
        f"(net {ratio(t['server_cpu_ms_per_message_net'], p['server_cpu_ms_per_message_net'])}"
        f"); server CPU to open the sockets {ratio(open_cpu['tabs'], open_cpu['room_sockets'])}",
    ]
    for key, label in labels.items():
        kinds, failures, errors = Counter(), Counter(), Counter()
        bad = duplicates = wrong_user = 0
        for by_kind in fan["rounds"]:
            f = by_kind[key]
            kinds.update(f["frames_by_type"])
            failures.update(f["failed_attempts"])
            errors.update(f["sender_errors"])
            bad += f["bad_frames"]
            duplicates += f["duplicates"]
            wrong_user += f["wrong_user"]
        lines.append(
            f"- {label}, all rounds: frames received by type {clients.counts_text(kinds)}; "
            f"failed opening attempts: {clients.counts_text(failures)}; `message.new` without "
            f"`room` or `created_rev`: {bad}; duplicates: {duplicates}; hello of another "
            f"user: {wrong_user}; sender errors: {clients.counts_text(errors)}"
        )
    lines.append("")
    return lines


def _thousands(value) -> str:
    return "-" if value is None else f"{value:,}"


def plot(report: dict, path) -> bool:
    return False


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--fill":
        fill(json.loads(sys.argv[2]))
    else:
        sys.exit("run through bench/run.py --scenarios tabs")
