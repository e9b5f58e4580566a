"""Run the benchmark scenarios against project, naive, raw and socketio; write JSON and markdown.

    python bench/run.py                 # full: fan-out 5..80 msgs/s, 10 s a step, fixed load 30 s
    python bench/run.py --short         # what `make bench` runs (< 5 minutes)
    python bench/run.py --servers project,raw --scenarios fanout --rates 5,10
    python bench/run.py --servers project,project-uvicorn,project-granian,raw  # ASGI servers

The project runs on daphne ("project", today's production command) or on another ASGI
server ("project-uvicorn", "project-uvicorn-wsproto", "project-hypercorn",
"project-granian"; asgi_servers.py), each a server of its own in every table.

Scenario 1, "fanout": one room, 200 sockets, every member a sender, the total send rate
rising step by step; per step: deliveries/s, p50/p99 end-to-end latency.
Scenario 2, "fixed": 50 rooms x 20 sockets, 200 msgs/s in total; p50/p99 and the server
process's CPU-seconds per 1,000 deliveries.
Scenario 3, "idle" (scenario_idle.py): 5,000 idle sockets; memory per socket, idle CPU.
Scenario 4, "storm" (scenario_storm.py): 2,000 sockets drop and reconnect within 5 s;
time until they have caught up with what they missed.
Scenario 5, "history" (scenario_history.py): a room of 1,000,000 messages; deep history
pages against the raw SQL query, and the rate of messages stored.
Scenario 6, "tabs" (scenario_tabs.py), the project only: opening a tab socket (protocol 2)
for a user in 200 rooms, and one message to a room of 1,000 members, each with a tab open;
protocol 1's room socket measured alongside as the reference.
Scenario 7, "soak" (scenario_soak.py), the project only, run only when named in
--scenarios: 100,000 sockets opened and closed over 20 minutes with messages flowing,
then quiet; the server's RSS, fds and database thread's queue sampled every 10 s.
Scenario 8, "mentions" (scenario_mentions.py), the project only: in a room of 1,000
members, each with a tab open, @room, @here and @name against a plain message, and a
Markdown-heavy message against plain words of its length; deliveries, notifications,
every member's counts, server CPU and rows per message.

Scale out (`--deployments embedded,redis1,redis2`): scenarios 1-2 run the project once per
deployment: one process on SQLite and the in-process layer (embedded, the default), or N
processes on the PostgreSQL + Redis of DATABASE_URL / REDIS_URL (redisN; `eval
"$(.ci/services.sh start)"` first), each room's sockets spread over the processes; a table
compares each deployment with the one before it.

Each server is started fresh (new temp database) for each scenario and stopped after it.
Results go to bench/out/<UTC time>.json and .md, copied to bench/out/latest.{json,md}.
"""

import argparse
import importlib.metadata
import itertools
import json
import os
import platform
import resource
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asgi_servers
import clients
import loadgen
import scenario_history
import scenario_idle
import scenario_mentions
import scenario_soak
import scenario_storm
import scenario_tabs
import servers
from clients import ratio

BENCH = Path(__file__).resolve().parent
OPTIONS = asgi_servers.Options()
OUT = BENCH / "out"
P99_TARGET_MS = 250
# The other ASGI servers' packages, and the socketio reference's, whose versions a run records.
ASGI_PACKAGES = ("uvicorn", "httptools", "wsproto", "hypercorn", "granian", "python-socketio")
# Scenarios 3-8, each in its own module: options, DEFAULTS, run(), markdown(), plot().
MODULES = {
    m.NAME: m
    for m in (
        scenario_idle,
        scenario_storm,
        scenario_history,
        scenario_tabs,
        scenario_mentions,
        scenario_soak,
    )
}
SCENARIOS = ("fanout", "fixed", *MODULES)
# Run only when asked for by name: the soak takes tens of minutes.
OPT_IN = ("soak",)


def machine() -> dict:
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    try:
        import uvloop

        uv = uvloop.__version__
    except ImportError:
        uv = None
    import websockets

    return {
        "nproc": os.cpu_count(),
        "open_files_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        "cpu": model,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "websockets": websockets.__version__,
        "uvloop": uv,
        "daphne": _version("daphne"),
        **{package: _version(package) for package in ASGI_PACKAGES},
        "channels": _version("channels"),
        "django": _version("django"),
    }


