"""Scenario 4, "storm": every socket drops, messages go on, everyone reconnects at once.

Sockets open in rooms of 100 and see a first batch of messages (so each knows the last
revision it holds); then they all close from the client side, a second batch is sent to
every room through sender sockets that stay open (not part of the storm), and all the
storm sockets reconnect, spread evenly over a few seconds. Measured: the time from the
first reconnect until 99% (and 100%) of them have caught up.

Caught up: for the project, opened with `?since=<last revision seen>`, `hello` received,
then `sync` frames until one says `complete` (asking again with `since` = its `rev` while
not), and the missed messages counted (they must be exactly the second batch). Socket.IO
sends the room's last 50 messages (`room_history`) after each connect: caught up = that
event received, the missed messages in it counted. Naive and raw have no catch-up: caught
up = the socket is open again; they deliver nothing missed.
"""

import asyncio
import contextlib
import json
import math
import re
import time
from collections import Counter

import clients
import servers
import socketio_wire

NAME = "storm"
SERVERS = (*servers.PROJECTS, *servers.REFERENCES)
TARGET = "project time to 99% caught up <= 0.25x naive's"
# Messages one user may send at once: the project's token bucket (10 per 10 s) starts full.
BURST = 10
MARK = re.compile(r"storm~([A-Za-z0-9_-]+)~")


def add_arguments(parser) -> None:
    group = parser.add_argument_group("storm (scenario 4)")
    group.add_argument("--storm-rooms", type=int, default=None, help="full 20, short 4")
    group.add_argument("--storm-members", type=int, default=100, help="sockets per room")
    group.add_argument("--storm-before", type=int, default=10, help="messages per room, seen")
    group.add_argument("--storm-missed", type=int, default=20, help="messages per room, missed")
    group.add_argument(
        "--storm-spread", type=float, default=None, help="reconnects spread over s (5; short 2.5)"
    )
    group.add_argument(
        "--storm-timeout",
        type=float,
        default=None,
        help="s after the last reconnect's start until stragglers count as not caught up "
        "(120; short 60)",
    )


# Options left unset: (short run, full run).
DEFAULTS = {"storm_rooms": (4, 20), "storm_spread": (2.5, 5.0), "storm_timeout": (60.0, 120.0)}


class _Sender:
    """A socket outside the storm that sends messages one at a time, each acknowledged."""

    def __init__(self, ws, protocol: str):
        self.ws = ws
        self.protocol = protocol
        self.pending: dict[str, asyncio.Future] = {}
        self.rate_limited = 0

    def on_frame(self, raw: str) -> None:
        if self.protocol == "project":
            frame = json.loads(raw)
            kind = frame.get("type")
            if kind == "message.new":
                cid = frame["message"].get("client_id")
            elif kind == "error":
                cid = frame.get("client_id")
            else:
                return
            future = self.pending.get(cid)
            if future is not None and not future.done():
                future.set_result(frame)
        else:
            match = MARK.search(raw)
            future = self.pending.get(match.group(1)) if match else None
            if future is not None and not future.done():
                future.set_result(None)

    async def send(self, cid: str) -> bool:
        """Send one message and wait for its acknowledgement; True when stored."""
        body = f"storm~{cid}~ a message the storm sockets may miss"
        if self.protocol == "project":
            text = json.dumps({"type": "message.send", "client_id": cid, "body": body})
        elif self.protocol == "socketio":
            text = socketio_wire.event("chat_message", {"message": body})
        else:
            text = json.dumps({"type": "chat_message", "message": body})
        for _attempt in range(5):
            future = asyncio.get_running_loop().create_future()
            self.pending[cid] = future
            try:
                await self.ws.send(text)
                answer = await asyncio.wait_for(future, 30)
            except Exception:
                return False
            finally:
                self.pending.pop(cid, None)
            if answer is None or answer["type"] == "message.new":
                return True
            if answer.get("code") != "rate_limited":
                return False
            # Resending the same client_id is safe: the project stores it once.
            self.rate_limited += 1
            await asyncio.sleep(answer.get("retry_after") or 1.0)
        return False


