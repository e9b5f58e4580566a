"""The project's application on each ASGI server, started as a production deployment would.

One place for the command lines, so that the benchmark (bench/servers.py) measures and
ops/tests/test_asgi_servers.py checks the same thing. Each kind gets what a production
deployment needs (docs/operations.md, "Running the server", where uvicorn is the one
deployed), in that server's own terms, where it has them:

- event loop: uvloop everywhere (daphne through myproject.serve).
- ping every 20 s, drop the socket when the pong is 30 s late: daphne `--ping-interval`
  `--ping-timeout`; uvicorn `--ws-ping-interval` `--ws-ping-timeout`; hypercorn pings
  (`websocket_ping_interval`) but has no pong timeout, so `read_timeout` closes a
  connection silent for 50 s instead; granian has neither.
- a message over 64 KiB refused: daphne `--websocket-max-message-size` (and frame size;
  autobahn then drops the connection, no 1009 close frame); uvicorn `--ws-max-size` and
  hypercorn `websocket_max_message_size` close with 1009; granian has no setting (its own
  limit is 64 MiB), so the application's `too_long` answers.
- client address and scheme from nginx's X-Forwarded-For/-Proto: daphne
  `--proxy-headers` (from any peer); uvicorn `--proxy-headers --forwarded-allow-ips
  127.0.0.1`; hypercorn and granian have no flag: the application wrapped in their own
  middleware (below).
- access log: daphne's is on (its default, as it was deployed), the others' off.
- a bounded stop: daphne's default `--application-close-timeout` (10 s; its command is
  left as documented), uvicorn `--timeout-graceful-shutdown 10`, hypercorn
  `graceful_timeout = 10`, granian `--workers-kill-timeout 10`.

No server but daphne knows `chat/realtime/backpressure.py` (its bound on a socket's unsent
output): myproject.serve installs it for daphne only.
"""

import sys
import time
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

APPLICATION = "myproject.asgi:application"
# The wrappers below, imported by the server process from the checkout (its working dir).
WRAPPERS = "bench.asgi_servers"
HYPERCORN_CONFIG = "hypercorn.toml"
# The flags daphne was deployed with, minus -b/-p and the ping and size flags (Options).
DAPHNE_TIMEOUTS = ["--websocket_timeout", "86400", "--websocket_connect_timeout", "10"]


@dataclass(frozen=True)
class Options:
    """What a deployment sets; the tests shorten the pings to see a timeout in seconds."""

    ping_interval: float = 20
    ping_timeout: float = 30
    max_message: int = 65536  # docs/operations.md: at least CHAT_SEND_FRAME_MAX (60000)
    proxy_headers: bool = True
    graceful_timeout: int = 10


@dataclass(frozen=True)
class Kind:
    """One ASGI server: the modules it needs and what it does with our settings."""

    name: str
    modules: tuple[str, ...]  # importable names, to tell whether it is installed
    packages: tuple[str, ...]  # their distributions, as requirements files name them
    describe: str


KINDS = {
    "daphne": Kind(
        "daphne",
        ("daphne", "uvloop"),
        ("daphne", "uvloop"),
        "daphne on uvloop (python -m myproject.serve), docs/operations.md's flags",
    ),
    "uvicorn": Kind(
        "uvicorn",
        ("uvicorn", "httptools", "websockets", "uvloop"),
        ("uvicorn", "httptools", "websockets", "uvloop"),
        "uvicorn, uvloop + httptools, websockets-sansio",
    ),
    "uvicorn-wsproto": Kind(
        "uvicorn-wsproto",
        ("uvicorn", "httptools", "wsproto", "uvloop"),
        ("uvicorn", "httptools", "wsproto", "uvloop"),
        "uvicorn, uvloop + httptools, wsproto",
    ),
    "hypercorn": Kind(
        "hypercorn",
        ("hypercorn", "uvloop"),
        ("hypercorn", "uvloop"),
        "hypercorn, uvloop worker, HTTP/1.1 + wsproto",
    ),
    "granian": Kind(
        "granian",
        ("granian", "uvloop"),
        ("granian", "uvloop"),
        "granian (Rust HTTP and WebSocket), uvloop, one worker process",
    ),
}


def missing_modules(kind: str) -> list[str]:
    """The modules of a kind that are not installed here."""
    return [module for module in KINDS[kind].modules if find_spec(module) is None]


