"""Scenario 8, "mentions": what a mention, a notification and Markdown cost on the live path.

The project only (the peers have neither), one server process as the other scenarios run
it, on scenario 6's big room (scenario_tabs.fill without the heavy user's inboxes): a
room of --mentions-members members (1,000), all read, each also in 3 of 10 side rooms,
and one more member who sends. Every member has a tab (`/ws/`) open, spread over
--workers client processes; a share of them (--mentions-viewers, 10%) have the room in
view, so they are online in it for `@here`. The sender is a plain member (no moderator):
the server runs with CHAT_MENTION_ALL_MAX_MEMBERS set to the room's size, so that its
`@room` and `@here` are allowed (docs/protocol.md, "Mentions").

The sender's tab (`view` + `message.send`) posts one message at a time, the kinds taking
turns, --mentions-rounds rounds of:

- `plain`: a short message of plain words (the reference of the mentions);
- `room`: the same with `@room` (every member notified: `room_mention`);
- `one`: the same naming one member (`mention`, to them only);
- `here`: the same with `@here` (those with the room in view: `here_mention`);
- `markdown`: a Markdown-heavy message (a quote, emphasis, links, a list, code, a fenced
  block), no mention;
- `plain_long`: plain words of exactly the Markdown one's length (its reference).

Before each message the server is left to go quiet; then, per message: the sender's ack
(its own `message.new`), the time until the last member's tab had its `message.new`,
until the last member it notifies had its `notification.new`, and every one of those
deliveries; the server's CPU (all its threads' schedstat) from the send until every
delivery was in (net: minus the tabs' idle CPU over as long), and the client processes'
(from the previous message's last delivery to this one's: they must not be the limit).
Every tab keeps its state from its frames as a client does (chat/snapshot.py for the
room's `unread` and `unread_mentions`, notifications/state.py for the inbox's `unread`)
and, after each message, is checked against what the messages sent so far must have made
of it (each adds one unread; those it notifies also one unread mention and one unread
notification of the right kind). At the end, a fresh tab of a sample of the members
(--mentions-verify) must say the same in its `hello`; and the database's rows of each
message (notifications, mentions) are counted.
"""

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections import Counter

import clients
import loadgen
import scenario_tabs
import servers

sys.path.insert(0, str(servers.ROOT))
# The references a client follows to keep its counts from frames (no Django set-up needed).
from chat import snapshot
from notifications import state as inbox_state

NAME = "mentions"
SERVERS = tuple(servers.PROJECTS)
BIG = scenario_tabs.BIG
SENDER, FIRST_MEMBER = scenario_tabs.SENDER, scenario_tabs.FIRST_MEMBER
KINDS = ("plain", "room", "one", "here", "markdown", "plain_long")
# The notification each mentioning kind makes (notifications.models.Notification.Kind).
NOTIFYING = {"room": "room_mention", "one": "mention", "here": "here_mention"}
# Each kind against its reference, in the report.
REFERENCE = {"room": "plain", "one": "plain", "here": "plain", "markdown": "plain_long"}
# Seconds between two sends at least: under the limit of 10 messages / 10 s per user.
MIN_INTERVAL = 1.1
# Seconds to wait for one message's deliveries before counting what is missing.
DELIVERY_TIMEOUT = 30.0
IDLE_SECONDS = 3.0
SHORT_BODY = "sounds good, see you all at the meeting this afternoon then"
MARKDOWN_BODY = """> did the deploy of the new search go out this morning?

**Yes**, it went out at *nine*: see [the release notes](https://example.com/notes/1234) \
and the build at https://example.com/builds/5678 for the details.

- run `make test` first
- then ~~the old script~~ the new one
- check the _dashboard_ afterwards

```sh
make bench
./deploy --check --verbose
```"""
_WORDS = (
    "the deploy of the new search went out this morning at nine and the build is green "
    "again so run the tests first then the new script and check the dashboard afterwards"
)


def _plain_words(length: int) -> str:
    """Plain words (chat.rendering's fast path: no parser) of exactly `length` characters."""
    words = _WORDS.split(" ")
    text, i = "", 0
    while len(text) < length:
        text += ("" if not text else " ") + words[i % len(words)]
        i += 1
    return text[:length].rstrip() + "s" * (length - len(text[:length].rstrip()))