async def _worker(wid: int, link, target, shape: dict):
    rooms, members, workers = shape["rooms"], shape["members"], shape["workers"]
    total = len(rooms) * members
    project = target.protocol == "project"
    storm = [(k, room) for k, room in enumerate(r for r in rooms for _ in range(members))]
    storm = storm[wid::workers]
    per_room = shape["senders_per_room"]
    my_rooms = [(i, room) for i, room in enumerate(rooms) if i % workers == wid]
    seen_count: Counter = Counter()
    seen_rev: dict[int, int] = {}
    kinds: Counter = Counter()
    closes: Counter = Counter()
    failures: Counter = Counter()
    tasks: set[asyncio.Task] = set()

    def watcher(k):
        def on_frame(raw):
            if project:
                if '"message.new"' in raw[:40]:
                    seen_count[k] += 1
                    seen_rev[k] = max(seen_rev.get(k, 0), json.loads(raw)["message"]["rev"])
            elif MARK.search(raw):
                seen_count[k] += 1

        return on_frame

    def keep(ws, on_frame=None):
        tasks.add(asyncio.create_task(clients.drain(ws, kinds, closes, on_frame)))

    # Phase "open": the storm sockets and the senders.
    await link.get()
    began = time.monotonic()
    sem = asyncio.Semaphore(shape["concurrency"])
    socks: dict[int, object] = {}
    senders: dict[str, list[_Sender]] = {room: [] for _i, room in my_rooms}

    async def open_storm(k, room):
        async with sem:
            opened = await clients.open_retrying(target, room, target.cookie(k), failures)
        if opened is not None:
            socks[k] = opened[0]
            if project:
                seen_rev[k] = opened[1]["rev"]
            keep(opened[0], watcher(k))

    async def open_sender(i, room, s):
        async with sem:
            cookie = target.cookie(total + i * per_room + s)
            opened = await clients.open_retrying(target, room, cookie, failures)
        if opened is not None:
            sender = _Sender(opened[0], target.protocol)
            senders[room].append(sender)
            keep(opened[0], sender.on_frame)

    await asyncio.gather(
        *(open_storm(k, room) for k, room in storm),
        *(open_sender(i, room, s) for i, room in my_rooms for s in range(per_room)),
    )
    sender_count = sum(len(v) for v in senders.values())
    link.put((len(socks), sender_count, dict(failures), time.monotonic() - began))

    async def send_batch(tag: str, count: int, first_sender: int) -> int:
        async def from_sender(room, sender, cids):
            return sum([await sender.send(cid) for cid in cids])

        jobs = []
        for i, room in my_rooms:
            cids = [f"{tag}-{i}-{n}" for n in range(count)]
            for j in range(0, count, BURST):
                index = first_sender + j // BURST
                if index < len(senders[room]):
                    jobs.append(from_sender(room, senders[room][index], cids[j : j + BURST]))
        return sum(await asyncio.gather(*jobs))

    # Phase "before": messages every storm socket sees; each then knows its last revision.
    await link.get()
    acked = await send_batch("b", shape["before"], 0)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if all(seen_count[k] >= shape["before"] for k in socks):
            break
        await asyncio.sleep(0.1)
    short = sum(1 for k in socks if seen_count[k] != shape["before"])
    link.put((acked, short))

    # Phase "missed": every storm socket closes from the client side (the close handshake
    # done: nothing more reaches it), then the second batch is sent while they are away.
    await link.get()
    since = {k: seen_rev.get(k, 0) for k in socks}
    await clients.close_all(list(socks.values()))
    first_missed = math.ceil(shape["before"] / BURST)
    acked = await send_batch("m", shape["missed"], first_missed)
    rate_limited = sum(s.rate_limited for v in senders.values() for s in v)
    link.put((acked, rate_limited))

    # Phase "storm": reconnect storm socket k at t0 + spread * k / total.
    _tag, t0 = await link.get()
    storm_failures: Counter = Counter()
    outcome: dict[int, tuple] = {}
    end = t0 + shape["spread"] + shape["timeout"]
    back: list = []

    async def reconnect(k, room):
        due = t0 + shape["spread"] * k / total
        await asyncio.sleep(max(0.0, due - time.time()))
        query = f"?since={since[k]}" if project else ""
        opened = await clients.open_retrying(
            target, room, target.cookie(k), storm_failures, query, until=end
        )
        if opened is None:
            outcome[k] = (due - t0, None, None, None)
            return
        ws = opened[0]
        back.append(ws)
        at_open = time.time() - t0
        if target.protocol == "socketio":
            await _room_history(ws, opened[1]["early"], k, due - t0, at_open)
            return
        if not project:
            outcome[k] = (due - t0, at_open, at_open, None)
            keep(ws)
            return
        ids = set()
        try:
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), max(0.1, end - time.time())))
                if frame.get("type") == "sync":
                    ids.update(m["id"] for m in frame["messages"])
                    if frame["complete"]:
                        break
                    await ws.send(json.dumps({"type": "sync", "since": frame["rev"]}))
        except Exception as exc:
            storm_failures[f"catch-up: {clients.failure_reason(exc)}"] += 1
            outcome[k] = (due - t0, at_open, None, len(ids))
            return
        outcome[k] = (due - t0, at_open, time.time() - t0, len(ids))
        keep(ws)

    async def _room_history(ws, early, k, due, at_open):
        """Socket.IO's catch-up: the room's last 50 messages in a `room_history` event, with
        the connect; count the missed ones in it."""
        histories = [raw for raw in early if socketio_wire.event_name(raw) == "room_history"]
        try:
            while not histories:
                raw = await asyncio.wait_for(ws.recv(), max(0.1, end - time.time()))
                if raw == socketio_wire.PING:
                    await ws.send(socketio_wire.PONG)
                elif socketio_wire.event_name(raw) == "room_history":
                    histories.append(raw)
            raw = histories[0]
        except Exception as exc:
            storm_failures[f"catch-up: {clients.failure_reason(exc)}"] += 1
            outcome[k] = (due, at_open, None, None)
            return
        missed = sum(1 for tag in MARK.findall(raw) if tag.startswith("m-"))
        outcome[k] = (due, at_open, time.time() - t0, missed)
        keep(ws)

    # Only the sockets that were open take part; the others count as never caught up.
    work = [asyncio.create_task(reconnect(k, room)) for k, room in storm if k in since]
    _done, late = await asyncio.wait(work, timeout=max(1.0, end - time.time()))
    for task in late:
        task.cancel()
    for k, _room in storm:
        outcome.setdefault(k, (shape["spread"] * k / total, None, None, None))
    link.put((list(outcome.values()), dict(storm_failures)))

    # Phase "end": close everything.
    await link.get()
    await clients.close_all(back + [s.ws for v in senders.values() for s in v])
    with contextlib.suppress(Exception):
        await asyncio.wait(tasks, timeout=10)
    link.put((dict(kinds), dict(closes)))


