"""Scenario 7, "soak": sockets joining and leaving for a long time, then quiet; does the
server give back what it took?

The project only (the peers keep no rooms, presence or notifications to leak): one
server process on the embedded default (SQLite, the in-process layer), or with
--soak-scale-out several (--soak-processes, 2) on PostgreSQL + Redis, as production runs
(`eval "$(.ci/services.sh start)"` first: DATABASE_URL and REDIS_URL name the servers;
the soak makes a database of its own there and uses Redis database 11, emptied before
and after).

Before the server starts: --soak-users users, --soak-rooms public rooms, each user a
member of --soak-memberships of them. Then, for --soak-minutes, soak_load.py opens
--soak-opens sockets in all (tabs and room sockets, about --soak-sockets open at once),
sends messages and `typing` at a steady rate, and closes every socket at the end; then
nothing at all for the quiet period.

Every --soak-sample-seconds the driver reads, per server process, from /proc: VmRSS,
open file descriptors, threads and CPU; and from its /metrics (served to loopback
without a token: ops/scrape.py, OPS_METRICS_ALLOW) the database thread's queue
(`chat_database_thread_queue`) and the sockets open. The verdict per process: after the
warm-up, the level of RSS and fds (the median of the first samples under load); at the
end of the quiet period both must be no more than 10% above it; the queue must not grow
(its median over the last quarter of the load no more than 1 above that of the first
quarter after the warm-up, and 0 at the end).
"""

import statistics
import time
from collections import Counter

import clients
import loadgen
import servers
import soak_load
import soak_servers
from soak_servers import Deployment, Sampler

NAME = "soak"
# Every way the harness runs the project (the ASGI servers under it).
SERVERS = tuple(name for name in servers.SERVERS if name.startswith("project"))
TOLERANCE = 0.10


def add_arguments(parser) -> None:
    group = parser.add_argument_group("soak (scenario 7; not in the default --scenarios)")
    group.add_argument("--soak-minutes", type=float, default=None, help="load phase (20; short 2)")
    group.add_argument(
        "--soak-opens", type=int, default=None, help="sockets opened in all (100,000; short 3,000)"
    )
    group.add_argument("--soak-sample-seconds", type=float, default=10.0)
    group.add_argument("--soak-sockets", type=int, default=1000, help="open at once, on average")
    group.add_argument("--soak-users", type=int, default=500)
    group.add_argument("--soak-rooms", type=int, default=50)
    group.add_argument("--soak-memberships", type=int, default=3, help="rooms per user")
    group.add_argument("--soak-tab-share", type=float, default=0.5, help="opens that are tabs")
    group.add_argument("--soak-rate", type=float, default=4.0, help="messages a second in all")
    group.add_argument("--soak-typing-rate", type=float, default=8.0, help="`typing` a second")
    group.add_argument(
        "--soak-warmup-minutes",
        type=float,
        default=None,
        help="(default: 10%% of the load, at least two socket lifetimes, at most half)",
    )
    group.add_argument(
        "--soak-quiet-minutes", type=float, default=None, help="(default: load / 4, 0.5 to 3)"
    )
    group.add_argument("--soak-scale-out", action="store_true", help="PostgreSQL + Redis")
    group.add_argument("--soak-processes", type=int, default=2, help="with --soak-scale-out")
    group.add_argument("--soak-open-concurrency", type=int, default=100, help="per client process")
    group.add_argument(
        "--soak-env", action="append", default=[], help="KEY=VALUE for the server (repeatable)"
    )


# Options left unset: (short run, full run).
DEFAULTS = {"soak_minutes": (2.0, 20.0), "soak_opens": (3000, 100_000)}


def plan(args) -> dict:
    """The load's shape and the phases' lengths, in seconds."""
    load_s = args.soak_minutes * 60
    open_rate = args.soak_opens / load_s
    lifetime = args.soak_sockets / open_rate
    if args.soak_warmup_minutes is not None:
        warmup = args.soak_warmup_minutes * 60
    else:
        warmup = min(load_s / 2, max(load_s / 10, 2 * lifetime))
    if args.soak_quiet_minutes is not None:
        quiet = args.soak_quiet_minutes * 60
    else:
        quiet = max(30.0, min(180.0, load_s / 4))
    return {
        "load_s": load_s,
        "warmup_s": round(warmup, 1),
        "quiet_s": round(quiet, 1),
        "open_rate": round(open_rate, 2),
        "lifetime_s": round(lifetime, 2),
    }