def body(kind: str, target: str = "") -> str:
    """The body of a message of `kind` (`target`: the username `one` names)."""
    return {
        "plain": SHORT_BODY,
        "room": f"@room {SHORT_BODY}",
        "one": f"@{target} {SHORT_BODY}",
        "here": f"@here {SHORT_BODY}",
        "markdown": MARKDOWN_BODY,
        "plain_long": _plain_words(len(MARKDOWN_BODY)),
    }[kind]


def add_arguments(parser) -> None:
    group = parser.add_argument_group("mentions (scenario 8)")
    group.add_argument(
        "--mentions-members", type=int, default=None, help="members of the room (1,000; short 300)"
    )
    group.add_argument(
        "--mentions-viewers",
        type=float,
        default=0.1,
        help="share of the members with the room in view (online for @here)",
    )
    group.add_argument(
        "--mentions-rounds", type=int, default=None, help="messages of each kind (5; short 2)"
    )
    group.add_argument(
        "--mentions-verify",
        type=int,
        default=None,
        help="members whose counts a fresh tab checks at the end (50; short 20)",
    )


# Options left unset: (short run, full run).
DEFAULTS = {
    "mentions_members": (300, 1000),
    "mentions_rounds": (2, 5),
    "mentions_verify": (20, 50),
}


# --- the members' tabs (client processes) ----------------------------------------------


class _Tab:
    """One member's tab: its state as its frames made it, and what it should be."""

    def __init__(self, ws, hello: dict, cookie: str, viewer: bool):
        self.ws, self.cookie, self.viewer = ws, cookie, viewer
        self.me = hello["me"]["id"]
        self.username = hello["me"]["username"]
        self.rooms = {room["slug"]: room for room in hello["rooms"] if room["slug"] == BIG}
        self.inbox = {key: hello["inbox"][key] for key in ("notifications", "unread")}
        room = self.rooms.get(BIG) or {"unread": 0, "unread_mentions": []}
        self.want_unread = room["unread"]
        self.want_mentions = list(room["unread_mentions"])
        self.want_inbox = self.inbox["unread"]
        self.news: dict[int, float] = {}  # seq -> when its message.new came
        self.notes: dict[int, tuple[float, str]] = {}  # message id -> (when, kind)
        self.duplicates = 0
        self.bad = 0  # message.new of the room without `room` or `created_rev`

    def counts(self) -> dict:
        room = self.rooms.get(BIG) or {}
        return {
            "unread": room.get("unread"),
            "unread_mentions": sorted(room.get("unread_mentions", [])),
            "mentions": room.get("mentions"),
            "inbox_unread": self.inbox["unread"],
        }

    def wanted(self) -> dict:
        return {
            "unread": self.want_unread,
            "unread_mentions": sorted(self.want_mentions),
            "mentions": len(self.want_mentions),
            "inbox_unread": self.want_inbox,
        }

    def mismatch(self) -> dict | None:
        got, want = self.counts(), self.wanted()
        return None if got == want else {"user": self.username, "got": got, "want": want}


