"""Real server processes for the scale-out tests: the production server (`python -m
myproject.serve`, uvicorn; daphne on request), and the PostgreSQL and Redis that
.ci/services.sh started, which the tests stop and start again on purpose.

Every wait here is bounded; every process started here is stopped by its owner.
"""

import itertools
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.db import connection

REPO = Path(__file__).resolve().parents[2]

# Set in the CI leg that runs on PostgreSQL and Redis: there a missing part fails the run.
REQUIRED_ENV = "CHAT_SCALE_OUT_REQUIRED"


def scale_out_required() -> bool:
    return os.environ.get(REQUIRED_ENV, "").strip().lower() not in {"", "0", "false", "no"}


def skip_or_fail(reason: str):
    """Skip with the reason, or fail when the scale-out tests are required."""
    if scale_out_required():
        raise RuntimeError(f"{reason} ({REQUIRED_ENV} is set, so this is a failure)")
    raise unittest.SkipTest(reason)


def missing_requirement() -> str | None:
    """Return why the scale-out tests cannot run here, or None when they can."""
    if connection.vendor != "postgresql":
        return 'needs PostgreSQL: set DATABASE_URL (eval "$(.ci/services.sh start)")'
    if not settings.REDIS_URL:
        return 'needs Redis: set REDIS_URL (eval "$(.ci/services.sh start)")'
    if not daphne_program().exists():
        return f"daphne is not installed next to {sys.executable}"
    return None


def daphne_program() -> Path:
    return Path(sys.executable).with_name("daphne")


def test_database_url() -> str:
    """Return a URL for the test database the current connection uses."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{quote(db['NAME'], safe='')}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def wait_for(predicate, *, timeout: float, what: str, interval: float = 0.05):
    """Poll until the predicate holds; raise AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# --- the server (myproject.serve) -------------------------------------------------------

# A log record of settings.LOGGING's "plain" format starts with a timestamp.
_RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (\w+) ([\w.]+): ", re.M)


