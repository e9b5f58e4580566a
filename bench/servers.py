"""Start and stop the servers under test on loopback ports, each in a temp directory.

- project: daphne on uvloop (`python -m myproject.serve`) with the flags of
  docs/operations.md, DJANGO_DEBUG unset (off), a fresh SQLite file migrated in a temp
  dir, the in-process channel layer (no REDIS_URL).
- project-uvicorn, project-uvicorn-wsproto, project-hypercorn, project-granian: the same
  application, database and settings on another ASGI server, started as asgi_servers.py
  says (its production flags).
- naive: a temp copy of ../shared/peers/naive, migrated, `makeusers`, daphne.
- raw: ../shared/peers/raw/server.py.
- socketio: ../shared/peers/socketio/server.py (python-socketio on uvicorn), no login.

Each server knows how to produce the login material the load generator needs
(`cookies(count)`: a list of cookie headers, or [None] for no login) and exposes the pid
of the process that runs the application for CPU accounting (/proc/<pid>/stat).

Deployments (`deploy()`, run.py's `--deployments`): a server is run as a `ServerGroup`,
one process ("embedded": for the project, SQLite and the in-process layer), or for the
project "redisN": N processes of the same server on the PostgreSQL + Redis of
DATABASE_URL / REDIS_URL (`Services`: a database of the benchmark's own, made fresh and
dropped after, and a Redis database emptied before and after).
"""

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import asgi_servers

ROOT = Path(__file__).resolve().parent.parent
# The reference servers live beside the checkout (../shared/peers) unless told otherwise.
PEERS = Path(os.environ.get("BENCH_PEERS", ROOT.parent / "shared" / "peers"))
VENV_BIN = Path(sys.executable).parent
DAPHNE = str(VENV_BIN / "daphne")
# daphne on uvloop, with daphne's flags: the "project" of the benchmark, its reference.
PROJECT_DAPHNE = [sys.executable, "-m", "myproject.serve", "--server", "daphne"]
# The project on each ASGI server: bench name -> asgi_servers kind. "project" is today's.
PROJECTS = {
    "project": "daphne",
    "project-uvicorn": "uvicorn",
    "project-uvicorn-wsproto": "uvicorn-wsproto",
    "project-hypercorn": "hypercorn",
    "project-granian": "granian",
}
# The reference servers, in the order the tables compare the project with them.
REFERENCES = ("naive", "raw", "socketio")


def is_project(name: str) -> bool:
    """Whether a bench server name is the project (on any ASGI server)."""
    return name in PROJECTS


def wait_port(port: int, proc: subprocess.Popen, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"server on port {port} not ready within {within} s")