class _Tabs:
    """One client process's tabs of the room: opened, read, checked, closed."""

    def __init__(self, origin: str, concurrency: int, prefix: str):
        self.origin, self.concurrency, self.prefix = origin, concurrency, prefix
        self.tabs: list[_Tab] = []
        self.tasks: set = set()
        self.kinds: Counter = Counter()
        self.closes: Counter = Counter()
        self.news_count: Counter = Counter()  # seq -> tabs that have its message.new
        self.notes_count: Counter = Counter()  # message id -> tabs with its notification
        self.unexpected: Counter = Counter()  # notification kinds nobody was due
        self.frame_bytes: dict[int, int] = {}  # seq -> size of its message.new
        self.arrived = asyncio.Event()
        self.due: dict[int, str] = {}  # message id -> the notification kind due

    def _handler(self, tab: _Tab):
        def on_frame(raw: str) -> None:
            at = time.time()
            frame = json.loads(raw)
            kind = frame.get("type", "")
            if kind.startswith("message."):
                self._on_message(tab, kind, frame, raw, at)
            elif kind == "room.read":
                tab.rooms = snapshot.apply_event(tab.rooms, kind, frame, me=tab.me)
            elif kind.startswith("notification"):
                tab.inbox = inbox_state.apply_event(tab.inbox, kind, frame)
                if kind == "notification.new":
                    self._on_notification(tab, frame["notification"], at)

        return on_frame

    def _on_message(self, tab: _Tab, kind: str, frame: dict, raw: str, at: float) -> None:
        message = frame.get("message") or {}
        if message.get("room") != BIG:
            return
        if frame.get("room") != BIG or not isinstance(message.get("created_rev"), int):
            tab.bad += 1
            return
        tab.rooms = snapshot.apply_event(tab.rooms, kind, frame, me=tab.me)
        client_id = message.get("client_id") or ""
        if kind != "message.new" or not client_id.startswith(self.prefix):
            return
        seq = int(client_id[len(self.prefix) :])
        if seq in tab.news:
            tab.duplicates += 1
            return
        tab.news[seq] = at
        self.news_count[seq] += 1
        self.frame_bytes[seq] = len(raw.encode())
        self.arrived.set()

    def _on_notification(self, tab: _Tab, notification: dict, at: float) -> None:
        message_id = (notification.get("message") or {}).get("id")
        if message_id in tab.notes:
            tab.duplicates += 1
            return
        tab.notes[message_id] = (at, notification.get("kind"))
        self.notes_count[message_id] += 1
        self.arrived.set()

    async def open(self, url: str, assigned: list) -> tuple:
        """Open a tab per (cookie, username, viewer); the viewers put the room in view.

        Return (opened, failures, tabs of another user, viewers).
        """
        target = clients.Target("project", url, self.origin, [None])
        failures: Counter = Counter()
        sem = asyncio.Semaphore(self.concurrency)
        wrong_user = 0

        async def one(cookie, username, viewer):
            nonlocal wrong_user
            async with sem:
                opened = await clients.open_retrying(target, BIG, cookie, failures)
                if opened is None:
                    return
                ws, hello = opened
                if viewer:
                    await ws.send(json.dumps({"type": "view", "room": BIG}))
                    while json.loads(await asyncio.wait_for(ws.recv(), 30)).get("type") != "view":
                        pass
            wrong_user += hello["me"]["username"] != username
            tab = _Tab(ws, hello, cookie, viewer)
            self.tabs.append(tab)
            drain = clients.drain(ws, self.kinds, self.closes, self._handler(tab))
            self.tasks.add(asyncio.create_task(drain))

        await asyncio.gather(*(one(*a) for a in assigned))
        return len(self.tabs), dict(failures), wrong_user, sum(t.viewer for t in self.tabs)

    def _notified(self, tab: _Tab, kind: str, target: str) -> bool:
        """Whether a message of `kind` notifies this tab's user (and mentions them)."""
        return (
            kind == "room"
            or (kind == "one" and tab.username == target)
            or (kind == "here" and tab.viewer)
        )

    async def expect(self, seq: int, message_id: int, kind: str, target: str, deadline: float):
        """Note what the message must change in each tab, wait for it (until `deadline`, a
        time.time()); return the arrivals and the tabs whose counts are not what they
        should be."""
        notified = [tab for tab in self.tabs if self._notified(tab, kind, target)]
        for tab in self.tabs:
            tab.want_unread += 1
        for tab in notified:
            tab.want_mentions.append(message_id)
            tab.want_inbox += 1
        if kind in NOTIFYING:
            self.due[message_id] = NOTIFYING[kind]
        while self.news_count[seq] < len(self.tabs) or self.notes_count[message_id] < len(notified):
            self.arrived.clear()
            remaining = deadline - time.time()
            if remaining <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), remaining)
        notes, wrong_kind = [], 0
        for tab in notified:
            if message_id in tab.notes:
                at, got = tab.notes[message_id]
                notes.append(at)
                wrong_kind += got != NOTIFYING[kind]
        unexpected = sum(
            message_id in tab.notes for tab in self.tabs if not self._notified(tab, kind, target)
        )
        mismatches = [m for m in (tab.mismatch() for tab in self.tabs) if m]
        return {
            "news": [tab.news[seq] for tab in self.tabs if seq in tab.news],
            "notes": notes,
            "notified": len(notified),
            "wrong_kind": wrong_kind,
            "unexpected_notes": unexpected,
            "frame_bytes": self.frame_bytes.get(seq),
            "mismatches": len(mismatches),
            "mismatch_sample": mismatches[:2],
            "client_cpu_s": time.process_time(),
        }

    async def cpu(self) -> float:
        """This process's CPU seconds so far."""
        return time.process_time()

    async def check(self) -> dict:
        """Every tab's counts against what they should be, now; duplicates, bad frames."""
        mismatches = [m for m in (tab.mismatch() for tab in self.tabs) if m]
        return {
            "tabs": len(self.tabs),
            "mismatches": len(mismatches),
            "mismatch_sample": mismatches[:3],
            "duplicates": sum(tab.duplicates for tab in self.tabs),
            "bad_frames": sum(tab.bad for tab in self.tabs),
        }

    async def verify(self, url: str, every: int) -> dict:
        """Open a fresh tab for every `every`-th member, one at a time: its hello's counts
        of the room and its inbox must equal what the frames made of the open tab's."""
        target = clients.Target("project", url, self.origin, [None])
        checked, differ, failures = 0, [], Counter()
        for tab in self.tabs[::every]:
            opened = await clients.open_retrying(target, BIG, tab.cookie, failures)
            if opened is None:
                continue
            ws, hello = opened
            await clients.close_all([ws])
            checked += 1
            fresh = {room["slug"]: room for room in hello["rooms"]}.get(BIG, {})
            fetched = {
                "unread": fresh.get("unread"),
                "unread_mentions": sorted(fresh.get("unread_mentions", [])),
                "mentions": fresh.get("mentions"),
                "inbox_unread": hello["inbox"]["unread"],
            }
            # The inbox's newest page: the notifications the frames brought, newest first.
            held = [n["id"] for n in tab.inbox["notifications"]][
                : len(hello["inbox"]["notifications"])
            ]
            page = [n["id"] for n in hello["inbox"]["notifications"]]
            if fetched != tab.counts() or held != page:
                differ.append({"user": tab.username, "frames": tab.counts(), "hello": fetched})
        return {
            "checked": checked,
            "differ": len(differ),
            "sample": differ[:3],
            "failed": dict(failures),
        }

    async def close(self) -> tuple:
        await clients.close_all([tab.ws for tab in self.tabs])
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=10)
        return dict(self.kinds), dict(self.closes)