class DaphneProcess:
    """One `python -m myproject.serve` on a loopback port, its output in a file.

    The production server (uvicorn), or daphne with `server=("--server", "daphne")`; the
    name is from when daphne was the production server.
    """

    def __init__(
        self,
        *,
        name: str,
        env: dict[str, str],
        port: int | None = None,
        server: tuple[str, ...] = (),
    ):
        self.name = name
        # Arguments that pick the server (`--server daphne`); none: the production one.
        self.server = server
        self.port = port or free_port()
        self.env = env
        self.log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed in stop)
            prefix=f"daphne-{name}-", suffix=".log", delete=False
        )
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def start(self) -> "DaphneProcess":
        command = [
            sys.executable, "-m", "myproject.serve", *self.server,  # docs/operations.md
            "-b", "127.0.0.1",
            "-p", str(self.port),
            "myproject.asgi:application",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
        )
        return self

    def wait_ready(self, timeout: float = 20):
        def ready():
            if self.process.poll() is not None:
                raise AssertionError(
                    f"daphne {self.name} exited with {self.process.returncode}:\n{self.log()}"
                )
            return port_open(self.port)

        wait_for(ready, timeout=timeout, what=f"daphne {self.name} on port {self.port}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self):
        """Kill -9: no cleanup at all, as when the machine or the process dies."""
        os.kill(self.process.pid, 9)
        self.process.wait(timeout=10)

    def stop(self):
        """Stop the process (politely, then not) and keep its log; safe to call twice."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if not self.log_file.closed:
            self.log_file.close()

    def remove_log(self):
        Path(self.log_file.name).unlink(missing_ok=True)

    def log(self) -> str:
        self.log_file.flush()
        return Path(self.log_file.name).read_text(errors="replace")

    def records(self) -> list[tuple[str, str]]:
        """Split the log into records: (logger name, text); "" for text outside records."""
        text = self.log()
        starts = [match.start() for match in _RECORD_START.finditer(text)]
        bounds = sorted({0, *starts, len(text)})
        records = []
        for begin, end in itertools.pairwise(bounds):
            record = text[begin:end]
            match = _RECORD_START.match(record)
            records.append((match.group(2) if match else "", record))
        return records

    def problems(
        self, *, allowed_loggers: tuple[str, ...] = (), tolerated: tuple[re.Pattern, ...] = ()
    ) -> list[str]:
        """Return the log records that show a failure.

        "Exception inside application" (an exception no code handled) always counts. A
        traceback counts unless the record was logged by one of `allowed_loggers` (the
        application logs the failures it handles, a database or Redis outage, with one)
        or matches one of the `tolerated` patterns (known noise of a library).
        """
        problems = []
        for logger, record in self.records():
            handled = bool(allowed_loggers) and logger.startswith(allowed_loggers)
            noise = any(pattern.search(record) for pattern in tolerated)
            if "Exception inside application" in record or (
                "Traceback" in record and not handled and not noise
            ):
                problems.append(record)
        return problems

    def count_records(self, *, loggers: tuple[str, ...] = (), pattern: re.Pattern | None = None):
        """Count the records with a traceback, of some loggers or matching a pattern."""
        return sum(
            1
            for logger, record in self.records()
            if "Traceback" in record
            and (not loggers or logger.startswith(loggers))
            and (pattern is None or pattern.search(record))
        )


def daphne_env(**overrides: str) -> dict[str, str]:
    """The environment of a server process under test: the test database, fast presence."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "myproject.settings",
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DATABASE_CONN_MAX_AGE": "60",
        "CHAT_PRESENCE_TTL": "3",
        "CHAT_PRESENCE_HEARTBEAT": "1",
        "CHAT_PRESENCE_SWEEP": "1",
        "CHAT_RATE_MESSAGES": "1000",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(overrides)
    return env


# --- the Redis of REDIS_URL ------------------------------------------------------------


def _services_dir() -> str:
    return os.environ.get("CHAT_SERVICES_DIR", "/tmp/chat-services")


class RedisService:
    """The Redis at REDIS_URL (started by .ci/services.sh), stopped and started like it."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 6379
        self.cli = shutil.which("redis-cli")
        self.server = shutil.which("redis-server")
        self.command: list[str] | None = None

    def missing(self) -> str | None:
        if self.host not in {"127.0.0.1", "localhost"}:
            return f"REDIS_URL names {self.host}: the test restarts only a loopback Redis"
        if not (self.cli and self.server):
            return "redis-server and redis-cli are needed to restart Redis"
        return None

    def _cli(self, *args: str, timeout: float = 5) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.cli, "-h", "127.0.0.1", "-p", str(self.port), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def ping(self) -> bool:
        try:
            return self._cli("ping", timeout=2).stdout.strip() == "PONG"
        except subprocess.TimeoutExpired:
            return False

    def _config(self, name: str) -> str:
        lines = self._cli("config", "get", name).stdout.splitlines()
        return lines[1] if len(lines) >= 2 else ""

    def remember_command(self):
        """Record the command line that starts this Redis again, as .ci/services.sh does."""
        directory = self._config("dir") or _services_dir()
        self.command = [
            self.server,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", directory,
            "--daemonize", "yes",
            "--pidfile", self._config("pidfile") or f"{directory}/redis.pid",
            "--logfile", self._config("logfile") or f"{directory}/redis.log",
        ]  # fmt: skip

    def stop(self):
        """SHUTDOWN NOSAVE: everything in Redis (groups, queues, presence) is lost."""
        if self.command is None:
            self.remember_command()
        self._cli("shutdown", "nosave")
        wait_for(lambda: not port_open(self.port), timeout=10, what="Redis to stop")

    def start(self):
        if self.command is None:
            self.remember_command()
        subprocess.run(self.command, check=True, timeout=10, capture_output=True)
        wait_for(self.ping, timeout=10, what="Redis to answer", interval=0.1)

    def ensure_running(self):
        if not self.ping():
            self.start()


# --- the PostgreSQL of DATABASE_URL -------------------------------------------------------


class PostgresService:
    """The PostgreSQL of .ci/services.sh: pg_ctl as the postgres user, the same options."""

    def __init__(self):
        self.port = str(connection.settings_dict.get("PORT") or os.environ.get("CHAT_PG_PORT", ""))
        self.data = os.environ.get("CHAT_PG_DATA", "")
        self.bin = os.environ.get("CHAT_PG_BIN", "")

    def missing(self) -> str | None:
        if not (self.data and self.bin and self.port):
            return "CHAT_PG_DATA, CHAT_PG_BIN and the port are needed (.ci/services.sh start)"
        if not Path(self.bin, "pg_ctl").exists():
            return f"no pg_ctl in {self.bin}"
        return None

    def _pg_ctl(self, arguments: str, *, timeout: float = 70) -> subprocess.CompletedProcess:
        command = f"{self.bin}/pg_ctl -D '{self.data}' {arguments}"
        if os.getuid() == 0:
            # initdb and postgres refuse to run as root.
            argv = ["su", "postgres", "-s", "/bin/bash", "-c", command]
        else:
            argv = ["bash", "-c", command]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)

    def running(self) -> bool:
        return self._pg_ctl("status", timeout=10).returncode == 0

    def stop(self):
        result = self._pg_ctl("-m fast -w -t 30 stop")
        if result.returncode != 0:
            raise AssertionError(f"pg_ctl stop failed: {result.stdout}{result.stderr}")

    def start(self):
        options = (
            f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=300"
        )
        result = self._pg_ctl(f"-l '{self.data}/server.log' -w -t 60 -o '{options}' start")
        if result.returncode != 0:
            raise AssertionError(f"pg_ctl start failed: {result.stdout}{result.stderr}")

    def ensure_running(self):
        if not self.running():
            self.start()