def wait_http(url: str, proc: subprocess.Popen, within: float = 30) -> None:
    """Wait until `url` answers 200: a server may listen before its application is loaded."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server of {url} exited with {proc.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {within} s")


class Server:
    name = "?"
    protocol = "?"  # "project", "tiny" (naive and raw) or "socketio"

    def __init__(self, port: int):
        self.port = port
        self.proc: subprocess.Popen | None = None
        self.tmp = Path(tempfile.mkdtemp(prefix=f"bench-{self.name}-"))
        self.log = open(self.tmp / "server.log", "wb")  # noqa: SIM115
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.command: list[str] = []
        self.cwd = str(self.tmp)
        self.app_pid: int | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The process that runs the application (a child, for some ASGI servers)."""
        assert self.proc is not None
        return self.app_pid or self.proc.pid

    def prepare(self, *, users: int, rooms: list[str]) -> None:
        """Everything before the server starts (databases, users)."""

    def start(self) -> None:
        # A server that cannot listen may stay up (daphne does): the clients would then
        # measure whatever holds the port, another run's server most likely.
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1):
            raise RuntimeError(f"port {self.port} is in use (another benchmark running?)")
        self.proc = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_port(self.port, self.proc)
        self.ready()

    def ready(self) -> None:
        """Wait for what the port being open does not say (the application loaded)."""

    def ws_url(self, room: str) -> str:
        raise NotImplementedError

    def cookies(self, count: int) -> list[str | None]:
        """One Cookie header per user (count of them), or [None] when there is no login."""
        return [None]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                # Its own session (start_new_session): the group is this server's processes.
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()
        if not os.environ.get("BENCH_KEEP_TMP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def describe(self) -> dict:
        return {"name": self.name, "port": self.port, "command": " ".join(self.command)}


class ProjectServer(Server):
    name = "project"
    protocol = "project"

    def __init__(
        self,
        port: int,
        name: str = "project",
        asgi: str = "daphne",
        options: asgi_servers.Options | None = None,
    ):
        self.name = name
        self.asgi = asgi
        super().__init__(port)
        self.cwd = str(ROOT)
        self.env.pop("DJANGO_DEBUG", None)  # production: unset means off
        self.env.pop("REDIS_URL", None)
        self.env.update(
            DATABASE_URL=f"sqlite:///{self.tmp / 'db.sqlite3'}",
            DJANGO_SECRET_KEY="bench-only-secret-key-" + "x" * 40,
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            # The history scenario asks for pages one after another as fast as they come,
            # to time them: a socket's allowance of such requests (20 a second) is lifted.
            CHAT_SOCKET_REQUEST_BURST="1000000",
            CHAT_SOCKET_REQUESTS_PER_SECOND="1000000",
        )
        missing = asgi_servers.missing_modules(asgi)
        if missing:
            raise RuntimeError(
                f"{name} needs {', '.join(missing)}: pip install -r bench/requirements.txt"
            )
        options = options or asgi_servers.Options()
        asgi_servers.write_files(asgi, options, self.tmp)
        self.command = asgi_servers.command(asgi, port, options, self.tmp)
        self._users: list[dict] = []

    def ready(self) -> None:
        assert self.proc is not None
        wait_http(f"{self.origin}/healthz", self.proc)
        self.app_pid = asgi_servers.app_pid(self.proc.pid, self.asgi)

    def prepare(self, *, users: int, rooms: list[str]) -> None:
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run(
            [*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=self.env, check=True
        )
        out = self.tmp / "sessions.json"
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "project_setup.py"),
                "--users",
                str(users),
                "--rooms",
                ",".join(rooms),
                "--out",
                str(out),
            ],
            cwd=ROOT,
            env=self.env,
            check=True,
        )
        self._users = json.loads(out.read_text())["users"]

    def ws_url(self, room: str) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/rooms/{room}/"

    def describe(self) -> dict:
        return {**super().describe(), "asgi": asgi_servers.KINDS[self.asgi].describe}

    def cookies(self, count: int) -> list[str | None]:
        if count > len(self._users):
            raise ValueError(f"only {len(self._users)} users prepared")
        return [f"sessionid={u['session']}" for u in self._users[:count]]


class NaiveServer(Server):
    name = "naive"
    protocol = "tiny"
    # Logging in costs a password hash (PBKDF2) per user: a few users, shared by sockets.
    login_users = 10

    def __init__(self, port: int):
        super().__init__(port)
        self.app = self.tmp / "naive"
        shutil.copytree(PEERS / "naive", self.app, ignore=shutil.ignore_patterns("*.sqlite3*"))
        self.cwd = str(self.app)
        self.env.pop("REDIS_URL", None)
        self.env["NAIVE_DB"] = str(self.tmp / "naive.sqlite3")
        self.command = [DAPHNE, "-b", "127.0.0.1", "-p", str(port), "naivepeer.asgi:application"]

    def prepare(self, *, users: int, rooms: list[str]) -> None:
        manage = [sys.executable, "manage.py"]
        subprocess.run(
            [*manage, "migrate", "--noinput", "-v", "0"], cwd=self.app, env=self.env, check=True
        )
        subprocess.run(
            [*manage, "makeusers", str(self.login_users)], cwd=self.app, env=self.env, check=True
        )

    def ws_url(self, room: str) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/chat/{room}/"

    def login(self, username: str, password: str = "pw") -> str:
        """POST /accounts/login/ with the CSRF cookie; return the Cookie header."""
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        url = f"{self.origin}/accounts/login/"
        opener.open(url, timeout=10).read()
        csrf = next(c.value for c in jar if c.name == "csrftoken")
        data = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": csrf}
        ).encode()
        request = urllib.request.Request(url, data=data, headers={"Referer": url})
        opener.open(request, timeout=30).read()
        cookies = {c.name: c.value for c in jar}
        if "sessionid" not in cookies:
            raise RuntimeError(f"naive login failed for {username}")
        return f"sessionid={cookies['sessionid']}"

    def cookies(self, count: int) -> list[str | None]:
        return [self.login(f"u{i}") for i in range(min(count, self.login_users))]


class RawServer(Server):
    name = "raw"
    protocol = "tiny"

    def __init__(self, port: int):
        super().__init__(port)
        self.command = [sys.executable, str(PEERS / "raw" / "server.py"), "--port", str(port)]

    def ws_url(self, room: str) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/chat/{room}/"