def cpu_probe_ms() -> float:
    """Time a fixed pure-Python loop: this shared machine's speed varies from hour to hour."""
    began = time.perf_counter()
    total = 0
    for i in range(2_000_000):
        total += i
    return round((time.perf_counter() - began) * 1000, 1)


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def scenario_plan(name: str, args) -> dict:
    if name == "fanout":
        rates = [float(r) for r in args.rates.split(",")]
        return {
            "rooms": ["fanout"],
            "members": args.members,
            "steps": [(r, args.step_seconds) for r in rates],
        }
    if name == "fixed":
        return {
            "rooms": [f"room-{i}" for i in range(args.fixed_rooms)],
            "members": args.fixed_members,
            "steps": [(float(r), args.fixed_seconds) for r in args.fixed_rates.split(",")],
        }
    raise ValueError(name)


def run_one(server_name: str, scenario: str, args, log, deployment=servers.EMBEDDED) -> dict:
    shape = scenario_plan(scenario, args)
    sockets = len(shape["rooms"]) * shape["members"]
    group = servers.deploy(server_name, deployment)
    if servers.is_project(server_name):
        for server in group.servers:
            server.env.update(item.split("=", 1) for item in args.project_env)
    shown = deployed_name(server_name, deployment)
    log(f"[{scenario}] {shown}: preparing ({sockets} sockets)")
    try:
        group.prepare(users=sockets, rooms=shape["rooms"])
        group.start()
        cookies = group.cookies(sockets)
        (url, origin), *more_endpoints = group.endpoints()
        first_pid, *more_pids = group.pids()
        plan = loadgen.Plan(
            protocol=group.first.protocol,
            url=url,
            origin=origin,
            more_endpoints=more_endpoints,
            cookies=cookies,
            rooms=shape["rooms"],
            members=shape["members"],
            senders=shape["members"],
            steps=shape["steps"],
            gap=args.gap,
            drain=args.drain,
            workers=args.workers,
            server_pid=first_pid,
            more_server_pids=more_pids,
            service_pids=group.service_pids(),
        )
        result = loadgen.run(plan, log=log)
        result["server"] = group.describe()
        result["deployment"] = deployment
        result["logins"] = len([c for c in cookies if c])
        for step in result["steps"]:
            log(
                f"  {step['offered_rate']:>6} msg/s: sent {step['sent_rate']}/s, "
                f"{step['deliveries_per_s']} deliveries/s ({step['delivered_ratio']}), "
                f"p50 {step['p50_ms']} ms, p99 {step['p99_ms']} ms, "
                f"server CPU {cpu_text(step)}, clients {step['client_cpu_utilization']}"
            )
        if result["errors"] or result["closes"]:
            log(f"  errors {result['errors']} closes {result['closes']}")
        log(f"  frames without a marker: {result['unmarked_frames_by_type']}")
        result["server_log_tail"] = group.log_tail()
        return result
    finally:
        group.stop()


def cpu_text(step: dict) -> str:
    """A step's server CPU; per process and the services' when there are several."""
    text = f"{step['server_cpu_s']} s"
    if "server_cpu_s_by_process" in step:
        text += f" {step['server_cpu_s_by_process']}"
    if "services_cpu_s" in step:
        text += f", services {step['services_cpu_s']}"
    return text


def deployed_name(server_name: str, deployment: str) -> str:
    """A run's name in the results: the server's, "+<deployment>" unless embedded."""
    return server_name if deployment == servers.EMBEDDED else f"{server_name}+{deployment}"


def runs_of(name: str, scenario: str, deployments: list[str]) -> list[tuple[str, str]]:
    """(result name, deployment) of each run of a server in a scenario: the project runs
    once per deployment in scenarios 1-2; everything else once, embedded."""
    if scenario in MODULES or not servers.is_project(name):
        return [(name, servers.EMBEDDED)]
    return [(deployed_name(name, d), d) for d in deployments]


