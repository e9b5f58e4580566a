"""What scenarios 3-5 share: client processes stepped through phases, socket opening with
retries, and readings of the server's memory and CPU from /proc.

Each scenario forks `Workers` (like loadgen.run: same machine, same cores as the server),
each running one coroutine on its own event loop (uvloop when installed); the parent
sends each phase's command down a pipe and collects one answer per worker.
"""

import asyncio
import contextlib
import json
import math
import multiprocessing
import random
import re
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import loadgen
import servers
import socketio_wire
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

OPEN_TIMEOUT = 60.0
# Waits between the attempts to open one socket: a failed open is retried this many times.
RETRY_DELAYS = (0.5, 1.0)
BACKOFF_MAX = 8.0
TYPE = re.compile(r'"type"\s*:\s*"([^"]+)"')


@dataclass
class Target:
    """Where and how a client reaches one server."""

    protocol: str  # "project", "tiny" or "socketio"
    url: str  # with "{room}"
    origin: str
    cookies: list  # Cookie headers (one per user), or [None]

    @classmethod
    def of(cls, server, cookies: list) -> "Target":
        return cls(server.protocol, server.ws_url("{room}"), server.origin, cookies)

    def cookie(self, k: int) -> str | None:
        """The Cookie header of socket k: its own user when there are enough, else shared."""
        return self.cookies[k % len(self.cookies)]


class OpenFailed(Exception):
    """The socket opened but was refused or closed before its `hello`."""


async def open_socket(
    target: Target, room: str, cookie: str | None, query: str = "", username: str = "u"
):
    """Open one socket; for the project, wait for its `hello`; for Socket.IO, join `room`
    as `username`. Return (socket, hello), (socket, socketio_wire.join()'s answer) or
    (socket, None)."""
    headers = {"Origin": target.origin}
    if cookie:
        headers["Cookie"] = cookie
    ws = await connect(
        target.url.format(room=room) + query,
        additional_headers=headers,
        compression=None,
        max_queue=None,
        ping_interval=None,
        open_timeout=OPEN_TIMEOUT,
        close_timeout=5,
        max_size=2**22,
        proxy=None,
    )
    if target.protocol == "socketio":
        try:
            joined = await socketio_wire.join(
                ws, {"room": room, "username": username}, OPEN_TIMEOUT
            )
        except ConnectionClosed as exc:
            raise OpenFailed(f"closed {exc.rcvd.code if exc.rcvd else None} before 40") from None
        except (TimeoutError, socketio_wire.Refused, socketio_wire.WireError) as exc:
            await ws.close()
            raise OpenFailed(f"no Socket.IO connect: {type(exc).__name__}") from None
        return ws, joined
    if target.protocol != "project":
        return ws, None
    try:
        first = json.loads(await asyncio.wait_for(ws.recv(), OPEN_TIMEOUT))
    except ConnectionClosed as exc:
        raise OpenFailed(f"closed {exc.rcvd.code if exc.rcvd else None} before hello") from None
    except TimeoutError:
        await ws.close()
        raise OpenFailed("no hello in time") from None
    if first.get("type") != "hello":
        await ws.close()
        raise OpenFailed(f"first frame {first.get('type')}")
    return ws, first


def failure_reason(exc: Exception) -> str:
    if isinstance(exc, InvalidStatus):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, OpenFailed):
        return str(exc)
    return type(exc).__name__


async def open_retrying(
    target: Target, room: str, cookie, failures: Counter, query: str = "", until=None
):
    """Open a socket, retrying a failed attempt; count every failed attempt by reason.

    Without `until`: RETRY_DELAYS. With it (a time.time()): as PROTOCOL.md's clients do,
    exponential backoff with jitter (0.5 s doubling, at most BACKOFF_MAX) until then.
    Return (socket, hello) or None when every attempt failed.
    """
    attempt = 0
    while True:
        try:
            return await open_socket(target, room, cookie, query)
        except Exception as exc:
            failures[failure_reason(exc)] += 1
        if until is None:
            if attempt >= len(RETRY_DELAYS):
                return None
            delay = RETRY_DELAYS[attempt]
        else:
            delay = min(BACKOFF_MAX, 0.5 * 2**attempt) * random.uniform(0.5, 1.5)
            if time.time() + delay >= until:
                return None
        attempt += 1
        await asyncio.sleep(delay)


async def drain(ws, kinds: Counter, closes: Counter, on_frame=None) -> None:
    """Read a socket until it closes, counting frames by type (and passing them on);
    answer Engine.IO's pings (a Socket.IO server closes a socket that does not)."""
    try:
        async for raw in ws:
            if raw == socketio_wire.PING:
                await ws.send(socketio_wire.PONG)
                kinds["ping"] += 1
                continue
            match = TYPE.search(raw, 0, 80)
            kinds[match.group(1) if match else "?"] += 1
            if on_frame is not None:
                on_frame(raw)
    except ConnectionClosed as exc:
        closes[str(exc.rcvd.code if exc.rcvd else None)] += 1