# --- the run ----------------------------------------------------------------------------


def run(server_name: str, args, log) -> dict:
    missing = Deployment.missing(args)
    if missing:
        log(f"[soak] {server_name}: not run: {missing}")
        return {"skipped": missing}
    phases = plan(args)
    deployment = Deployment(server_name, args)
    log(
        f"[soak] {server_name} ({deployment.describe()['mode']}, {len(deployment.servers)} "
        f"process(es)): {args.soak_opens} opens over {phases['load_s']:g} s "
        f"({phases['open_rate']}/s, lifetime ~{phases['lifetime_s']} s for ~{args.soak_sockets} "
        f"open), warm-up {phases['warmup_s']} s, quiet {phases['quiet_s']} s"
    )
    try:
        deployment.prepare(args)
        deployment.start()
        loadgen.run_async(soak_servers.warm_up(deployment))
        for _label, pid, _port in deployment.processes():
            clients.wait_quiet(pid)
        shape = {
            "workers": args.workers,
            "seed": 7,
            "rooms": deployment.rooms,
            "cookies": deployment.cookies,
            "memberships": args.soak_memberships,
            "ports": [port for _label, _pid, port in deployment.processes()],
            "open_concurrency": args.soak_open_concurrency,
            "open_rate": phases["open_rate"],
            "lifetime_s": phases["lifetime_s"],
            "tab_share": args.soak_tab_share,
            "reader_share": 0.1,
            "since_share": 0.25,
            "switch_share": 0.3,
            "message_rate": args.soak_rate,
            "typing_rate": args.soak_typing_rate,
            "mention_share": 0.2,
            "markdown_share": 0.3,
            "here_share": 0.02,
            "room_share": 0.01,
            "close_timeout": 120.0,
        }
        sampler = Sampler(
            deployment.processes(), args.soak_sample_seconds, phases, log, deployment.peer_names()
        )
        with clients.Workers(args.workers, soak_load.worker, shape) as workers:
            t0 = time.time() + 2.0
            sampler.start(t0)
            sampler.take()  # before: the server warmed up, no load yet
            workers.send(("load", t0, t0 + phases["load_s"]))
            answers = workers.recv(phases["load_s"] + 300, tick=sampler.tick, every=0.5)
            phases["closed_s"] = round(time.time() - t0, 1)
            log(f"  every socket closed at {phases['closed_s']} s; quiet for {phases['quiet_s']} s")
            quiet_end = time.time() + phases["quiet_s"]
            while time.time() < quiet_end:
                sampler.tick()
                time.sleep(min(0.5, max(0.0, quiet_end - time.time())))
            sampler.take()  # the end of the quiet period
            messages = {}
            for answer in answers:
                messages.update(answer.pop("messages"))
            accounts = workers.ask(("account", messages), 600)
        result = _result(answers, accounts, args, phases, sampler)
        result.update(deployment.describe())
        result["server_logs"] = deployment.logs()
        _log_result(result, log)
        return result
    finally:
        deployment.stop()


def _result(answers, accounts, args, phases, sampler) -> dict:
    counts: Counter = Counter()
    merged = {key: Counter() for key in ("open_failures", "server_closes", "errors", "refused")}
    frames: Counter = Counter()
    for answer in answers:
        counts.update(answer["counts"])
        frames.update(answer["frames_by_type"])
        for key, counter in merged.items():
            counter.update(answer[key])
    open_seconds = [s for answer in answers for s in answer.pop("open_seconds")]
    expected = sum(a["expected"] for a in accounts)
    received = sum(a["received"] for a in accounts)
    verdicts = {
        label: verdict(rows, phases, args.soak_sample_seconds)
        for label, rows in sampler.samples.items()
    }
    return {
        "phases": phases,
        "opens_target": args.soak_opens,
        "opens_attempted": counts["opens_attempted"],
        "opens_completed": counts["opens_completed"],
        "opens_not_started": counts["opens_not_started"],
        "open_failures": dict(merged["open_failures"]),
        "server_closes": dict(merged["server_closes"]),
        "open": clients.ms_summary(open_seconds),
        "lag_max_s": {
            key: max(a["lag_max_s"][key] for a in answers) for key in answers[0]["lag_max_s"]
        },
        "messages_sent": counts["messages_sent"],
        "messages_acknowledged": sum(a["messages_acknowledged"] for a in answers),
        "messages_refused": dict(merged["refused"]),
        "bodies": {k[7:]: v for k, v in counts.items() if k.startswith("bodies_")},
        "deliveries": counts["deliveries"],
        "duplicate_deliveries": counts["duplicate_deliveries"],
        "deliveries_expected": expected,
        "deliveries_expected_received": received,
        "missing_examples": [m for a in accounts for m in a["missing_examples"]][:10],
        "typing_sent": counts["typing_sent"],
        "reads_sent": counts["reads_sent"],
        "view_switches": counts["view_switches"],
        "send_failures": counts["send_failures"],
        "sends_skipped": counts["sends_skipped"],
        "errors": dict(merged["errors"]),
        "frames_by_type": dict(frames),
        "closing_s": max(a["closing_s"] for a in answers),
        "client_cpu_s": [a["client_cpu_s"] for a in answers],
        "scrape_failures": dict(sampler.scrape_failures),
        "samples": sampler.samples,
        "verdicts": verdicts,
    }