async def _tabs_worker(wid: int, link, origin: str, concurrency: int, prefix: str):
    """Do what the parent says (open, expect, check, verify, close) until it says exit."""
    tabs = _Tabs(origin, concurrency, prefix)
    while True:
        command, *arguments = await link.get()
        if command == "exit":
            link.put("done")
            return
        link.put(await getattr(tabs, command)(*arguments))


# --- the sender (the driver's process) -------------------------------------------------


async def _ack(ws, client_id: str) -> tuple[float, dict]:
    """Read the sender's socket until its message.new or an error for `client_id`."""
    while True:
        frame = json.loads(await ws.recv())
        if frame.get("client_id") == client_id and frame.get("type") == "error":
            return time.time(), frame
        message = frame.get("message") or {}
        if frame.get("type") == "message.new" and message.get("client_id") == client_id:
            return time.time(), frame


async def _send_all(server, workers, cookie: str, schedule: list, prefix: str, idle: float, log):
    """Send the schedule's messages one at a time; return one record per message."""
    ws, _hello = await scenario_tabs.open_viewing_tab(server, cookie, BIG)
    records, last_sent = [], 0.0
    # The client processes' CPU seconds so far: each message's is the difference.
    client_cpu = await asyncio.to_thread(workers.ask, ("cpu",), 30)
    try:
        for seq, (kind, target) in enumerate(schedule):
            await asyncio.to_thread(clients.wait_quiet, server.pid)
            await asyncio.sleep(max(0.0, last_sent + MIN_INTERVAL - time.time()))
            client_id = f"{prefix}{seq}"
            frame = {
                "type": "message.send",
                "room": BIG,
                "client_id": client_id,
                "body": body(kind, target),
            }
            cpu_before = scenario_tabs.server_cpu_ns(server.pid)
            sent = last_sent = time.time()
            await ws.send(json.dumps(frame))
            try:
                acked, answer = await asyncio.wait_for(_ack(ws, client_id), DELIVERY_TIMEOUT)
            except TimeoutError:
                records.append({"seq": seq, "kind": kind, "error": "no answer"})
                continue
            if answer["type"] == "error":
                records.append({"seq": seq, "kind": kind, "error": answer.get("code")})
                log(f"  {kind}: refused, {answer.get('code')}: {answer.get('detail')}")
                continue
            message = answer["message"]
            question = ("expect", seq, message["id"], kind, target, sent + DELIVERY_TIMEOUT)
            answers = await asyncio.to_thread(workers.ask, question, DELIVERY_TIMEOUT + 60)
            done = time.time()
            cpu = (scenario_tabs.server_cpu_ns(server.pid) - cpu_before) / 1e9
            record = _record(seq, kind, message, sent, acked, done, cpu, idle, answers)
            record["client_cpu"] = sum(a["client_cpu_s"] for a in answers) - sum(client_cpu)
            client_cpu = [a["client_cpu_s"] for a in answers]
            records.append(record)
    finally:
        await ws.close()
    return records