def best_rate(steps) -> float | None:
    """The highest offered rate whose p99 is within target and that delivered everything."""
    ok = [
        s["offered_rate"]
        for s in steps
        if s["p99_ms"] is not None
        and s["p99_ms"] <= P99_TARGET_MS
        and (s["delivered_ratio"] or 0) >= 0.999
    ]
    return max(ok) if ok else None


def markdown(report: dict) -> str:
    lines = []
    m = report["machine"]
    lines.append(
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, Python {m['python']}, "
        f"websockets {m['websockets']}, uvloop {m['uvloop']}, daphne {m['daphne']}"
        + "".join(f", {p} {m[p]}" for p in ASGI_PACKAGES if m.get(p))
        + ". "
        f"Load generator: {report['args']['workers']} client processes on the same machine."
    )
    res = report["results"]
    results = [result for runs in res.values() for result in runs.values()]
    probes = [ms for result in results for ms in result.get("cpu_probe_ms", [])]
    if probes:
        lines.append(
            f"CPU probe (a fixed Python loop, before and after each server's scenario run; "
            f"the machine is shared and its speed varies): {min(probes)} to {max(probes)} ms."
        )
    lines.append("")
    if res.get("fanout"):  # every server of it may have been skipped
        fan = res["fanout"]
        names = list(fan)
        lines.append(
            f"### Fan-out: 1 room x {report['args']['members']} sockets, every member a sender, "
            f"{report['args']['step_seconds']:g} s per step"
        )
        lines.append("")
        lines.append(
            "| offered msg/s | server | sent/s | deliveries/s | delivered | p50 ms | p99 ms "
            "| max ms | server CPU s |"
        )
        lines.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
        nsteps = len(next(iter(fan.values()))["steps"])
        for i in range(nsteps):
            for name in names:
                s = fan[name]["steps"][i]
                lines.append(
                    f"| {s['offered_rate']:g} | {name} | {s['sent_rate']} | "
                    f"{s['deliveries_per_s']} | {100 * (s['delivered_ratio'] or 0):.1f}% | "
                    f"{s['p50_ms']} | {s['p99_ms']} | {s['max_ms']} | {s['server_cpu_s']} |"
                )
        lines.append("")
        lines.append(f"Highest offered rate with p99 <= {P99_TARGET_MS} ms and 100% delivered:")
        lines.append("")
        lines.append("| server | rate msg/s | deliveries/s there |")
        lines.append("|---|---:|---:|")
        for name in names:
            rate = best_rate(fan[name]["steps"])
            dps = next(
                (s["deliveries_per_s"] for s in fan[name]["steps"] if s["offered_rate"] == rate),
                None,
            )
            shown = f"{rate:g}" if rate is not None else "none of the steps"
            if rate is not None and rate == fan[name]["steps"][-1]["offered_rate"]:
                shown += " (the highest step tried)"
            lines.append(f"| {name} | {shown} | {dps} |")
        others = [o for o in servers.REFERENCES if o in fan]
        projects = clients.project_names(fan) if others else []
        if projects:
            lines.append("")
            lines.append("p99 ratios per step (higher = the project is slower):")
            lines.append("")
            lines.append(
                "| offered msg/s | server | " + " | ".join(f"/{o} p99" for o in others) + " |"
            )
            lines.append("|---:|---|" + "---:|" * len(others))
            for i in range(nsteps):
                for project in projects:
                    p = fan[project]["steps"][i]
                    cells = [ratio(p["p99_ms"], fan[o]["steps"][i]["p99_ms"]) for o in others]
                    lines.append(
                        f"| {p['offered_rate']:g} | {project} | " + " | ".join(cells) + " |"
                    )
        lines.append("")
    if res.get("fixed"):
        fx = res["fixed"]
        a = report["args"]
        lines.append(
            f"### Fixed load: {a['fixed_rooms']} rooms x {a['fixed_members']} sockets, "
            f"every member a sender; total rates {a['fixed_rates']} msgs/s, "
            f"{a['fixed_seconds']:g} s a step"
        )
        lines.append("")
        lines.append(
            "| offered msg/s | server | sent/s | deliveries/s | delivered | p50 ms | p99 ms "
            "| server CPU s | CPU s / 1,000 deliveries |"
        )
        lines.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
        nsteps = len(next(iter(fx.values()))["steps"])
        for i in range(nsteps):
            for name, r in fx.items():
                s = r["steps"][i]
                lines.append(
                    f"| {s['offered_rate']:g} | {name} | {s['sent_rate']} | "
                    f"{s['deliveries_per_s']} | {100 * (s['delivered_ratio'] or 0):.1f}% | "
                    f"{s['p50_ms']} | {s['p99_ms']} | {s['server_cpu_s']} | "
                    f"{s['server_cpu_s_per_1000_deliveries']} |"
                )
        cpu_key = "server_cpu_s_per_1000_deliveries"
        pairs = [
            (project, other)
            for project in clients.project_names(fx)
            for other in servers.REFERENCES
            if other in fx
        ]
        if pairs:
            lines.append("")
            lines.append("| offered msg/s | ratio | p50 | p99 | CPU per delivery |")
            lines.append("|---:|---|---:|---:|---:|")
            for i in range(nsteps):
                for project, other in pairs:
                    p, q = fx[project]["steps"][i], fx[other]["steps"][i]
                    lines.append(
                        f"| {p['offered_rate']:g} | {project}/{other} | "
                        f"{ratio(p['p50_ms'], q['p50_ms'])} | "
                        f"{ratio(p['p99_ms'], q['p99_ms'])} | "
                        f"{ratio(p[cpu_key], q[cpu_key])} |"
                    )
        lines.append("")
    lines.extend(scale_out_markdown(report))
    for name, module in MODULES.items():
        if name in res:
            lines.extend(module.markdown(report))
    problems = []
    for scen, by_server in res.items():
        if scen in MODULES:
            continue  # their tables show their failures
        for name, r in by_server.items():
            if r.get("connect_failures") or r.get("errors") or r.get("closes"):
                problems.append(
                    f"- {scen}/{name}: sockets {r['sockets']}/{r['sockets_wanted']}, "
                    f"connect failures {r['connect_failures']}, error frames {r['errors']}, "
                    f"closes seen {r['closes']}"
                )
    if problems:
        lines.append("Anomalies:")
        lines.extend(problems)
        lines.append("")
    return "\n".join(lines)