def run(server_name: str, args, log) -> dict:
    rooms = [f"storm-{i}" for i in range(args.storm_rooms)]
    total = len(rooms) * args.storm_members
    per_room = math.ceil(args.storm_before / BURST) + math.ceil(args.storm_missed / BURST)
    shape = {
        "rooms": rooms,
        "members": args.storm_members,
        "workers": args.workers,
        "senders_per_room": per_room,
        "before": args.storm_before,
        "missed": args.storm_missed,
        "concurrency": args.open_concurrency,
        "spread": args.storm_spread,
        "timeout": args.storm_timeout,
    }
    server = servers.make(server_name)
    log(
        f"[storm] {server_name}: preparing ({total} sockets in {len(rooms)} rooms, "
        f"{per_room} senders per room)"
    )
    try:
        server.prepare(users=total + per_room * len(rooms), rooms=rooms)
        server.start()
        pid = server.pid
        target = clients.Target.of(server, server.cookies(total + per_room * len(rooms)))
        with clients.Workers(args.workers, _worker, target, shape) as workers:
            began = time.monotonic()
            answers = workers.ask("open", 900)
            opened = sum(a[0] for a in answers)
            sender_count = sum(a[1] for a in answers)
            failures = Counter()
            for a in answers:
                failures.update(a[2])
            log(
                f"  {opened}/{total} sockets and {sender_count} senders open in "
                f"{time.monotonic() - began:.1f} s, failed attempts {dict(failures)}; "
                f"quiet after {clients.wait_quiet(pid)} s"
            )
            answers = workers.ask("before", 120)
            acked_before = sum(a[0] for a in answers)
            short_before = sum(a[1] for a in answers)
            answers = workers.ask("missed", 120)
            acked_missed = sum(a[0] for a in answers)
            rate_limited = sum(a[1] for a in answers)
            quiet_missed = clients.wait_quiet(pid)
            log(
                f"  first batch: {acked_before} acknowledged, {short_before} sockets saw "
                f"a different count; all closed; second batch: {acked_missed} acknowledged; "
                f"quiet after {quiet_missed} s"
            )
            t0 = time.time() + 0.5
            cpu_before = clients.cpu_s(pid)
            answers = workers.ask(("storm", t0), args.storm_spread + args.storm_timeout + 120)
            cpu_storm = clients.cpu_s(pid) - cpu_before
            outcomes = [o for a in answers for o in a[0]]
            storm_failures = Counter()
            for a in answers:
                storm_failures.update(a[1])
            closing = workers.ask("end", 120)
        kinds, closes = Counter(), Counter()
        for k, c in closing:
            kinds.update(k)
            closes.update(c)
        caught = sorted(o[2] for o in outcomes if o[2] is not None)
        reopened = sorted(o[1] for o in outcomes if o[1] is not None)
        counts = Counter(o[3] for o in outcomes if o[2] is not None and o[3] is not None)
        mismatched = sum(v for n, v in counts.items() if n != args.storm_missed)
        result = {
            "sockets_wanted": total,
            "sockets": opened,
            "senders": sender_count,
            "senders_wanted": per_room * len(rooms),
            "open_failed_attempts": dict(failures),
            "before_acknowledged": acked_before,
            "before_expected": args.storm_before * len(rooms),
            "sockets_seeing_other_than_before": short_before,
            "missed_acknowledged": acked_missed,
            "missed_expected": args.storm_missed * len(rooms),
            "rate_limited_resends": rate_limited,
            "quiet_after_missed_s": quiet_missed,
            "reopened": len(reopened),
            "caught_up": len(caught),
            "t50_s": _round(clients.share_time(caught, 0.5, total)),
            "t99_s": _round(clients.share_time(caught, 0.99, total)),
            "t100_s": _round(clients.share_time(caught, 1.0, total)),
            "reopen_t99_s": _round(clients.share_time(reopened, 0.99, total)),
            "per_socket_catch_up": clients.ms_summary(
                [o[2] - o[0] for o in outcomes if o[2] is not None]
            ),
            "missed_counts": {str(n): v for n, v in sorted(counts.items())},
            "missed_mismatches": mismatched if target.protocol != "tiny" else None,
            "storm_failed_attempts": dict(storm_failures),
            "server_cpu_storm_s": round(cpu_storm, 2),
            "frames_by_type": dict(kinds),
            "closes_seen": dict(closes),
            "caught_up_times_s": [round(t, 3) for t in caught],
            "server": server.describe(),
        }
        log(
            f"  storm: {len(reopened)}/{total} reopened, {len(caught)} caught up; "
            f"50% {result['t50_s']} s, 99% {result['t99_s']} s, 100% {result['t100_s']} s "
            f"after the first reconnect; missed messages per socket {result['missed_counts']}; "
            f"failed attempts {dict(storm_failures)}; server CPU {result['server_cpu_storm_s']} s"
        )
        return result
    finally:
        server.stop()