class SocketIOServer(Server):
    """python-socketio on uvicorn (../shared/peers/socketio); rooms joined by auth, no login."""

    name = "socketio"
    protocol = "socketio"

    def __init__(self, port: int):
        super().__init__(port)
        self.env.pop("REDIS_URL", None)
        script = PEERS / "socketio" / "server.py"
        self.command = [sys.executable, str(script), "--port", str(port)]

    def ws_url(self, room: str) -> str:
        # The room is not in the URL: the client names it in its connect packet's auth.
        return f"ws://127.0.0.1:{self.port}/socket.io/?EIO=4&transport=websocket"


def _project(name: str):
    return lambda port: ProjectServer(port, name=name, asgi=PROJECTS[name])


SERVERS = {
    **{name: _project(name) for name in PROJECTS},
    "naive": NaiveServer,
    "raw": RawServer,
    "socketio": SocketIOServer,
}
PORTS = {
    "project": 8301,
    "naive": 8302,
    "raw": 8303,
    "socketio": 8304,
    "project-uvicorn": 8305,
    "project-uvicorn-wsproto": 8306,
    "project-hypercorn": 8307,
    "project-granian": 8308,
}


def unavailable(name: str) -> str | None:
    """Why a server cannot run here (a package or a peer missing), or None when it can."""
    if name not in SERVERS:
        return f"unknown server {name!r}; known: {', '.join(SERVERS)}"
    if is_project(name):
        missing = asgi_servers.missing_modules(PROJECTS[name])
        if missing:
            return f"{', '.join(missing)} not installed (pip install -r bench/requirements.txt)"
        return None
    peer = {"naive": "naive", "raw": "raw/server.py", "socketio": "socketio/server.py"}[name]
    if not (PEERS / peer).exists():
        return f"{PEERS / peer} not found (BENCH_PEERS)"
    if name == "socketio" and asgi_servers.find_spec("socketio") is None:
        return "python-socketio not installed (pip install -r bench/requirements.txt)"
    return None


def make(name: str) -> Server:
    if name not in SERVERS:
        raise ValueError(f"unknown server {name!r}; known: {', '.join(SERVERS)}")
    return SERVERS[name](PORTS[name])


# --- deployments: one process, or several on PostgreSQL + Redis --------------------------

EMBEDDED = "embedded"
# "redis1" .. "redis4": that many processes of the project on PostgreSQL + Redis.
SCALE_OUT = re.compile(r"redis([1-4])")
# Process i of a deployment listens on the server's port + i x PORT_STRIDE (8301, 8351...).
PORT_STRIDE = 50
# What the scenarios of run.py use on the services (the soak has its own).
SCALE_OUT_DATABASE = "bench_scale"
SCALE_OUT_REDIS_DB = 12


def deployment_processes(deployment: str) -> int:
    """How many server processes a deployment name stands for; ValueError if unknown."""
    if deployment == EMBEDDED:
        return 1
    match = SCALE_OUT.fullmatch(deployment)
    if match is None:
        raise ValueError(f"unknown deployment {deployment!r}: {EMBEDDED} or redis1..redis4")
    return int(match.group(1))


def describe_deployment(deployment: str) -> str:
    if deployment == EMBEDDED:
        return "one process, SQLite and the in-process channel layer"
    count = deployment_processes(deployment)
    return f"{count} process{'es' if count > 1 else ''} on PostgreSQL + Redis"


def with_path(url: str, path: str) -> str:
    """The URL with another path (a database's name, a Redis database's number)."""
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path=path))


def pg_admin(url: str, statement: str):
    """Run one statement on the server of `url`, connected to its `postgres` database;
    return the first row of its answer, if it has rows."""
    import psycopg

    with psycopg.connect(with_path(url, "/postgres"), autocommit=True) as con:
        cursor = con.execute(statement)
        return cursor.fetchone() if cursor.description else None


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()


