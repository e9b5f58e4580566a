"""An asyncio load generator for chat servers, on the `websockets` client (uvloop if present).

It opens `rooms x members` sockets, spread over several client processes, lets the
senders send at a given total rate for each step of a schedule, and measures the
end-to-end latency of every delivery: the sender writes time.time() into the message
body, each receiver computes time.time() - that on arrival (one machine, one clock).
With several processes of one server (`more_endpoints`, scale out), each room's sockets
are spread evenly over them, and the server's CPU is summed over their pids; the CPU of
the services they use (`service_pids`: Redis, PostgreSQL) is reported beside it.

Two protocols:
- "project": PROTOCOL.md; wait for `hello`, send `message.send` {client_id, body},
  receive `message.new` (every member, the sender included).
- "tiny": the peers' protocol (naive and raw); send {"type": "chat_message",
  "message": body}, receive {"type": "message", "message": body, ...} (raw echoes the
  frame it got, so the same marker is found in it).
- "socketio": the same messages as Socket.IO events over Engine.IO's WebSocket transport
  (socketio_wire.py): join the room in the connect packet's auth, send
  `42["chat_message", {"message": body}]`, receive `42["message", {...}]`, answer pings.

Usage against a server that is already running (run.py starts them for you):

    python bench/loadgen.py --url ws://127.0.0.1:8303/ws/chat/{room}/ --protocol tiny \
        --members 200 --rates 5,10,20 --seconds 10
"""

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import re
import resource
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import socketio_wire
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

# ~<step>~<send time>~ inside the body; found with a regex without decoding the frame.
MARKER = re.compile(r"~(\d+)~(\d+\.\d+)~")
CONNECT_CONCURRENCY = 20
DRAIN_QUIET = 1.5