def command(kind: str, port: int, options: Options, workdir: Path, host="127.0.0.1") -> list[str]:
    """The command line that serves the project on `kind` at host:port (cwd: the checkout).

    `workdir` holds the files a kind reads beside its command line: write them there with
    write_files() before starting it.
    """
    python = sys.executable
    if kind == "daphne":
        return [
            python, "-m", "myproject.serve", "--server", "daphne",
            "-b", host, "-p", str(port), *DAPHNE_TIMEOUTS,
            "--ping-interval", _number(options.ping_interval),
            "--ping-timeout", _number(options.ping_timeout),
            "--websocket-max-message-size", str(options.max_message),
            "--websocket-max-frame-size", str(options.max_message),
            *(["--proxy-headers"] if options.proxy_headers else []),
            APPLICATION,
        ]  # fmt: skip
    if kind in ("uvicorn", "uvicorn-wsproto"):
        ws = "wsproto" if kind == "uvicorn-wsproto" else "websockets-sansio"
        # uvicorn believes the headers by default (from 127.0.0.1): off means said so.
        proxy = ["--proxy-headers", "--forwarded-allow-ips", "127.0.0.1"]
        return [
            python, "-m", "uvicorn", APPLICATION, "--host", host, "--port", str(port),
            "--loop", "uvloop", "--http", "httptools", "--ws", ws,
            "--ws-max-size", str(options.max_message),
            "--ws-ping-interval", _number(options.ping_interval),
            "--ws-ping-timeout", _number(options.ping_timeout),
            # daphne (autobahn) negotiates no compression either.
            "--ws-per-message-deflate", "false",
            # daphne gives the application no lifespan events; Channels' router refuses them.
            "--lifespan", "off",
            "--no-access-log",
            *(proxy if options.proxy_headers else ["--no-proxy-headers"]),
            "--timeout-graceful-shutdown", str(options.graceful_timeout),
        ]  # fmt: skip
    if kind == "hypercorn":
        config = workdir / HYPERCORN_CONFIG
        app = f"{WRAPPERS}:hypercorn_application()" if options.proxy_headers else APPLICATION
        return [python, "-m", "hypercorn", "-c", str(config), "-b", f"{host}:{port}", app]
    if kind == "granian":
        app = ["--factory", f"{WRAPPERS}:granian_application"]
        if not options.proxy_headers:
            app = [APPLICATION]
        return [
            python, "-m", "granian", "--interface", "asginl",  # ASGI without lifespan
            "--host", host, "--port", str(port), "--loop", "uvloop", "--http", "1",
            "--workers", "1", "--no-access-log",
            "--workers-kill-timeout", str(options.graceful_timeout),
            # Requests in flight per worker (default 1,024): each open socket is one.
            "--backpressure", "100000",
            *app,
        ]  # fmt: skip
    raise ValueError(f"unknown ASGI server {kind!r}; known: {', '.join(KINDS)}")


def write_files(kind: str, options: Options, workdir: Path) -> None:
    """Write the files the command of `kind` reads (hypercorn: its TOML) into workdir."""
    if kind == "hypercorn":
        (workdir / HYPERCORN_CONFIG).write_text(hypercorn_config(options))


def hypercorn_config(options: Options) -> str:
    """Hypercorn's TOML: the WebSocket settings its command line lacks."""
    return "\n".join(
        [
            'worker_class = "uvloop"',
            f"websocket_max_message_size = {options.max_message}",
            f"websocket_ping_interval = {float(options.ping_interval)}",
            # Hypercorn sends pings but never times out their pongs: a connection silent for
            # the ping interval plus the ping timeout (no pong, nothing) is closed instead.
            f"read_timeout = {round(options.ping_interval + options.ping_timeout)}",
            f"graceful_timeout = {float(options.graceful_timeout)}",
            "",
        ]
    )


def _number(value: float) -> str:
    return f"{value:g}"


def app_pid(root_pid: int, kind: str, within: float = 30) -> int:
    """The process that runs the application: granian and hypercorn serve from a worker
    child (hypercorn's other child is multiprocessing's resource tracker)."""
    if kind not in ("granian", "hypercorn"):
        return root_pid
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        workers = [pid for pid in _children(root_pid) if "resource_tracker" not in _cmdline(pid)]
        if workers:
            return workers[0]
        time.sleep(0.1)
    return root_pid


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(child) for child in path.read_text().split()]
    except OSError:
        return []


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


# --- the application, wrapped as each server needs it (imported by the server) ----------


def hypercorn_application():
    """The project behind Hypercorn's ProxyFixMiddleware: hypercorn has no proxy flag.

    Legacy mode (X-Forwarded-*), one trusted hop (nginx's value, the last one).
    """
    from hypercorn.middleware import ProxyFixMiddleware

    from myproject.asgi import application

    return ProxyFixMiddleware(application, mode="legacy", trusted_hops=1)


def granian_application():
    """The project behind granian's proxy-headers wrapper, trusting 127.0.0.1 (nginx)."""
    from granian.utils.proxies import wrap_asgi_with_proxy_headers

    from myproject.asgi import application

    return wrap_asgi_with_proxy_headers(application, trusted_hosts="127.0.0.1")