def scale_out_markdown(report: dict) -> list[str]:
    """The project's deployments side by side in fan-out and fixed load, and each one
    against the one before it (--deployments order); nothing unless one was scaled out."""
    deployments = report["args"].get("deployments", servers.EMBEDDED).split(",")
    if deployments == [servers.EMBEDDED]:
        return []
    res = report["results"]
    m = report["machine"]
    lines = [
        "### Scale out: the project on PostgreSQL + Redis",
        "",
        "Deployments: "
        + "; ".join(f"{d}: {servers.describe_deployment(d)}" for d in deployments)
        + ". With several processes each room's sockets are spread evenly over them (half "
        "of the fan-out room's members, and so of its senders, on each of two), so every "
        "message reaches the other process through Redis. Server CPU is the sum over the "
        "server's processes (each process's in brackets); services CPU is Redis's and "
        "PostgreSQL's (its backends included), from /proc. The load generator "
        f"({report['args']['workers']} processes), PostgreSQL and Redis run on the same "
        f"{m['nproc']} cores as the servers.",
        "",
    ]
    header = len(lines)
    ratio_rows = []
    for scenario in ("fanout", "fixed"):
        runs = res.get(scenario, {})
        for project in servers.PROJECTS:
            present = [d for d in deployments if deployed_name(project, d) in runs]
            if not present or present == [servers.EMBEDDED]:
                continue
            lines.append(f"{scenario}, {project}:")
            lines.append("")
            lines.append(
                "| offered msg/s | deployment | deliveries/s | delivered | p50 ms | p99 ms "
                "| server CPU s | CPU s / 1,000 deliveries | services CPU s "
                "| services CPU s / 1,000 deliveries |"
            )
            lines.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
            steps = {d: runs[deployed_name(project, d)]["steps"] for d in present}
            for i in range(len(steps[present[0]])):
                for d in present:
                    s = steps[d][i]
                    cpu = f"{s['server_cpu_s']}"
                    if "server_cpu_s_by_process" in s:
                        cpu += " (" + " + ".join(f"{c}" for c in s["server_cpu_s_by_process"]) + ")"
                    services = s.get("services_cpu_s") or {}
                    services_text = ", ".join(f"{k} {v}" for k, v in services.items()) or "-"
                    lines.append(
                        f"| {s['offered_rate']:g} | {d} | {s['deliveries_per_s']} | "
                        f"{100 * (s['delivered_ratio'] or 0):.1f}% | {s['p50_ms']} | "
                        f"{s['p99_ms']} | {cpu} | {s['server_cpu_s_per_1000_deliveries']} | "
                        f"{services_text} | {s.get('services_cpu_s_per_1000_deliveries') or '-'} |"
                    )
            lines.append("")
            for before, after in itertools.pairwise(present):
                for a, b in zip(steps[before], steps[after], strict=True):
                    ratio_rows.append((scenario, project, f"{after}/{before}", a, b))
    if len(lines) == header:
        return []  # every scaled-out run was skipped
    if ratio_rows:
        lines.append(
            "Each deployment against the one before it, after/before (deliveries/s above 1, "
            "or latency and CPU below 1: the later one did better). CPU per delivery only "
            "for steps that delivered everything; all = server + services; the last column "
            "is the difference in all CPU s per 1,000 deliveries:"
        )
        lines.append("")
        lines.append(
            "| scenario | server | offered msg/s | ratio | deliveries/s | p50 | p99 "
            "| server CPU per delivery | all CPU per delivery | all CPU s / 1,000, after - before |"
        )
        lines.append("|---|---|---:|---|---:|---:|---:|---:|---:|---:|")
        for scenario, project, label, a, b in ratio_rows:
            lines.append(
                f"| {scenario} | {project} | {a['offered_rate']:g} | {label} | "
                f"{ratio(b['deliveries_per_s'], a['deliveries_per_s'])} | "
                f"{ratio(b['p50_ms'], a['p50_ms'])} | {ratio(b['p99_ms'], a['p99_ms'])} | "
                f"{ratio(_full_cpu(b), _full_cpu(a))} | "
                f"{ratio(_full_cpu(b, True), _full_cpu(a, True))} | "
                f"{_difference(_full_cpu(b, True), _full_cpu(a, True))} |"
            )
        lines.append("")
    return lines