@dataclass
class Plan:
    protocol: str  # "project", "tiny" or "socketio"
    url: str  # with "{room}"
    origin: str | None
    cookies: list  # Cookie headers, one per user; socket k uses cookies[k % len]
    rooms: list[str]
    members: int  # sockets per room
    senders: int  # senders per room (the first members of each room)
    steps: list[tuple[float, float]]  # (total msgs/s, seconds)
    gap: float = 2.0  # quiet seconds after each step (its late deliveries still count)
    drain: float = 5.0  # at most this long after the last step, until deliveries stop
    workers: int = 2
    pad: int = 40  # characters of filler in each body
    settle: float = 2.0  # wait after every socket is open, before the first step
    server_pid: int | None = None
    # Scale out: the other processes of the same application, as (url with "{room}",
    # origin) each, and their pids (the server's CPU is the sum over its processes).
    more_endpoints: list[tuple[str, str | None]] = field(default_factory=list)
    more_server_pids: list[int] = field(default_factory=list)
    # Processes the servers depend on, by name ({"Redis": pid}): their CPU is reported
    # beside the server's, children that exited included (a PostgreSQL backend each).
    service_pids: dict[str, int] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @property
    def server_pids(self) -> list[int]:
        return [*([self.server_pid] if self.server_pid else []), *self.more_server_pids]

    def sockets(self):
        """(socket index, room, cookie, is_sender, (url, origin)) for every socket.

        With several endpoints, socket k opens on endpoint (k // workers) % endpoints: each
        room's members (and so its senders) are spread evenly over the processes, and each
        client process has sockets on every one of them.
        """
        endpoints = [(self.url, self.origin), *self.more_endpoints]
        k = 0
        for room in self.rooms:
            for m in range(self.members):
                endpoint = endpoints[(k // self.workers) % len(endpoints)]
                yield k, room, self.cookies[k % len(self.cookies)], m < self.senders, endpoint
                k += 1

    @property
    def total_senders(self) -> int:
        return len(self.rooms) * min(self.senders, self.members)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def family_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process, of its children that exited (once waited for), and of its
    live descendants: all a server that forks a process per connection (PostgreSQL)
    spends, its short-lived backends included."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # cutime and cstime (fields 16 and 17): the children that exited and were waited for.
    total = (int(fields[13]) + int(fields[14])) / CLOCK_TICKS
    todo = [pid]
    while todo:
        p = todo.pop()
        with contextlib.suppress(OSError):
            total += cpu_seconds(p)
        todo.extend(children.get(p, []))
    return total


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _Worker:
    def __init__(self, wid: int, plan: Plan):
        self.wid = wid
        self.plan = plan
        self.mine = [s for s in plan.sockets() if s[0] % plan.workers == wid]
        self.socks: dict[int, object] = {}
        self.room_of: dict[int, str] = {}
        nsteps = len(plan.steps)
        self.latencies = [array("d") for _ in range(nsteps)]
        self.sent = [0] * nsteps
        self.send_lag = [0.0] * nsteps  # worst lateness of the sender's schedule, s
        self.errors: Counter = Counter()
        self.other_types: Counter = Counter()  # frames without a marker, by type
        self.closed: Counter = Counter()
        self.connect_failures: Counter = Counter()
        self.frames = 0
        self.last_delivery = 0.0
        self._tasks: set[asyncio.Task] = set()

    async def _open(self, k: int, room: str, cookie: str | None, endpoint, sem):
        url, origin = endpoint
        headers = {"Cookie": cookie} if cookie else None
        async with sem:
            try:
                ws = await connect(
                    url.format(room=room),
                    origin=origin,
                    additional_headers=headers,
                    compression=None,
                    max_queue=None,
                    ping_interval=None,
                    open_timeout=30,
                    max_size=2**22,
                )
            except Exception as exc:
                self.connect_failures[type(exc).__name__] += 1
                return
            if self.plan.protocol == "project":
                try:
                    first = json.loads(await asyncio.wait_for(ws.recv(), 30))
                except (ConnectionClosed, TimeoutError) as exc:
                    code = getattr(getattr(exc, "rcvd", None), "code", None)
                    self.connect_failures[f"no hello (close {code})"] += 1
                    return
                if first.get("type") != "hello":
                    self.connect_failures[f"first frame {first.get('type')}"] += 1
                    await ws.close()
                    return
            elif self.plan.protocol == "socketio":
                try:
                    await socketio_wire.join(ws, {"room": room, "username": f"u{k}"})
                except Exception as exc:
                    self.connect_failures[f"no Socket.IO connect ({type(exc).__name__})"] += 1
                    await ws.close()
                    return
        self.socks[k] = ws
        self.room_of[k] = room
        task = asyncio.get_running_loop().create_task(self._receive(ws))
        self._tasks.add(task)

    async def _receive(self, ws):
        latencies = self.latencies
        search = MARKER.search
        now = time.time
        socketio = self.plan.protocol == "socketio"
        try:
            async for raw in ws:
                self.frames += 1
                match = search(raw)
                if match is not None:
                    at = now()
                    latencies[int(match.group(1))].append(at - float(match.group(2)))
                    self.last_delivery = at
                elif socketio:
                    if raw == socketio_wire.PING:
                        await ws.send(socketio_wire.PONG)
                    self.other_types[socketio_wire.event_name(raw) or raw[:1]] += 1
                else:
                    with contextlib.suppress(ValueError, AttributeError):
                        frame = json.loads(raw)
                        kind = frame.get("type")
                        self.other_types[kind] += 1
                        if kind == "error":
                            self.errors[frame.get("code")] += 1
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else None
            self.closed[code] += 1

    def _frame(self, step: int, seq: int) -> str:
        body = f"~{step}~{time.time():.6f}~" + "x" * self.plan.pad
        if self.plan.protocol == "project":
            client_id = f"w{self.wid}-{step}-{seq}"
            return json.dumps({"type": "message.send", "client_id": client_id, "body": body})
        if self.plan.protocol == "socketio":
            return socketio_wire.event("chat_message", {"message": body})
        return json.dumps({"type": "chat_message", "message": body})

    async def _send_step(self, step: int, start: float, rate: float, seconds: float, senders):
        if not senders or rate <= 0:
            return
        my_rate = rate * len(senders) / self.plan.total_senders
        interval = 1.0 / my_rate
        count = round(seconds * my_rate)
        phase = interval * self.wid / self.plan.workers  # interleave the workers' sends
        for i in range(count):
            due = start + phase + i * interval
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                self.send_lag[step] = max(self.send_lag[step], -delay)
            ws = senders[i % len(senders)]
            with contextlib.suppress(ConnectionClosed):
                await ws.send(self._frame(step, i))
                self.sent[step] += 1

    async def run(self, conn):
        sem = asyncio.Semaphore(CONNECT_CONCURRENCY)
        opened = time.time()
        await asyncio.gather(*(self._open(k, room, c, e, sem) for k, room, c, _s, e in self.mine))
        conn.send(("ready", len(self.socks), dict(self.connect_failures), time.time() - opened))
        t0 = await asyncio.to_thread(conn.recv)
        senders = [self.socks[k] for k, _r, _c, s, _e in self.mine if s and k in self.socks]
        cpu_at: list[tuple[float, float]] = []
        start = t0
        for step, (rate, seconds) in enumerate(self.plan.steps):
            delay = start - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            cpu_at.append((time.time(), _cpu_self()))
            await self._send_step(step, start, rate, seconds, senders)
            start += seconds + self.plan.gap
        # Drain: wait until no delivery came for DRAIN_QUIET s, at most plan.drain s.
        end = start - self.plan.gap
        while time.time() < end + self.plan.drain:
            if time.time() - max(self.last_delivery, end) >= DRAIN_QUIET:
                break
            await asyncio.sleep(0.1)
        cpu_at.append((time.time(), _cpu_self()))
        for ws in self.socks.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 2)
        for task in self._tasks:
            task.cancel()
        conn.send(
            (
                "done",
                {
                    "sent": self.sent,
                    "send_lag": self.send_lag,
                    "latencies": [a.tobytes() for a in self.latencies],
                    "errors": dict(self.errors),
                    "other_types": dict(self.other_types),
                    "closed": {str(k): v for k, v in self.closed.items()},
                    "frames": self.frames,
                    "cpu_at": cpu_at,
                },
            )
        )


def run_async(coro):
    """Run a coroutine to completion on uvloop when it is installed, else on asyncio's loop."""
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    return runner(coro)


def _worker_main(wid: int, plan: Plan, conn):
    run_async(_Worker(wid, plan).run(conn))


def percentile(sorted_values, q: float):
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def run(plan: Plan, log=print) -> dict:
    """Run the plan; return per-step figures (latencies in ms)."""
    ctx = multiprocessing.get_context("fork")
    pipes, procs = [], []
    for wid in range(plan.workers):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker_main, args=(wid, plan, child), daemon=True)
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    total_time = sum(s for _r, s in plan.steps) + plan.gap * len(plan.steps) + plan.drain
    try:
        opened, failures, open_seconds = 0, Counter(), 0.0
        for pipe in pipes:
            if not pipe.poll(180):
                raise RuntimeError("a load worker did not open its sockets within 180 s")
            _tag, count, failed, seconds = pipe.recv()
            opened += count
            failures.update(failed)
            open_seconds = max(open_seconds, seconds)
        log(f"  {opened} sockets open in {open_seconds:.1f} s, failures {dict(failures)}")
        quiet_after = _wait_quiet(plan.server_pids)
        if quiet_after is not None:
            log(f"  server quiet (< {QUIET_CPU:.0%} CPU) {quiet_after:.1f} s after the last open")
        t0 = time.time() + plan.settle
        server_cpu_marks, service_cpu_marks = [], []
        for pipe in pipes:
            pipe.send(t0)
        # Sample the server's CPU at each step boundary.
        start = t0
        for _rate, seconds in plan.steps:
            _sleep_until(start)
            server_cpu_marks.append(_process_cpus(plan.server_pids))
            service_cpu_marks.append(_service_cpu(plan.service_pids))
            start += seconds + plan.gap
        _sleep_until(start - plan.gap)
        results = []
        for pipe in pipes:
            if not pipe.poll(total_time + 120):
                raise RuntimeError("a load worker did not finish in time")
            results.append(pipe.recv()[1])
        server_cpu_marks.append(_process_cpus(plan.server_pids))
        service_cpu_marks.append(_service_cpu(plan.service_pids))
    finally:
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
    summary = _summarize(
        plan, opened, dict(failures), open_seconds, results, server_cpu_marks, service_cpu_marks
    )
    summary["quiet_wait_s"] = None if quiet_after is None else round(quiet_after, 1)
    return summary