async def close_all(sockets, concurrency: int = 200) -> None:
    """Close sockets from the client side, a bounded number at a time."""
    sem = asyncio.Semaphore(concurrency)

    async def close(ws):
        async with sem:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 10)

    await asyncio.gather(*(close(ws) for ws in sockets))


class Link:
    """The worker's end of its pipe to the parent."""

    def __init__(self, conn):
        self.conn = conn

    async def get(self):
        return await asyncio.to_thread(self.conn.recv)

    def put(self, message) -> None:
        self.conn.send(message)


def _worker_main(func, wid: int, conn, args) -> None:
    try:
        loadgen.run_async(func(wid, Link(conn), *args))
    except BaseException:
        conn.send(("failed", traceback.format_exc()))
        raise


class Workers:
    """Client processes (fork) running `func(wid, link, *args)`, stepped by the parent."""

    def __init__(self, count: int, func, *args):
        ctx = multiprocessing.get_context("fork")
        self.pipes, self.procs = [], []
        for wid in range(count):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker_main, args=(func, wid, child, args), daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for proc in self.procs:
            proc.join(15)
            if proc.is_alive():
                proc.kill()
                proc.join(5)

    def send(self, message) -> None:
        for pipe in self.pipes:
            pipe.send(message)

    def recv(self, timeout: float, tick=None, every: float = 0.5) -> list:
        """One answer from each worker, within `timeout` s; call tick() every `every` s."""
        deadline = time.monotonic() + timeout
        answers = [None] * len(self.pipes)
        waiting = set(range(len(self.pipes)))
        while waiting:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"client workers {sorted(waiting)} gave no answer in {timeout} s"
                )
            for i in sorted(waiting):
                if self.pipes[i].poll(every / len(self.pipes)):
                    answer = self.pipes[i].recv()
                    if isinstance(answer, tuple) and answer and answer[0] == "failed":
                        raise RuntimeError(f"client worker {i} failed:\n{answer[1]}")
                    answers[i] = answer
                    waiting.discard(i)
            if tick is not None:
                tick()
        return answers

    def ask(self, message, timeout: float, tick=None) -> list:
        self.send(message)
        return self.recv(timeout, tick)


# --- the server's processes ------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """The pid and all its descendants."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    return tree


def rss_kib(pid: int) -> int:
    """VmRSS of the process and its descendants, KiB (/proc/<pid>/status)."""
    total = 0
    for p in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of the process and its descendants."""
    total = 0.0
    for p in process_tree(pid):
        with contextlib.suppress(OSError):
            total += loadgen.cpu_seconds(p)
    return total


def wait_quiet(pid: int) -> float:
    """Wait until the server is under 10% of a core over 0.5 s; return the seconds waited."""
    return round(loadgen._wait_quiet(pid, window=0.5) or 0.0, 1)


def ms_summary(seconds: list[float]) -> dict:
    """p50, p99 and max of durations in seconds, in ms."""
    ordered = sorted(seconds)
    return {
        "count": len(ordered),
        "p50_ms": loadgen._ms(loadgen.percentile(ordered, 50)),
        "p99_ms": loadgen._ms(loadgen.percentile(ordered, 99)),
        "max_ms": loadgen._ms(ordered[-1] if ordered else None),
    }


def share_time(times: list[float], share: float, total: int) -> float | None:
    """The time by which `share` of `total` things had happened, or None if they never did."""
    need = math.ceil(share * total)
    ordered = sorted(times)
    if need == 0 or len(ordered) < need:
        return None
    return ordered[need - 1]


def counts_text(counts: dict) -> str:
    """Write counts by kind ({"HTTP 403": 2}) as "HTTP 403: 2, ...", or "none"."""
    return ", ".join(f"{kind}: {n}" for kind, n in counts.items()) or "none"


def ratio(a, b) -> str:
    if a is None or b is None or b == 0:
        return "n/a"
    return f"{a / b:.2f}"


def verdict(target: str, met) -> str:
    return f"target: {target}: {'met' if met else 'NOT met'}"


def project_names(res: dict) -> list[str]:
    """The project's runs among a scenario's results (on each ASGI server), in order."""
    return [name for name in servers.PROJECTS if name in res]


def versus_lines(res: dict, describe, *, target: str, met) -> list[str]:
    """One "- <project>/<other>: ..." line per project run and reference server that ran;
    naive's with the target's verdict. `describe(p, q)` and `met(p, q)` take the two
    servers' results."""
    lines = []
    for name in project_names(res):
        p = res[name]
        for other in servers.REFERENCES:
            if other in res:
                q = res[other]
                line = f"- {name}/{other}: {describe(p, q)}"
                if other == "naive":
                    line += f" ({verdict(target, met(p, q))})"
                lines.append(line)
    return lines


def matplotlib_pyplot():
    """pyplot on the Agg backend, or None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def scenario_figure(report: dict, name: str):
    """(pyplot, figure, axes, the scenario's results), or None without matplotlib or results."""
    plt = matplotlib_pyplot()
    res = report["results"].get(name)
    if plt is None or not res:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    return plt, fig, ax, res


def save_figure(plt, fig, ax, path, *, title: str, xlabel: str, ylabel: str, legend="best"):
    """Label, grid and legend the axes, write the PNG, free the figure."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc=legend)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