def _full_cpu(step: dict, with_services: bool = False) -> float | None:
    """CPU s per 1,000 deliveries of a step that delivered everything (else None), the
    server's, or with the services' added."""
    if (step["delivered_ratio"] or 0) < 0.999:
        return None
    cpu = step["server_cpu_s_per_1000_deliveries"]
    if cpu is None or not with_services:
        return cpu
    services = step.get("services_cpu_s_per_1000_deliveries")
    if step.get("services_cpu_s") and services is None:
        return None  # a service's CPU could not be read
    return cpu + (services or 0)


def _difference(after: float | None, before: float | None) -> str:
    return "n/a" if after is None or before is None else f"{after - before:+.3f}"


def plot(report: dict, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fan = report["results"].get("fanout")
    if not fan:
        return False
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, r in fan.items():
        steps = [s for s in r["steps"] if s["p99_ms"] is not None]
        line = ax.plot([s["offered_rate"] for s in steps], [s["p99_ms"] for s in steps])[0]
        line.set_label(name)
        # Filled: every expected delivery arrived; hollow: some did not (p99 of those that did).
        for s in steps:
            full = (s["delivered_ratio"] or 0) >= 0.999
            ax.plot(
                s["offered_rate"],
                s["p99_ms"],
                marker="o",
                color=line.get_color(),
                markerfacecolor=line.get_color() if full else "white",
            )
    ax.axhline(P99_TARGET_MS, color="grey", linestyle="--", linewidth=1, label="250 ms")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel(f"offered messages/s (1 room, {report['args']['members']} sockets)")
    ax.set_ylabel("p99 end-to-end latency, ms")
    ax.set_title("Fan-out: p99 latency against offered rate (hollow: < 100% delivered)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def plot_scenarios(report: dict, stem: Path) -> list[Path]:
    """Draw the plots of scenarios 3-5 that ran, as <stem>-<scenario>.png; return the paths."""
    drawn = []
    for name, module in MODULES.items():
        path = stem.with_name(f"{stem.name}-{name}.png")
        if name in report["results"] and module.plot(report, path):
            drawn.append(path)
    return drawn


# Options of scenarios 1-2 left unset: (short run, full run).
DEFAULTS = {
    "rates": ("5,20", "5,10,20,40,80,120,160,200,240,320,400,480"),
    "fixed_rates": ("200", "50,200"),
    "step_seconds": (4.0, 10.0),
    "drain": (10.0, 30.0),
    "fixed_seconds": (5.0, 20.0),
    "naive_logins": (1, 10),
}


def apply_defaults(args, defaults: dict) -> None:
    """Give each option left unset its short-run or full-run default."""
    for name, (short, full) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, short if args.short else full)


def raise_fd_limit() -> None:
    """Raise the soft limit on open files to the hard one; servers and clients inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="the quick version (make bench)")
    parser.add_argument(
        "--servers",
        default="project,naive,raw,socketio",
        help=f"comma-separated, of: {','.join(servers.SERVERS)}",
    )
    parser.add_argument("--scenarios", default=",".join(s for s in SCENARIOS if s not in OPT_IN))
    parser.add_argument("--rates", default=None, help="fan-out msgs/s per step, comma-separated")
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--step-seconds", type=float, default=None)
    parser.add_argument("--fixed-rooms", type=int, default=50)
    parser.add_argument("--fixed-members", type=int, default=20)
    parser.add_argument(
        "--fixed-rates", default=None, help="msgs/s in total, per step (50,200; short 200)"
    )
    parser.add_argument("--fixed-seconds", type=float, default=None)
    parser.add_argument("--gap", type=float, default=2.0)
    parser.add_argument("--drain", type=float, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--naive-logins",
        type=int,
        default=None,
        help="naive users logged in, shared by its sockets (10; short 1: ~1.2 s of PBKDF2 each)",
    )
    parser.add_argument(
        "--deployments",
        default=servers.EMBEDDED,
        help="the project's, in fanout and fixed: embedded (one process, SQLite, in-process "
        "layer), redis1..redis4 (that many processes on PostgreSQL + Redis); comma-separated, "
        "e.g. embedded,redis1,redis2",
    )
    parser.add_argument(
        "--project-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="passed to the project's processes in fanout and fixed, every deployment "
        "(e.g. DATABASE_POOL_MAX=20); repeatable",
    )
    parser.add_argument("--plot", default=None, help="PNG path for the fan-out plot")
    parser.add_argument("--plot-only", default=None, help="redraw the plots from a results JSON")
    for module in MODULES.values():
        module.add_arguments(parser)
    args = parser.parse_args()
    if args.plot_only:
        report = json.loads(Path(args.plot_only).read_text())
        plot(report, Path(args.plot or "fanout.png"))
        for name in plot_scenarios(report, Path(args.plot_only).with_suffix("")):
            print(f"plot: {name}")
        return
    unknown = set(args.scenarios.split(",")) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; known: {','.join(SCENARIOS)}")
    names = args.servers.split(",")
    unknown = set(names) - set(servers.SERVERS)
    if unknown:
        parser.error(f"unknown servers {sorted(unknown)}; known: {','.join(servers.SERVERS)}")
    bad = [item for item in args.project_env if "=" not in item]
    if bad:
        parser.error(f"--project-env takes KEY=VALUE, not {bad}")
    deployments = args.deployments.split(",")
    for deployment in deployments:
        try:
            servers.deployment_processes(deployment)
        except ValueError as exc:
            parser.error(str(exc))
    scaled = [d for d in deployments if d != servers.EMBEDDED]
    services_missing = servers.Services.missing(servers.SCALE_OUT_REDIS_DB) if scaled else None
    apply_defaults(args, DEFAULTS)
    # Naive has no per-user behaviour: fewer logins change nothing it does, only the wait.
    servers.NaiveServer.login_users = args.naive_logins
    for module in MODULES.values():
        apply_defaults(args, module.DEFAULTS)
    raise_fd_limit()

    OUT.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    logfile = open(OUT / f"{stamp}.log", "w")  # noqa: SIM115

    def log(text):
        print(text, flush=True)
        logfile.write(text + "\n")
        logfile.flush()

    report = {
        "started": stamp,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(),
        "args": vars(args),
        "setup": {
            "project": "daphne with docs/operations.md flags, DJANGO_DEBUG unset, fresh SQLite "
            "(WAL) in a temp dir, in-process channel layer and locmem cache (no Redis)",
            "naive": "daphne naivepeer.asgi:application, fresh SQLite, in-process layer; "
            f"{servers.NaiveServer.login_users} users logged in by POST, sockets share them",
            "raw": "python raw/server.py (uvloop if installed)",
            "socketio": "python socketio/server.py: python-socketio on uvicorn "
            "(websockets-sansio), rooms and the last 50 messages in memory, no login",
            **{
                name: f"the project as `project`, on {asgi_servers.KINDS[kind].describe}: "
                + " ".join(asgi_servers.command(kind, servers.PORTS[name], OPTIONS, Path("<tmp>")))
                for name, kind in servers.PROJECTS.items()
                if name != "project"
            },
        },
        "skipped": {},
        "results": {},
    }
    for deployment in deployments:
        if deployment != servers.EMBEDDED:
            report["setup"][f"+{deployment}"] = (
                f"the project server named, {servers.describe_deployment(deployment)} "
                f"(database {servers.SCALE_OUT_DATABASE}, made fresh, on DATABASE_URL's server; "
                f"Redis database {servers.SCALE_OUT_REDIS_DB} of REDIS_URL); each room's sockets "
                "spread evenly over the processes, ports "
                f"<port> + i x {servers.PORT_STRIDE}; production settings otherwise"
            )
    log(json.dumps(report["machine"]))
    started = time.monotonic()
    for scenario in args.scenarios.split(","):
        report["results"][scenario] = {}
        module = MODULES.get(scenario)
        for name in names:
            if module is not None and name not in module.SERVERS:
                continue
            reason = servers.unavailable(name)
            if reason is not None:
                log(f"[{scenario}] {name}: skipped, {reason}")
                report["skipped"][name] = reason
                continue
            for run_name, deployment in runs_of(name, scenario, deployments):
                if deployment != servers.EMBEDDED and services_missing:
                    log(f"[{scenario}] {run_name}: skipped, {services_missing}")
                    report["skipped"][run_name] = services_missing
                    continue
                probe_ms = cpu_probe_ms()
                began = time.monotonic()
                if module is None:
                    result = run_one(name, scenario, args, log, deployment)
                else:
                    result = module.run(name, args, log)
                result["elapsed_s"] = round(time.monotonic() - began, 1)
                result["cpu_probe_ms"] = [probe_ms, cpu_probe_ms()]
                probes = result["cpu_probe_ms"]
                log(f"  ({scenario}/{run_name}: {result['elapsed_s']} s, CPU probe {probes} ms)")
                report["results"][scenario][run_name] = result
    report["elapsed_s"] = round(time.monotonic() - started, 1)
    md = markdown(report)
    (OUT / f"{stamp}.json").write_text(json.dumps(report, indent=1))
    (OUT / f"{stamp}.md").write_text(md)
    shutil.copy(OUT / f"{stamp}.json", OUT / "latest.json")
    shutil.copy(OUT / f"{stamp}.md", OUT / "latest.md")
    if args.plot and plot(report, Path(args.plot)):
        log(f"plot: {args.plot}")
    for path in plot_scenarios(report, OUT / stamp):
        shutil.copy(path, OUT / path.name.replace(stamp, "latest"))
        log(f"plot: {path}")
    log("")
    log(md)
    log(f"elapsed {report['elapsed_s']} s; results in {OUT / stamp}.json and .md")


if __name__ == "__main__":
    main()