class Services:
    """The PostgreSQL and Redis of DATABASE_URL and REDIS_URL (`.ci/services.sh start`), as
    the project processes of one run share them: a database of its own on that server,
    and one Redis database (layer, cache), emptied before and after."""

    def __init__(self, database: str, redis_db: int):
        self.database = database
        self.pg_url = with_path(os.environ["DATABASE_URL"], f"/{database}")
        self.redis_url = with_path(os.environ["REDIS_URL"], f"/{redis_db}")

    @staticmethod
    def missing(redis_db: int) -> str | None:
        """Why the services cannot be used here (not configured, not answering), or None."""
        if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
            return 'needs PostgreSQL: eval "$(.ci/services.sh start)" first (DATABASE_URL)'
        if not os.environ.get("REDIS_URL"):
            return 'needs Redis: eval "$(.ci/services.sh start)" first (REDIS_URL)'
        try:
            pg_admin(os.environ["DATABASE_URL"], "SELECT 1")
        except Exception as exc:
            return f"PostgreSQL of DATABASE_URL does not answer: {exc}"
        try:
            flush_redis(with_path(os.environ["REDIS_URL"], f"/{redis_db}"))
        except Exception as exc:
            return f"Redis of REDIS_URL does not answer: {exc}"
        return None

    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.pg_url, "REDIS_URL": self.redis_url}

    def reset(self) -> None:
        """A new empty database, an empty Redis database."""
        self.drop_database()
        pg_admin(self.pg_url, f"CREATE DATABASE {self.database}")
        self.flush()

    def drop_database(self) -> None:
        pg_admin(self.pg_url, f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")

    def flush(self) -> None:
        flush_redis(self.redis_url)

    def ports(self) -> dict[int, str]:
        return {
            urllib.parse.urlsplit(self.pg_url).port or 5432: "PostgreSQL",
            urllib.parse.urlsplit(self.redis_url).port or 6379: "Redis",
        }

    def pids(self) -> dict[str, int]:
        """The services' main processes, when they run on this machine: Redis's, and
        PostgreSQL's postmaster (its backends are its children)."""
        import redis

        found = {}
        with contextlib.suppress(Exception):
            client = redis.Redis.from_url(self.redis_url, socket_timeout=5)
            try:
                found["Redis"] = int(client.info("server")["process_id"])
            finally:
                client.close()
        with contextlib.suppress(Exception):
            backend = pg_admin(self.pg_url, "SELECT pg_backend_pid()")[0]
            stat = Path(f"/proc/{backend}/stat").read_text()
            found["PostgreSQL"] = int(stat.rsplit(")", 1)[1].split()[1])
        return {name: pid for name, pid in found.items() if Path(f"/proc/{pid}").exists()}


class ServerGroup:
    """The processes of one server under test, started, measured and stopped together: one
    process, or several of the project sharing `services` (one database, one layer)."""

    def __init__(self, group: list[Server], services: Services | None = None):
        self.servers = group
        self.services = services
        for server in group:
            if services is not None:
                server.env.update(services.env())

    @property
    def first(self) -> Server:
        return self.servers[0]

    def prepare(self, *, users: int, rooms: list[str]) -> None:
        """Everything before the processes start; the first one's prepares the database
        they all use."""
        if self.services is not None:
            self.services.reset()
        self.first.prepare(users=users, rooms=rooms)

    def start(self) -> None:
        for server in self.servers:
            server.start()

    def cookies(self, count: int) -> list[str | None]:
        return self.first.cookies(count)

    def endpoints(self) -> list[tuple[str, str]]:
        """(ws URL with "{room}", origin) of each process."""
        return [(server.ws_url("{room}"), server.origin) for server in self.servers]

    def pids(self) -> list[int]:
        return [server.pid for server in self.servers]

    def service_pids(self) -> dict[str, int]:
        return {} if self.services is None else self.services.pids()

    def log_tail(self, chars: int = 2000) -> str:
        """The end of each process's log (each under its port, when there are several)."""
        tails = []
        for server in self.servers:
            with contextlib.suppress(OSError):
                text = (server.tmp / "server.log").read_text(errors="replace")[-chars:]
                tails.append(text if len(self.servers) == 1 else f"--- :{server.port}\n{text}")
        return "\n".join(tails)

    def stop(self) -> None:
        for server in self.servers:
            with contextlib.suppress(Exception):
                server.stop()
        if self.services is not None:
            with contextlib.suppress(Exception):
                self.services.drop_database()
            with contextlib.suppress(Exception):
                self.services.flush()

    def describe(self) -> dict:
        if len(self.servers) == 1 and self.services is None:
            return self.first.describe()
        return {
            **self.first.describe(),
            "port": [server.port for server in self.servers],
            "database": "PostgreSQL",
            "layer": "Redis",
        }


def deploy(name: str, deployment: str = EMBEDDED) -> ServerGroup:
    """Server `name` as `deployment`: "embedded" (one process as make() gives it), or the
    project on PostgreSQL + Redis ("redisN", N processes)."""
    count = deployment_processes(deployment)
    if deployment == EMBEDDED:
        return ServerGroup([make(name)])
    if not is_project(name):
        raise ValueError(f"{name} has no deployment but {EMBEDDED}")
    ports = [PORTS[name] + i * PORT_STRIDE for i in range(count)]
    services = Services(SCALE_OUT_DATABASE, SCALE_OUT_REDIS_DB)
    return ServerGroup([SERVERS[name](port) for port in ports], services)