def _record(seq, kind, message, sent, acked, done, cpu, idle, answers) -> dict:
    """One message's figures, from the workers' answers (times in s after the send)."""
    news = [at - sent for a in answers for at in a["news"]]
    notes = [at - sent for a in answers for at in a["notes"]]
    return {
        "seq": seq,
        "kind": kind,
        "id": message["id"],
        "mentions": len(message.get("mentions") or []),
        "mention_all": message.get("mention_all"),
        "ack": acked - sent,
        "news": news,
        "notes": notes,
        "tabs": sum(len(a["news"]) for a in answers),
        "notified": sum(a["notified"] for a in answers),
        "wrong_kind": sum(a["wrong_kind"] for a in answers),
        "unexpected_notes": sum(a["unexpected_notes"] for a in answers),
        "frame_bytes": max((a["frame_bytes"] or 0) for a in answers) or None,
        "mismatches": sum(a["mismatches"] for a in answers),
        "mismatch_sample": [m for a in answers for m in a["mismatch_sample"]][:2],
        "window": done - sent,
        "server_cpu": cpu,
        "server_cpu_net": cpu - idle * (done - sent),
    }


# --- the database's rows (Django, in a process of its own) -----------------------------


def count_rows(ids: list[int]) -> dict:
    """Notifications and mentions stored per message id."""
    sys.path.insert(0, str(servers.ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myproject.settings")
    import django

    django.setup()
    from django.db.models import Count

    from chat.models import MessageMention
    from notifications.models import Notification

    def per_message(model) -> dict:
        rows = model.objects.filter(message_id__in=ids).values("message_id")
        return {r["message_id"]: r["n"] for r in rows.annotate(n=Count("id"))}

    return {"notifications": per_message(Notification), "mentions": per_message(MessageMention)}


def _count_rows(server, ids: list[int]) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--count", json.dumps(ids)],
        cwd=servers.ROOT,
        env=server.env,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    counts = json.loads(done.stdout)
    return {kind: {int(k): v for k, v in rows.items()} for kind, rows in counts.items()}


# --- the scenario ----------------------------------------------------------------------


def _schedule(rounds: int, members: int) -> list[tuple[str, str]]:
    """(kind, the member `one` names) for each message: the kinds take turns."""
    return [
        (kind, f"bench{FIRST_MEMBER + (r * 7919 + 11) % members}" if kind == "one" else "")
        for r in range(rounds)
        for kind in KINDS
    ]


def run(server_name: str, args, log) -> dict:
    members = args.mentions_members
    room_size = members + 1  # and the sender
    server = servers.make(server_name)
    # The sender is a plain member: @room and @here are allowed in a room of this size.
    server.env["CHAT_MENTION_ALL_MAX_MEMBERS"] = str(room_size)
    step = max(1, round(1 / args.mentions_viewers)) if args.mentions_viewers > 0 else 0
    log(
        f"[mentions] {server_name}: a room of {members} members, every {step or '-'}th "
        f"with it in view; CHAT_MENTION_ALL_MAX_MEMBERS={room_size}"
    )
    prefix = "mn-"
    try:
        server.prepare(users=FIRST_MEMBER + members, rooms=[BIG])
        scenario_tabs.fill_database(server, {"rooms": 0, "members": members})
        server.start()
        cookies = server.cookies(FIRST_MEMBER + members)
        assigned = [
            (cookies[FIRST_MEMBER + k], f"bench{FIRST_MEMBER + k}", bool(step) and k % step == 0)
            for k in range(members)
        ]
        url = f"ws://127.0.0.1:{server.port}/ws/"
        with clients.Workers(
            args.workers, _tabs_worker, server.origin, args.open_concurrency, prefix
        ) as workers:
            began = time.monotonic()
            cpu_before = clients.cpu_s(server.pid)
            for w, pipe in enumerate(workers.pipes):
                pipe.send(("open", url, assigned[w :: args.workers]))
            answers = workers.recv(600)
            opening = {
                "tabs": sum(a[0] for a in answers),
                "failed_attempts": dict(sum((Counter(a[1]) for a in answers), Counter())),
                "wrong_user": sum(a[2] for a in answers),
                "viewers": sum(a[3] for a in answers),
                "seconds": round(time.monotonic() - began, 1),
            }
            quiet = clients.wait_quiet(server.pid)
            opening["server_cpu_s"] = round(clients.cpu_s(server.pid) - cpu_before, 2)
            log(f"  tabs open: {opening} (quiet after {quiet} s)")
            idle_before = scenario_tabs.server_cpu_ns(server.pid)
            time.sleep(IDLE_SECONDS)
            idle = (scenario_tabs.server_cpu_ns(server.pid) - idle_before) / 1e9 / IDLE_SECONDS
            schedule = _schedule(args.mentions_rounds, members)
            records = loadgen.run_async(
                _send_all(server, workers, cookies[SENDER], schedule, prefix, idle, log)
            )
            for r in records:
                if "error" not in r:
                    log(_record_line(r))
            time.sleep(1.0)  # anything late or unexpected is in before the last check
            final = workers.ask(("check",), 60)
            verify = workers.ask(
                ("verify", url, max(1, members // max(1, args.mentions_verify))), 600
            )
            closing = workers.ask(("close",), 120)
            workers.ask(("exit",), 30)
        rows = _count_rows(server, [r["id"] for r in records if "id" in r])
        for r in records:
            if "id" in r:
                r["notification_rows"] = rows["notifications"].get(r["id"], 0)
                r["mention_rows"] = rows["mentions"].get(r["id"], 0)
        kinds, closes = Counter(), Counter()
        for k, c in closing:
            kinds.update(k)
            closes.update(c)
        result = {
            "room_size": room_size,
            "mention_all_max_members": room_size,
            "opening": opening,
            "idle_cpu_s_per_s": round(idle, 4),
            "by_kind": {kind: summary(records, kind) for kind in KINDS},
            "errors": dict(Counter(r["error"] for r in records if "error" in r)),
            "final_check": {
                "tabs": sum(f["tabs"] for f in final),
                "mismatches": sum(f["mismatches"] for f in final),
                "sample": [m for f in final for m in f["mismatch_sample"]][:3],
                "duplicates": sum(f["duplicates"] for f in final),
                "bad_frames": sum(f["bad_frames"] for f in final),
            },
            "fresh_hello": {
                "checked": sum(v["checked"] for v in verify),
                "differ": sum(v["differ"] for v in verify),
                "sample": [s for v in verify for s in v["sample"]][:3],
                "failed": dict(sum((Counter(v["failed"]) for v in verify), Counter())),
            },
            "frames_by_type": dict(kinds),
            "closes_seen": dict(closes),
            "messages": [
                {k: v for k, v in r.items() if k not in ("news", "notes")} for r in records
            ],
            "server": server.describe(),
            "server_log_tail": (server.tmp / "server.log").read_text(errors="replace")[-2000:],
        }
        log(
            f"  final check: {result['final_check']}; fresh hello: {result['fresh_hello']}; "
            f"frames {dict(kinds)}"
        )
        return result
    finally:
        server.stop()


def _record_line(r: dict) -> str:
    last_note = f"{1000 * max(r['notes']):.0f}" if r["notes"] else "-"
    return (
        f"  {r['kind']:>10}: ack {1000 * r['ack']:.0f} ms, last message.new "
        f"{1000 * max(r['news'], default=0):.0f} ms ({r['tabs']} tabs), last notification "
        f"{last_note} ms ({len(r['notes'])}/{r['notified']}), server CPU "
        f"{1000 * r['server_cpu']:.0f} ms (net {1000 * r['server_cpu_net']:.0f}), counts wrong "
        f"{r['mismatches']}, frame {r['frame_bytes']} bytes"
    )


def summary(records: list[dict], kind: str) -> dict:
    """The figures of one kind's messages."""
    done = [r for r in records if r["kind"] == kind and "error" not in r]
    n = len(done)

    def mean(key, scale=1000.0, digits=1):
        values = [r[key] for r in done if r.get(key) is not None]
        return round(scale * sum(values) / len(values), digits) if values else None

    last_update = [max(r["news"] + r["notes"]) for r in done if r["news"]]
    return {
        "messages": n,
        "refused": sum(1 for r in records if r["kind"] == kind and "error" in r),
        "deliveries": sum(r["tabs"] for r in done),
        "notifications": sum(len(r["notes"]) for r in done),
        "notifications_due": sum(r["notified"] for r in done),
        "wrong_kind": sum(r["wrong_kind"] for r in done),
        "unexpected_notifications": sum(r["unexpected_notes"] for r in done),
        "count_mismatches": sum(r["mismatches"] for r in done),
        "ack": clients.ms_summary([r["ack"] for r in done]),
        "last_message_new": clients.ms_summary([max(r["news"]) for r in done if r["news"]]),
        "last_notification": clients.ms_summary([max(r["notes"]) for r in done if r["notes"]]),
        "last_update": clients.ms_summary(last_update),
        "every_message_new": clients.ms_summary([x for r in done for x in r["news"]]),
        "every_notification": clients.ms_summary([x for r in done for x in r["notes"]]),
        "server_cpu_ms_per_message": mean("server_cpu"),
        "server_cpu_ms_per_message_net": mean("server_cpu_net"),
        "client_cpu_ms_per_message": mean("client_cpu"),
        "frame_bytes": max((r["frame_bytes"] or 0 for r in done), default=None),
        "notification_rows_per_message": mean("notification_rows", 1.0),
        "mention_rows_per_message": mean("mention_rows", 1.0),
        "body_chars": len(body(kind, "bench0")),
    }


# --- the report ------------------------------------------------------------------------

_LABELS = {
    "plain": "plain",
    "room": "`@room`",
    "one": "`@name` (one member)",
    "here": "`@here`",
    "markdown": "Markdown",
    "plain_long": "plain, Markdown's length",
}


def markdown(report: dict) -> list[str]:
    res = report["results"][NAME]
    lines = []
    for name in clients.project_names(res):
        lines += _markdown_one(name, res[name], report["args"])
    return lines


def _markdown_one(name: str, r: dict, a: dict) -> list[str]:
    by, opening = r["by_kind"], r["opening"]
    server = "" if name == "project" else f" ({name})"
    lines = [
        f"### Mentions, notifications and Markdown on the live path{server}: a room of "
        f"{r['room_size']:,} members, each with a tab open",
        "",
        f"{opening['tabs']:,} tabs `/ws/` (one per member, {opening['viewers']} with the room "
        f"in view: online for `@here`), opened in {opening['seconds']} s; the server ran with "
        f"`CHAT_MENTION_ALL_MAX_MEMBERS={r['mention_all_max_members']}` (the room's size) so "
        "that a plain member may say `@room` and `@here`. One sender's tab sends one message "
        f"at a time, the kinds taking turns ({a['mentions_rounds']} of each), the server "
        "quiet before each. Last `message.new`: until every member's tab had it; last "
        "notification: until every member it notifies had its `notification.new`; last "
        "update: the later of the two. Server CPU: its threads, from the send until every "
        "delivery was in; net: minus the tabs' idle CPU over as long "
        f"({r['idle_cpu_s_per_s']} s/s). Client CPU: the {a['workers']} client processes', from "
        "the previous message's last delivery to this one's. Rows: stored per message "
        "(notifications, mentions).",
        "",
        "| message | body chars | frame bytes | ack p50 ms | last `message.new` p50 ms | max ms "
        "| notified | last notification p50 ms | max ms | last update p50 ms "
        "| server CPU ms / message | net | client CPU ms | notification rows | mention rows "
        "| counts wrong |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in KINDS:
        k = by[kind]
        per = k["notifications_due"] // k["messages"] if k["messages"] else 0
        lines.append(
            f"| {_LABELS[kind]} | {k['body_chars']} | {k['frame_bytes']} | {k['ack']['p50_ms']} "
            f"| {k['last_message_new']['p50_ms']} | {k['last_message_new']['max_ms']} "
            f"| {per:,} | {k['last_notification']['p50_ms'] or '-'} "
            f"| {k['last_notification']['max_ms'] or '-'} | {k['last_update']['p50_ms']} "
            f"| {k['server_cpu_ms_per_message']} | {k['server_cpu_ms_per_message_net']} "
            f"| {k['client_cpu_ms_per_message']} | {k['notification_rows_per_message']} "
            f"| {k['mention_rows_per_message']} | {k['count_mismatches']} |"
        )
    ratio = clients.ratio
    lines.append("")
    for kind, reference in REFERENCE.items():
        k, ref = by[kind], by[reference]
        lines.append(
            f"- {_LABELS[kind]} / {_LABELS[reference]}: last update p50 "
            f"{ratio(k['last_update']['p50_ms'], ref['last_update']['p50_ms'])}, last "
            f"`message.new` p50 "
            f"{ratio(k['last_message_new']['p50_ms'], ref['last_message_new']['p50_ms'])}, ack "
            f"p50 {ratio(k['ack']['p50_ms'], ref['ack']['p50_ms'])}, server CPU per message "
            f"{ratio(k['server_cpu_ms_per_message'], ref['server_cpu_ms_per_message'])} (net "
            f"{ratio(k['server_cpu_ms_per_message_net'], ref['server_cpu_ms_per_message_net'])})"
        )
    kinds = [by[kind] for kind in KINDS]
    delivered = sum(k["deliveries"] for k in kinds)
    due = sum(k["messages"] for k in kinds) * opening["tabs"]
    final, fresh = r["final_check"], r["fresh_hello"]
    lines += [
        f"- delivered: `message.new` {delivered:,}/{due:,}; `notification.new` "
        f"{sum(k['notifications'] for k in kinds):,}/"
        f"{sum(k['notifications_due'] for k in kinds):,} (of the wrong kind "
        f"{sum(k['wrong_kind'] for k in kinds)}, to someone not due one "
        f"{sum(k['unexpected_notifications'] for k in kinds)}); refused sends: "
        f"{clients.counts_text(r['errors'])}",
        f"- every count updated: after each message, tabs whose room `unread` / "
        f"`unread_mentions` or inbox `unread` (kept from the frames by chat/snapshot.py and "
        f"notifications/state.py) differed from what the messages sent make of them: "
        f"{sum(k['count_mismatches'] for k in kinds)}; at the end "
        f"{final['mismatches']} of {final['tabs']:,}; a fresh tab's `hello` differing from "
        f"the frames': {fresh['differ']} of {fresh['checked']}; duplicates "
        f"{final['duplicates']}, `message.new` without `room` or `created_rev` "
        f"{final['bad_frames']}",
        f"- frames received by type: {clients.counts_text(r['frames_by_type'])}; failed "
        f"opening attempts: {clients.counts_text(opening['failed_attempts'])}",
        "",
    ]
    return lines


def plot(report: dict, path) -> bool:
    return False


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--count":
        print(json.dumps(count_rows(json.loads(sys.argv[2]))))
    else:
        sys.exit("run through bench/run.py --scenarios mentions")