def _round(value):
    return None if value is None else round(value, 2)


def markdown(report: dict) -> list[str]:
    res = report["results"][NAME]
    a = report["args"]
    lines = [
        f"### Reconnect storm: {a['storm_rooms']} rooms x {a['storm_members']} sockets "
        f"reconnect within {a['storm_spread']:g} s, {a['storm_missed']} messages per room "
        f"missed",
        "",
        "Times from the first reconnect. Caught up: project = `hello` then `sync` frames up "
        "to `complete` (the missed messages counted); socketio = its `room_history` event "
        "(the room's last 50 messages; the missed ones counted); naive, raw = the socket is "
        "open again (no catch-up: naive delivers none of the missed messages). A failed open "
        "is retried "
        "as PROTOCOL.md's clients do: exponential backoff from 0.5 s, at most 8 s, with "
        f"jitter, for up to {a['storm_timeout']:g} s after the last reconnect's start.",
        "",
        "| server | reopened | caught up | 50% s | 99% s | 100% s | per socket p50 / p99 ms "
        "| missed messages received | server CPU s | failed attempts |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for name, r in res.items():
        per = r["per_socket_catch_up"]
        if r["missed_mismatches"] is None:
            missed = "none: no catch-up" if name == "naive" else "n/a (stores nothing)"
        elif r["missed_mismatches"]:
            missed = f"{r['missed_mismatches']} sockets not {a['storm_missed']}: "
            missed += str(r["missed_counts"])
        else:
            missed = f"{a['storm_missed']} each"
        failed = clients.counts_text(r["storm_failed_attempts"])
        lines.append(
            f"| {name} | {r['reopened']}/{r['sockets_wanted']} | {r['caught_up']} | "
            f"{r['t50_s']} | {r['t99_s']} | {r['t100_s']} | {per['p50_ms']} / {per['p99_ms']} "
            f"| {missed} | {r['server_cpu_storm_s']} | {failed} |"
        )
    # A server that never got 99% caught up took longer than the whole window observed:
    # that window is a lower bound of its time, and a ratio against it an upper bound.
    observed = a["storm_spread"] + a["storm_timeout"]

    def t99_ratio(p, q) -> str:
        if p["t99_s"] is not None and q["t99_s"] is None:
            return (
                f"< {p['t99_s'] / observed:.2f} (it did not reach 99% in the {observed:g} s "
                "observed)"
            )
        return clients.ratio(p["t99_s"], q["t99_s"])

    if clients.project_names(res):
        lines.append("")
        lines.extend(
            clients.versus_lines(
                res,
                lambda p, q: (
                    f"time to 99% {t99_ratio(p, q)}, "
                    f"to 100% {clients.ratio(p['t100_s'], q['t100_s'])}, per socket p99 "
                    + clients.ratio(
                        p["per_socket_catch_up"]["p99_ms"], q["per_socket_catch_up"]["p99_ms"]
                    )
                ),
                target=TARGET,
                met=lambda p, q: (
                    p["t99_s"] is not None
                    and p["t99_s"] <= 0.25 * (q["t99_s"] if q["t99_s"] is not None else observed)
                ),
            )
        )
        if "naive" in res and res["naive"]["t99_s"]:
            # The last reconnect starts at ~spread s: nobody is caught up before that.
            floor = 0.99 * a["storm_spread"] / res["naive"]["t99_s"]
            lines.append(
                f"- Every server's time to 99% includes the schedule itself (99% of the "
                f"reconnects have started only by {0.99 * a['storm_spread']:.2f} s), so "
                f"project/naive cannot go below {floor:.2f} here while naive reopens sockets "
                "as fast as they arrive; the per-socket times (from each socket's own "
                "reconnect) show the work per socket."
            )
    odd = []
    for name, r in res.items():
        if r["sockets"] < r["sockets_wanted"] or r["senders"] < r["senders_wanted"]:
            odd.append(
                f"- {name}: before the storm, {r['sockets']}/{r['sockets_wanted']} sockets and "
                f"{r['senders']}/{r['senders_wanted']} senders opened"
            )
        if r["before_acknowledged"] < r["before_expected"] or r["sockets_seeing_other_than_before"]:
            odd.append(
                f"- {name}: first batch {r['before_acknowledged']}/{r['before_expected']} "
                f"acknowledged; {r['sockets_seeing_other_than_before']} sockets saw another count"
            )
        if r["missed_acknowledged"] < r["missed_expected"]:
            odd.append(
                f"- {name}: second batch {r['missed_acknowledged']}/{r['missed_expected']} "
                "acknowledged"
            )
    if odd:
        lines.extend(["", "Storm anomalies:", *odd])
    lines.append("")
    return lines


def plot(report: dict, path) -> bool:
    figure = clients.scenario_figure(report, NAME)
    if figure is None:
        return False
    plt, fig, ax, res = figure
    for name, r in res.items():
        times = r["caught_up_times_s"]
        total = r["sockets_wanted"]
        ax.step(
            [0.0, *times],
            [0.0, *(100 * (i + 1) / total for i in range(len(times)))],
            where="post",
            label=name,
        )
    spread = report["args"]["storm_spread"]
    ax.axvline(
        spread, color="grey", linestyle=":", linewidth=1, label=f"last reconnect ({spread:g} s)"
    )
    ax.axhline(99, color="grey", linestyle="--", linewidth=1, label="99%")
    return clients.save_figure(
        plt,
        fig,
        ax,
        path,
        title="Reconnect storm (project: hello + sync complete; others: open)",
        xlabel="seconds since the first reconnect",
        ylabel="sockets caught up, %",
        legend="lower right",
    )