def verdict(rows: list[dict], phases: dict, every: float) -> dict:
    """The levels after the warm-up and at the end of the quiet period, and the verdicts."""
    load = [r for r in rows if r["phase"] == "load"]
    window = [r for r in load if r["t"] < phases["warmup_s"] + 3 * every] or load[:1]
    before, end = rows[0], rows[-1]
    out = {}
    for key in ("rss_kib", "fds"):
        level = statistics.median(r[key] for r in window) if window else None
        out[key] = {
            "before": before[key],
            "level": level,
            "max": max(r[key] for r in rows),
            "end_of_load": load[-1][key] if load else None,
            "end": end[key],
            "end_over_level": round(end[key] / level, 3) if level else None,
            "ok": bool(level) and end[key] <= (1 + TOLERANCE) * level,
        }
    out["fd_kinds"] = {
        "before": before.get("fd_kinds"),
        "end_of_load": load[-1].get("fd_kinds") if load else None,
        "end": end.get("fd_kinds"),
    }
    # With no socket open, fds should be back to where they were before the load: what
    # is left over, by kind (not the verdict, which compares with the level under load).
    kinds_before, kinds_end = before.get("fd_kinds") or {}, end.get("fd_kinds") or {}
    out["fds"]["left_over"] = end["fds"] - before["fds"]
    out["fds"]["left_over_by_kind"] = {
        kind: n - kinds_before.get(kind, 0)
        for kind, n in kinds_end.items()
        if n != kinds_before.get(kind, 0)
    }
    out["threads"] = {
        "before": before["threads"],
        "max": max(r["threads"] for r in rows),
        "end": end["threads"],
    }
    busy = [r["cpu_pct"] for r in load if r["cpu_pct"] is not None]
    out["cpu_pct_load_mean"] = round(statistics.fmean(busy), 1) if busy else None
    queue = [r["queue"] for r in load if r["queue"] is not None]
    if queue:
        quarter = max(1, len(queue) // 4)
        first, last = statistics.median(queue[:quarter]), statistics.median(queue[-quarter:])
        out["queue"] = {
            "max": max(r["queue"] for r in rows if r["queue"] is not None),
            "first_quarter_median": first,
            "last_quarter_median": last,
            "last_of_load": queue[-3:],
            "end": end["queue"],
            "ok": last <= first + 1 and end["queue"] == 0,
        }
    else:
        out["queue"] = {"ok": None, "max": None, "last_of_load": [], "end": end.get("queue")}
    return out


def _log_result(r: dict, log) -> None:
    log(
        f"  opens {r['opens_completed']}/{r['opens_target']} (attempted {r['opens_attempted']}), "
        f"failed attempts {r['open_failures']}, closed by the server {r['server_closes']}; "
        f"open p50 {r['open']['p50_ms']} ms p99 {r['open']['p99_ms']} ms; lag {r['lag_max_s']}"
    )
    log(
        f"  messages sent {r['messages_sent']}, acknowledged {r['messages_acknowledged']}, "
        f"refused {r['messages_refused']}; deliveries {r['deliveries']}, of the expected "
        f"{r['deliveries_expected_received']}/{r['deliveries_expected']}; typing "
        f"{r['typing_sent']}; errors {r['errors']}; client CPU {r['client_cpu_s']} s"
    )
    for label, v in r["verdicts"].items():
        log(f"  {label}: {_verdict_text(v)}")
    for label, found in r["server_logs"].items():
        if found["tracebacks"] or found["exceptions_inside_application"]:
            log(f"  {label}: {found['tracebacks']} tracebacks in the server's log")


# --- the report -------------------------------------------------------------------------


def _mib(kib) -> str:
    return "n/a" if kib is None else f"{kib / 1024:.1f}"


def _verdict_text(v: dict) -> str:
    rss, fds, queue = v["rss_kib"], v["fds"], v["queue"]
    return (
        f"RSS {_mib(rss['level'])} MiB after warm-up, {_mib(rss['end'])} at the end "
        f"({_met(rss['ok'])}); fds {fds['level']} -> {fds['end']} ({_met(fds['ok'])}; "
        f"{fds['left_over']:+d} over before the load: {fds['left_over_by_kind']}); "
        f"queue max {queue['max']}, last of load {queue['last_of_load']}, end {queue['end']} "
        f"({_met(queue['ok'])})"
    )


def _met(ok) -> str:
    return "n/a" if ok is None else "met" if ok else "NOT met"


def markdown(report: dict) -> list[str]:
    res = report["results"][NAME]
    a = report["args"]
    lines = [
        f"### Soak: {a['soak_opens']:,} opens over {a['soak_minutes']:g} min "
        f"(~{a['soak_sockets']:,} sockets open at once, {a['soak_users']} users, "
        f"{a['soak_rooms']} rooms), {a['soak_rate']:g} messages/s, then quiet",
        "",
    ]
    ran = {name: r for name, r in res.items() if "skipped" not in r}
    for name, r in res.items():
        if "skipped" in r:
            lines.append(f"- {name}: not run: {r['skipped']}")
    if not ran:
        return [*lines, ""]
    some = next(iter(ran.values()))
    p = some["phases"]
    lines += [
        f"Tabs (`/ws/`, `view` of a room) and room sockets (`/ws/rooms/<slug>/`) "
        f"({100 * a['soak_tab_share']:.0f}% tabs), each open for ~{p['lifetime_s']:g} s "
        f"(0.5 to 1.5 times), 90% in a room of their user; messages from members (20% "
        f"mentioning one, 30% Markdown, a few @here and @room), {a['soak_typing_rate']:g} "
        f"`typing`/s. Warm-up {p['warmup_s']:g} s, quiet {p['quiet_s']:g} s; sampled every "
        f"{a['soak_sample_seconds']:g} s. Level: the median of the samples of the "
        f"{3 * a['soak_sample_seconds']:g} s after the warm-up; verdict: the end of the quiet "
        f"period no more than {100 * TOLERANCE:.0f}% above it; the database thread's queue "
        "not growing (median of the load's last quarter <= that of its first + 1) and 0 "
        "at the end. Delivered: each socket's messages of its room sent after it was ready "
        f"and acknowledged {soak_load.GRACE:g} s before it closed.",
        "",
        "| server | mode | opens done / target | failed attempts | closed by server "
        "| open p50 / p99 ms | messages sent / acknowledged | deliveries: expected received "
        "| log tracebacks |",
        "|---|---|---:|---|---|---:|---:|---:|---:|",
    ]
    for name, r in ran.items():
        traces = sum(f["tracebacks"] for f in r["server_logs"].values())
        lines.append(
            f"| {name} | {r['mode']} ({len(r['processes'])} process"
            f"{'es' if len(r['processes']) > 1 else ''}, {r['database']}, {r['layer']}) | "
            f"{r['opens_completed']:,} / {r['opens_target']:,} | "
            f"{clients.counts_text(r['open_failures'])} | "
            f"{clients.counts_text(r['server_closes'])} | "
            f"{r['open']['p50_ms']} / {r['open']['p99_ms']} | "
            f"{r['messages_sent']:,} / {r['messages_acknowledged']:,} | "
            f"{r['deliveries_expected_received']:,} / {r['deliveries_expected']:,} | {traces} |"
        )
    lines += [
        "",
        "| process | RSS MiB: before / after warm-up / max / end | end / level "
        "| fds: before / after warm-up / max / end | end / level | threads: before / max / end "
        "| CPU % under load | queue: max / last of load / end | verdict |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in ran.values():
        for label, v in r["verdicts"].items():
            rss, fds, th, q = v["rss_kib"], v["fds"], v["threads"], v["queue"]
            lines.append(
                f"| {label} | {_mib(rss['before'])} / {_mib(rss['level'])} / {_mib(rss['max'])} "
                f"/ {_mib(rss['end'])} | {rss['end_over_level']} | {fds['before']} / "
                f"{fds['level']} / {fds['max']} / {fds['end']} | {fds['end_over_level']} | "
                f"{th['before']} / {th['max']} / {th['end']} | {v['cpu_pct_load_mean']} | "
                f"{q['max']} / {q['last_of_load']} / {q['end']} | {_short_verdict(v)} |"
            )
    lines += [
        "",
        "| process | open fds by kind: before the load | at its last sample | at the end |",
        "|---|---|---|---|",
    ]
    for r in ran.values():
        for label, v in r["verdicts"].items():
            kinds = [clients.counts_text(k or {}) for k in v["fd_kinds"].values()]
            lines.append(f"| {label} | " + " | ".join(kinds) + " |")
    lines.append("")
    return lines


def _short_verdict(v: dict) -> str:
    text = ", ".join(
        f"{name} {_met(v[key]['ok'])}"
        for name, key in (("RSS", "rss_kib"), ("fds", "fds"), ("queue", "queue"))
    )
    fds = v["fds"]
    if fds["left_over"] > max(5, TOLERANCE * fds["before"]):
        kinds = ", ".join(f"{k} {n:+d}" for k, n in fds["left_over_by_kind"].items())
        text += f"; fds {fds['left_over']:+d} over before the load ({kinds})"
    return text


def plot(report: dict, path) -> bool:
    res = {n: r for n, r in (report["results"].get(NAME) or {}).items() if "skipped" not in r}
    if not res:
        return False
    plt = clients.matplotlib_pyplot()
    if plt is None:
        print("soak: matplotlib is not installed, no plot (pip install -r bench/requirements.txt)")
        return False
    fig, axes = plt.subplots(3, 1, figsize=(8, 9), sharex=True)
    rss_ax, fds_ax, queue_ax = axes
    for r in res.values():
        for label, rows in r["samples"].items():
            minutes = [row["t"] / 60 for row in rows]
            line = rss_ax.plot(minutes, [row["rss_kib"] / 1024 for row in rows], label=label)[0]
            color = line.get_color()
            fds_ax.plot(minutes, [row["fds"] for row in rows], color=color, label=f"{label} fds")
            sockets = [(row["sockets_p1"] or 0) + (row["sockets_p2"] or 0) for row in rows]
            fds_ax.plot(minutes, sockets, color=color, linestyle=":", label=f"{label} sockets")
            queue_ax.plot(minutes, [row["queue"] for row in rows], color=color, label=label)
            v = r["verdicts"][label]
            for ax, item, scale in ((rss_ax, v["rss_kib"], 1024), (fds_ax, v["fds"], 1)):
                if item["level"]:
                    ax.axhline(
                        (1 + TOLERANCE) * item["level"] / scale,
                        color=color,
                        linestyle="--",
                        linewidth=0.8,
                    )
    phases = next(iter(res.values()))["phases"]
    for ax in axes:
        ax.axvspan(0, phases["warmup_s"] / 60, color="grey", alpha=0.12)
        ax.axvspan(phases["load_s"] / 60, phases["closed_s"] / 60, color="orange", alpha=0.15)
        ax.axvspan(
            phases["closed_s"] / 60,
            (phases["closed_s"] + phases["quiet_s"]) / 60,
            color="tab:blue",
            alpha=0.08,
        )
        ax.grid(True, alpha=0.3)
    rss_ax.set_ylabel("RSS, MiB")
    fds_ax.set_ylabel("open fds; sockets (dotted)")
    queue_ax.set_ylabel("database thread queue")
    queue_ax.set_xlabel("minutes since the load began (orange: closing every socket)")
    rss_ax.set_title(
        f"Soak: each server process over time (dashed: {100 * TOLERANCE:.0f}% above the "
        "level after warm-up)",
        fontsize="medium",
    )
    spans = (
        ("warm-up", 0),
        ("load", phases["warmup_s"]),
        ("quiet", phases["closed_s"]),
    )
    for text, at in spans:
        for ax in axes:
            ax.text(
                at / 60,
                0.97,
                f" {text}",
                transform=ax.get_xaxis_transform(),
                va="top",
                fontsize="small",
                color="dimgrey",
            )
    rss_ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
