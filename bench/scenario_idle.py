"""Scenario 3, "idle": many sockets open in many rooms, nobody sending.

Per server: the time to open them all (sockets/s), the server's memory per open socket
(VmRSS of its processes after everything is open and settled, minus VmRSS just before
the first open, over the sockets open) and its CPU while idle (% of one core).
"""

import asyncio
import multiprocessing
import time
from collections import Counter

import clients
import loadgen
import servers

NAME = "idle"
SERVERS = (*servers.PROJECTS, *servers.REFERENCES)
TARGET = "project memory per socket <= 1/3 of naive's"


def add_arguments(parser) -> None:
    group = parser.add_argument_group("idle (scenario 3)")
    group.add_argument("--idle-rooms", type=int, default=None, help="full 100, short 10")
    group.add_argument("--idle-members", type=int, default=50, help="sockets per room")
    group.add_argument(
        "--idle-settle", type=float, default=None, help="s after quiet, before RSS (10; short 2)"
    )
    group.add_argument(
        "--idle-seconds", type=float, default=None, help="idle CPU window, s (20; short 10)"
    )
    group.add_argument(
        "--open-concurrency", type=int, default=100, help="opens in flight per client process"
    )


# Options left unset: (short run, full run).
DEFAULTS = {"idle_rooms": (10, 100), "idle_settle": (2.0, 10.0), "idle_seconds": (10.0, 20.0)}


def _rooms(args) -> list[str]:
    return [f"idle-{i}" for i in range(args.idle_rooms)]


async def _worker(wid: int, link, target, rooms, members, workers, concurrency, progress):
    mine = [(k, room) for k, room in enumerate(r for r in rooms for _ in range(members))][
        wid::workers
    ]
    sem = asyncio.Semaphore(concurrency)
    failures: Counter = Counter()
    kinds: Counter = Counter()
    closes: Counter = Counter()
    socks, tasks, never = [], set(), 0

    async def one(k, room):
        nonlocal never
        async with sem:
            opened = await clients.open_retrying(target, room, target.cookie(k), failures)
        if opened is None:
            never += 1
            return
        socks.append(opened[0])
        tasks.add(asyncio.create_task(clients.drain(opened[0], kinds, closes)))
        progress.value += 1

    await link.get()
    began = time.monotonic()
    await asyncio.gather(*(one(k, room) for k, room in mine))
    link.put((len(socks), never, dict(failures), time.monotonic() - began))
    await link.get()
    await clients.close_all(socks)
    await asyncio.wait(tasks, timeout=10)
    link.put((dict(kinds), dict(closes)))


async def _warm_up(target, room) -> None:
    # The first socket loads code and fills caches that every later socket shares.
    opened = await clients.open_retrying(target, room, target.cookie(0), Counter())
    if opened is not None:
        await opened[0].close()