QUIET_CPU = 0.10
QUIET_MAX_SECONDS = 120


def _wait_quiet(pid: int | list[int] | None, window: float = 1.0) -> float | None:
    """Wait until the server's processes use < QUIET_CPU of a core together over `window` s
    (the work of the connections, e.g. presence broadcasts, is done); return the seconds
    waited."""
    if not pid:
        return None
    began = time.monotonic()
    while time.monotonic() - began < QUIET_MAX_SECONDS:
        before = _server_cpu(pid)
        time.sleep(window)
        after = _server_cpu(pid)
        if before is None or after is None or after - before < QUIET_CPU * window:
            break
    return time.monotonic() - began


def _sleep_until(when: float):
    delay = when - time.time()
    if delay > 0:
        time.sleep(delay)


def _server_cpu(pid: int | list[int] | None) -> float | None:
    """CPU seconds of the server's process, or the sum over its processes; None if one of
    them cannot be read (it exited)."""
    if not pid:
        return None
    try:
        return sum(cpu_seconds(p) for p in ([pid] if isinstance(pid, int) else pid))
    except OSError:
        return None


def _process_cpus(pids: list[int]) -> list[float] | None:
    """CPU seconds of each of the server's processes; None if one cannot be read."""
    try:
        return [cpu_seconds(p) for p in pids] if pids else None
    except OSError:
        return None