def run(server_name: str, args, log) -> dict:
    rooms = _rooms(args)
    total = len(rooms) * args.idle_members
    server = servers.make(server_name)
    log(f"[idle] {server_name}: preparing ({total} sockets in {len(rooms)} rooms)")
    try:
        server.prepare(users=total, rooms=rooms)
        server.start()
        target = clients.Target.of(server, server.cookies(total))
        pid = server.pid
        loadgen.run_async(_warm_up(target, rooms[0]))
        clients.wait_quiet(pid)
        ctx = multiprocessing.get_context("fork")
        progress = [ctx.Value("i", 0, lock=False) for _ in range(args.workers)]
        curve = []
        rss_before = clients.rss_kib(pid)
        cpu_before = clients.cpu_s(pid)
        workers_args = (target, rooms, args.idle_members, args.workers, args.open_concurrency)
        with clients.Workers(args.workers, _worker_entry, workers_args, progress) as workers:
            began = time.monotonic()

            def sample():
                curve.append(
                    (
                        round(time.monotonic() - began, 2),
                        sum(p.value for p in progress),
                        clients.rss_kib(pid),
                    )
                )

            workers.send("open")
            answers = workers.recv(900, tick=sample, every=0.2)
            open_wall = time.monotonic() - began
            sample()
            opened = sum(a[0] for a in answers)
            never = sum(a[1] for a in answers)
            failures = Counter()
            for a in answers:
                failures.update(a[2])
            cpu_open = clients.cpu_s(pid) - cpu_before
            log(
                f"  {opened}/{total} sockets open in {open_wall:.1f} s "
                f"({opened / open_wall:.0f}/s), failed attempts {dict(failures)}, never {never}"
            )
            quiet = clients.wait_quiet(pid)
            time.sleep(args.idle_settle)
            rss_after = clients.rss_kib(pid)
            cpu_a = clients.cpu_s(pid)
            time.sleep(args.idle_seconds)
            idle_cpu = clients.cpu_s(pid) - cpu_a
            rss_end = clients.rss_kib(pid)
            closing = workers.ask("close", 120)
        kinds, closes = Counter(), Counter()
        for k, c in closing:
            kinds.update(k)
            closes.update(c)
        per_socket = (rss_after - rss_before) / opened if opened else None
        result = {
            "sockets_wanted": total,
            "sockets": opened,
            "never_opened": never,
            "failed_attempts": dict(failures),
            "open_seconds": round(open_wall, 2),
            "sockets_per_s": round(opened / open_wall, 1) if open_wall else None,
            "server_cpu_open_s": round(cpu_open, 2),
            "quiet_wait_s": quiet,
            "rss_before_kib": rss_before,
            "rss_after_kib": rss_after,
            "rss_after_idle_kib": rss_end,
            "kib_per_socket": None if per_socket is None else round(per_socket, 1),
            "idle_cpu_s": round(idle_cpu, 3),
            "idle_cpu_percent": round(100 * idle_cpu / args.idle_seconds, 2),
            "frames_by_type": dict(kinds),
            "closes_seen": dict(closes),
            "rss_curve": curve,
            "server": server.describe(),
        }
        log(
            f"  quiet after {quiet} s; RSS {rss_before / 1024:.1f} -> {rss_after / 1024:.1f} MiB "
            f"= {result['kib_per_socket']} KiB/socket; idle CPU {result['idle_cpu_percent']}% "
            f"of a core over {args.idle_seconds:g} s; frames {dict(kinds)}"
        )
        return result
    finally:
        server.stop()


def _worker_entry(wid, link, workers_args, progress):
    return _worker(wid, link, *workers_args, progress[wid])


def markdown(report: dict) -> list[str]:
    res = report["results"][NAME]
    a = report["args"]
    lines = [
        f"### Idle: {a['idle_rooms']} rooms x {a['idle_members']} sockets, nobody sending",
        "",
        f"Memory: VmRSS of the server after all sockets are open, it is quiet and "
        f"{a['idle_settle']:g} s more, minus VmRSS before the first open. Idle CPU over "
        f"{a['idle_seconds']:g} s, % of one core.",
        "",
        "| server | sockets open | open s | sockets/s | RSS before MiB | RSS after MiB "
        "| KiB / socket | idle CPU % | failed attempts |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, r in res.items():
        lines.append(
            f"| {name} | {r['sockets']}/{r['sockets_wanted']} | {r['open_seconds']} | "
            f"{r['sockets_per_s']} | {r['rss_before_kib'] / 1024:.1f} | "
            f"{r['rss_after_kib'] / 1024:.1f} | {r['kib_per_socket']} | "
            f"{r['idle_cpu_percent']} | {_failures(r)} |"
        )
    if clients.project_names(res):
        lines.append("")
        lines.extend(
            clients.versus_lines(
                res,
                lambda p, q: (
                    f"memory per socket {clients.ratio(p['kib_per_socket'], q['kib_per_socket'])}, "
                    f"idle CPU {clients.ratio(p['idle_cpu_s'], q['idle_cpu_s'])}, "
                    f"opening rate {clients.ratio(p['sockets_per_s'], q['sockets_per_s'])}"
                ),
                target=TARGET,
                met=lambda p, q: (
                    p["kib_per_socket"] is not None
                    and q["kib_per_socket"]
                    and p["kib_per_socket"] <= q["kib_per_socket"] / 3
                ),
            )
        )
    lines.append("")
    return lines


def _failures(r) -> str:
    counts = dict(r["failed_attempts"])
    if r["never_opened"]:
        counts["never opened"] = r["never_opened"]
    return clients.counts_text(counts)


def plot(report: dict, path) -> bool:
    figure = clients.scenario_figure(report, NAME)
    if figure is None:
        return False
    plt, fig, ax, res = figure
    for name, r in res.items():
        curve = r["rss_curve"]
        base = r["rss_before_kib"]
        ax.plot([c[1] for c in curve], [(c[2] - base) / 1024 for c in curve], label=name)
    return clients.save_figure(
        plt,
        fig,
        ax,
        path,
        title="Idle: server memory while the sockets open",
        xlabel="sockets open",
        ylabel="server RSS growth, MiB",
    )