def _service_cpu(pids: dict[str, int]) -> dict[str, float | None]:
    """CPU seconds of each service process with its children (None: it cannot be read)."""
    found = {}
    for name, pid in pids.items():
        try:
            found[name] = family_cpu_seconds(pid)
        except OSError:
            found[name] = None
    return found


def _summarize(
    plan, opened, failures, open_seconds, results, server_cpu_marks, service_cpu_marks
) -> dict:
    steps = []
    errors, closed, other = Counter(), Counter(), Counter()
    for r in results:
        errors.update(r["errors"])
        other.update(r["other_types"])
        closed.update(r["closed"])
    for i, (rate, seconds) in enumerate(plan.steps):
        lat = array("d")
        for r in results:
            lat.frombytes(r["latencies"][i])
        ordered = sorted(lat)
        sent = sum(r["sent"][i] for r in results)
        expected = sent * plan.members
        # CPU from this step's start to the next step's start (includes the gap), or to
        # the end of the drain for the last step; per process, then summed.
        by_process = None
        if i + 1 < len(server_cpu_marks) and None not in server_cpu_marks[i : i + 2]:
            start, end = server_cpu_marks[i], server_cpu_marks[i + 1]
            by_process = [b - a for a, b in zip(start, end, strict=True)]
        cpu = None if by_process is None else sum(by_process)
        services = _step_services(service_cpu_marks, i, len(ordered))
        client_cpu = []
        for r in results:
            marks = r["cpu_at"]
            (ta, ca), (tb, cb) = marks[i], marks[i + 1]
            client_cpu.append(round((cb - ca) / max(tb - ta, 1e-9), 2))
        step = {
            "offered_rate": rate,
            "seconds": seconds,
            "sent": sent,
            "sent_rate": round(sent / seconds, 2),
            "expected_deliveries": expected,
            "deliveries": len(ordered),
            "delivered_ratio": round(len(ordered) / expected, 4) if expected else None,
            "deliveries_per_s": round(len(ordered) / seconds, 1),
            "p50_ms": _ms(percentile(ordered, 50)),
            "p99_ms": _ms(percentile(ordered, 99)),
            "max_ms": _ms(ordered[-1] if ordered else None),
            "sender_lag_max_ms": _ms(max(r["send_lag"][i] for r in results)),
            "server_cpu_s": None if cpu is None else round(cpu, 2),
            "server_cpu_s_per_1000_deliveries": (
                round(cpu / len(ordered) * 1000, 3) if cpu is not None and ordered else None
            ),
            "client_cpu_utilization": client_cpu,
        }
        if by_process and len(by_process) > 1:
            step["server_cpu_s_by_process"] = [round(c, 2) for c in by_process]
        step.update(services)
        steps.append(step)
    return {
        "sockets": opened,
        "sockets_wanted": len(plan.rooms) * plan.members,
        "connect_failures": failures,
        "connect_seconds": round(open_seconds, 2),
        "errors": dict(errors),
        "closes": dict(closed),
        "unmarked_frames_by_type": dict(other),
        "frames_received": sum(r["frames"] for r in results),
        "steps": steps,
    }


def _step_services(marks: list[dict], i: int, deliveries: int) -> dict:
    """Step i's CPU of the services (same span as the server's), per service and per 1,000
    deliveries of the step; nothing when there are no services."""
    if i + 1 >= len(marks) or not marks[i]:
        return {}
    spent = {}
    for name, start in marks[i].items():
        end = marks[i + 1].get(name)
        spent[name] = None if start is None or end is None else round(end - start, 2)
    known = [s for s in spent.values() if s is not None]
    per_1000 = None
    if deliveries and len(known) == len(spent):
        per_1000 = round(sum(known) / deliveries * 1000, 3)
    return {"services_cpu_s": spent, "services_cpu_s_per_1000_deliveries": per_1000}


def _ms(seconds):
    return None if seconds is None else round(seconds * 1000, 2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="ws URL with {room}")
    parser.add_argument("--protocol", choices=["project", "tiny", "socketio"], default="tiny")
    parser.add_argument("--origin", default=None)
    parser.add_argument("--cookie", action="append", default=[], help="Cookie header, repeatable")
    parser.add_argument("--rooms", type=int, default=1)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--senders", type=int, default=None, help="per room; default all")
    parser.add_argument("--rates", default="5,10,20", help="total msgs/s per step")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    plan = Plan(
        protocol=args.protocol,
        url=args.url,
        origin=args.origin,
        cookies=args.cookie or [None],
        rooms=[f"bench-{i}" for i in range(args.rooms)],
        members=args.members,
        senders=args.senders or args.members,
        steps=[(float(r), args.seconds) for r in args.rates.split(",")],
        workers=args.workers,
    )
    print(json.dumps(run(plan), indent=1))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
