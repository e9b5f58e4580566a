"""Scenario 5, "history": a room with a long past, read deep; and the rate of storing.

Before the server starts, one room gets N messages (full 1,000,000) written straight into
the server's SQLite file, as the server itself would have stored them (project: `rev`
1..N, the room's `rev` = N). Then:

- deep pages: the same random `before` ids in the oldest half of the room, a page of 50
  each, asked one at a time through the project's `history` WebSocket command (one
  socket), through its HTTP API, as the project's own work for it in a process of its
  own (`message_page` and the frame's encoding, no socket: bench/project_pages.py),
  and as the raw keyset SQL query of
  chat/selectors.py:message_page (same rows, same join, same LIMIT) run by this process
  with sqlite3 on the same file: with one open connection (the reference), and with a
  new connection per query (what a server pays that opens one per request).
- with --history-rich (project only), a second room gets the same history, where a share
  of the messages carry what issue 16 added, stored as the server stores them: replies to
  an earlier message (their quote read through the page's LEFT JOINs), reactions (each
  taking a revision, as services.reactions does, so the page reads them in one more
  query), attachments (their records as JSON with the message, and their rows); its deep
  pages, at the same depth, take turns with the plain room's through the WebSocket, the
  HTTP API and in-process, and the two are compared.
- ingest: sender sockets (one user and one room each) send at a fixed rate under the
  project's rate limit for some seconds; messages acknowledged per second (project: the
  sender's own `message.new`; naive: the echo of its own message, sent after saving),
  checked against the rows added to the database.

Raw stores nothing and has no history: it does not take part.
"""

import asyncio
import contextlib
import http.client
import itertools
import json
import random
import re
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import clients
import loadgen
import servers

NAME = "history"
SERVERS = (*servers.PROJECTS, "naive")
TARGET = "project deep page p99 <= 2x the raw SQL p99"
RICH_TARGET = "a rich page <= 1.5x a plain one (issue 16)"
RICH_BOUND = 1.5
ROOM = "history"
RICH_ROOM = "history-rich"
WARM_UP = 5  # requests per method before the measured ones
SEED = 5
MARK = re.compile(r"ingest~([A-Za-z0-9_-]+)~")
# A stored message of the history, with some Markdown as people write it (issue 16): the
# page carries its HTML too, rendered once here as the server renders it when sent.
HISTORY_BODY = (
    "message {rev} of the **long history**: some `words` to make it a realistic length, "
    "see https://example.com/m/{rev}"
)
# Digits the renderer leaves alone: the HTML of one body, made each message's by replacing them.
_REV_MARK = "987654321"
_RENDER = (
    "import os, sys, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'myproject.settings');"
    " django.setup(); from chat.rendering import render_body; print(render_body(sys.argv[1]))"
)
# The rich history (--history-rich): the share of its messages that carry each part, drawn
# at random, each part independently of the others.
REPLY_SHARE = 1 / 5
REACTED_SHARE = 1 / 10
ATTACHMENT_SHARE = 1 / 20
PICTURE_SHARE = 2 / 3  # of the attachments; the others are documents
REPLY_DISTANCE_MAX = 30  # a reply answers one of the messages just before it
REACTIONS_MAX = 3  # a reacted message has 1 to 3 reactions, from different people
REACTION_EMOJI = (
    "\N{THUMBS UP SIGN}",
    "\u2764\ufe0f",
    "\N{FACE WITH TEARS OF JOY}",
    "\N{PARTY POPPER}",
    "\N{EYES}",
)
# The files, as an upload stores them (services.attachments): a picture with its WebP
# thumbnail, and a document. A page never reads the files themselves: none is written.
ATTACHMENT_KINDS = (
    {
        "name": "screenshot.png",
        "content_type": "image/png",
        "size": 183_214,
        "width": 1280,
        "height": 800,
        "thumbnail_width": 400,
        "thumbnail_height": 250,
        "suffix": ".png",
    },
    {
        "name": "meeting notes.pdf",
        "content_type": "application/pdf",
        "size": 48_310,
        "width": None,
        "height": None,
        "thumbnail_width": None,
        "thumbnail_height": None,
        "suffix": ".pdf",
    },
)
# A message's attachments_data for one file of each kind, made by the server's own code
# (records.attachment_data, attachments_json), with _REV_MARK for the attachment's id.
_ATTACHMENTS_JSON = (
    "import json, os, sys, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE',"
    " 'myproject.settings'); django.setup(); from chat.models import Attachment;"
    " from chat.records import attachment_data, attachments_json;"
    " print(json.dumps([attachments_json([attachment_data(Attachment(**kind))])"
    " for kind in json.loads(sys.argv[1])]))"
)
_ATTACHMENT_FILE = "attachments/2026/12/{token}{suffix}"

# The project's query for a page (chat/selectors.py: message_page), written out.
PAGE_SQL = (
    'SELECT m."id", m."body", m."client_id", m."created_at", m."edited_at", m."deleted_at", '
    'm."rev", m."author_id", m."room_id", u."id", u."username" '
    'FROM "chat_message" m INNER JOIN "auth_user" u ON m."author_id" = u."id" '
    'WHERE m."room_id" = ? AND m."id" < ? ORDER BY m."id" DESC LIMIT ?'
)


def add_arguments(parser) -> None:
    group = parser.add_argument_group("history (scenario 5)")
    group.add_argument(
        "--history-messages", type=int, default=None, help="full 1,000,000; short 100,000"
    )
    group.add_argument(
        "--history-requests", type=int, default=None, help="per method (200; short 100)"
    )
    group.add_argument("--history-limit", type=int, default=50, help="messages per page")
    group.add_argument(
        "--history-rich",
        action="store_true",
        help="project: also a room of the same history with replies, reactions and "
        "attachments, its deep pages against the plain room's",
    )
    group.add_argument(
        "--ingest-senders", type=int, default=None, help="sockets, one user each (200; short 100)"
    )
    group.add_argument(
        "--ingest-rate", type=float, default=0.9, help="msgs/s per sender (limit: 1/s)"
    )
    group.add_argument("--ingest-seconds", type=float, default=None, help="10; short 5")


# Options left unset: (short run, full run).
DEFAULTS = {
    "history_messages": (100_000, 1_000_000),
    "history_requests": (100, 200),
    "ingest_senders": (100, 200),
    "ingest_seconds": (5.0, 10.0),
}


# --- filling the database --------------------------------------------------------------


def _project_db(server) -> Path:
    url = server.env["DATABASE_URL"]
    if not url.startswith("sqlite:///"):
        raise RuntimeError(f"the history scenario fills SQLite files only, not {url}")
    return Path(url.removeprefix("sqlite:///"))


def _sqlite_time(moment: datetime) -> str:
    """Django's SQLite text for a naive UTC datetime."""
    return moment.isoformat(" ", "microseconds")


def _times(count: int):
    """Django's SQLite text for `count` datetimes a second apart, ending now (UTC)."""
    start = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=count)
    for i in range(1, count + 1):
        yield _sqlite_time(start + timedelta(seconds=i))


def _insert(con, sql: str, rows, batch: int = 50_000) -> None:
    while chunk := list(itertools.islice(rows, batch)):
        con.executemany(sql, chunk)


def _connect_for_fill(db: Path):
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    # The server is not running yet; a crash here only costs a rerun.
    con.execute("PRAGMA synchronous=OFF")
    con.execute("BEGIN IMMEDIATE")
    return con


def _authors(con) -> list[int]:
    return [r[0] for r in con.execute("SELECT id FROM auth_user ORDER BY id LIMIT 10")]


def _finish_fill(con, room_id: int) -> tuple[int, int]:
    """Commit the fill, fold the WAL into the file, close; return the room's first and last id."""
    first, last = con.execute(
        "SELECT min(id), max(id) FROM chat_message WHERE room_id = ?", (room_id,)
    ).fetchone()
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return first, last


def _server_text(server, code: str) -> str:
    """Run `code` in the server's environment on HISTORY_BODY with _REV_MARK; its output."""
    done = subprocess.run(
        [sys.executable, "-c", code, HISTORY_BODY.format(rev=_REV_MARK)],
        capture_output=True,
        text=True,
        env=server.env,
        cwd=servers.ROOT,
        check=True,
    )
    return done.stdout.rstrip("\n")


def _html_template(server) -> str:
    """The server's HTML of HISTORY_BODY, with _REV_MARK where the revision goes."""
    return _server_text(server, _RENDER)


_EXCERPT = (
    "import os, sys, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'myproject.settings');"
    " django.setup(); from chat.records import message_excerpt;"
    " print(message_excerpt(sys.argv[1], ''))"
)


def _excerpt_template(server) -> str:
    """The server's excerpt of HISTORY_BODY (what a reply quotes), with _REV_MARK."""
    return _server_text(server, _EXCERPT)


def _attachment_templates(server) -> list[str]:
    """The server's attachments_data of one file of each ATTACHMENT_KINDS, with _REV_MARK
    for the attachment's id."""
    kinds = [
        {
            **{k: v for k, v in kind.items() if k != "suffix"},
            "pk": int(_REV_MARK),
            "file": _ATTACHMENT_FILE.format(token="0" * 32, suffix=kind["suffix"]),
            "thumbnail": _ATTACHMENT_FILE.format(token="1" * 32, suffix=".webp")
            if kind["thumbnail_width"]
            else "",
        }
        for kind in ATTACHMENT_KINDS
    ]
    done = subprocess.run(
        [sys.executable, "-c", _ATTACHMENTS_JSON, json.dumps(kinds)],
        capture_output=True,
        text=True,
        env=server.env,
        cwd=servers.ROOT,
        check=True,
    )
    return json.loads(done.stdout)


class _RichParts:
    """Draws which messages of the rich history carry replies, reactions, attachments, and
    keeps the rows of the reactions and the attachments for after the messages."""

    def __init__(self, server, con, room_id: int, authors: list[int]):
        self.rng = random.Random(SEED + 1)
        self.templates = _attachment_templates(server)
        self.room_id = room_id
        self.authors = authors
        self.next_attachment = con.execute(
            "SELECT coalesce(max(id), 0) + 1 FROM chat_attachment"
        ).fetchone()[0]
        self.reactions: list[tuple] = []
        self.attachments: list[tuple] = []
        self.counts = Counter()

    def reply_to(self, message_id: int, index: int) -> int | None:
        if index == 0 or self.rng.random() >= REPLY_SHARE:
            return None
        self.counts["replies"] += 1
        return message_id - self.rng.randint(1, min(index, REPLY_DISTANCE_MAX))

    def attachments_data(self, message_id: int, author: int, created: str) -> str:
        if self.rng.random() >= ATTACHMENT_SHARE:
            return ""
        which = 0 if self.rng.random() < PICTURE_SHARE else 1
        kind = ATTACHMENT_KINDS[which]
        attachment_id = self.next_attachment
        self.next_attachment += 1
        token, thumbnail_token = (f"{self.rng.getrandbits(128):032x}" for _ in range(2))
        thumbnail = (
            _ATTACHMENT_FILE.format(token=thumbnail_token, suffix=".webp")
            if kind["thumbnail_width"]
            else ""
        )
        self.attachments.append(
            (
                attachment_id,
                _ATTACHMENT_FILE.format(token=token, suffix=kind["suffix"]),
                thumbnail,
                kind["name"],
                kind["content_type"],
                kind["size"],
                kind["width"],
                kind["height"],
                kind["thumbnail_width"],
                kind["thumbnail_height"],
                created,
                message_id,
                self.room_id,
                author,
            )
        )
        self.counts["attachments"] += 1
        return self.templates[which].replace(_REV_MARK, str(attachment_id))

    def react(self, message_id: int, created: str) -> int:
        """Draw the message's reactions (if any); return how many (revisions they take)."""
        if self.rng.random() >= REACTED_SHARE:
            return 0
        people = self.rng.sample(self.authors, self.rng.randint(1, REACTIONS_MAX))
        for person in people:
            self.reactions.append((self.rng.choice(REACTION_EMOJI), created, message_id, person))
        self.counts["reacted_messages"] += 1
        self.counts["reactions"] += len(people)
        return len(people)


def fill_project(db: Path, count: int, server, *, room: str = ROOM, rich: bool = False):
    """Store `count` messages in the room; return (first id, last id, rich parts counted).

    With their HTML when the project's messages have it (chat_message.body_html). Plain:
    revisions 1..count. Rich: a share of the messages answer an earlier one, carry an
    attachment, or got reactions; every reaction took the room's next revision right
    after its message, which then holds the last of them as its `rev` (a reaction is a
    change of the message, services.reactions), its `created_rev` unchanged.
    """
    con = _connect_for_fill(db)
    room_id = con.execute("SELECT id FROM chat_room WHERE slug = ?", (room,)).fetchone()[0]
    authors = _authors(con)
    times = _times(count)
    columns = {row[1] for row in con.execute("PRAGMA table_info(chat_message)")}
    html = _html_template(server) if "body_html" in columns else None
    excerpt = _excerpt_template(server) if "excerpt" in columns else None
    if rich and not {"reply_to_id", "attachments_data"} <= columns:
        raise RuntimeError("--history-rich needs a project with replies and attachments")
    parts = _RichParts(server, con, room_id, authors) if rich else None
    first_id = con.execute("SELECT coalesce(max(id), 0) + 1 FROM chat_message").fetchone()[0]
    revision = 0

    def rows():
        nonlocal revision
        for index in range(count):
            number = index + 1  # the message's place in the history, the same in both rooms
            message_id = first_id + index
            created = next(times)
            author = authors[number % len(authors)]
            revision += 1
            created_rev = revision
            extra = () if html is None else (html.replace(_REV_MARK, str(number)),)
            if excerpt is not None:
                extra += (excerpt.replace(_REV_MARK, str(number)),)
            if "attachments_data" in columns:
                attachments = (
                    "" if parts is None else parts.attachments_data(message_id, author, created)
                )
                extra += (attachments,)
            if parts is not None:
                extra += (parts.reply_to(message_id, index),)
                revision += parts.react(message_id, created)
            body = HISTORY_BODY.format(rev=number)
            yield (message_id, body, created, revision, created_rev, author, room_id, *extra)

    extra_columns = [
        name
        for name, present in (
            ("body_html", html is not None),
            ("excerpt", excerpt is not None),
            ("attachments_data", "attachments_data" in columns),
            ("reply_to_id", rich),
        )
        if present
    ]
    names = ", ".join(["", *extra_columns]) if extra_columns else ""
    marks = ", ?" * len(extra_columns)
    _insert(
        con,
        "INSERT INTO chat_message (id, body, created_at, rev, created_rev, author_id, room_id, "
        f"client_id, edited_at, deleted_at, mention_ids, mention_all{names}) "
        f"VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, '', ''{marks})",
        rows(),
    )
    if parts is not None:
        _insert(
            con,
            "INSERT INTO chat_reaction (emoji, created_at, message_id, user_id) "
            "VALUES (?, ?, ?, ?)",
            iter(parts.reactions),
        )
        _insert(
            con,
            "INSERT INTO chat_attachment (id, file, thumbnail, name, content_type, size, width, "
            "height, thumbnail_width, thumbnail_height, created_at, message_id, room_id, "
            "uploader_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            iter(parts.attachments),
        )
    con.execute(
        "UPDATE chat_room SET rev = ?, last_activity_at = ? WHERE id = ?",
        (revision, _sqlite_time(datetime.now(UTC).replace(tzinfo=None)), room_id),
    )
    first, last = _finish_fill(con, room_id)
    counted = {"messages": count, "room_rev": revision, **(parts.counts if parts else {})}
    return first, last, counted


def fill_naive(db: Path, count: int) -> tuple[int, int]:
    """The same in naive's tables (chat_room by name, chat_message.content)."""
    con = _connect_for_fill(db)
    now = _sqlite_time(datetime.now(UTC).replace(tzinfo=None))
    con.execute("INSERT INTO chat_room (name, created_at) VALUES (?, ?)", (ROOM, now))
    room_id = con.execute("SELECT id FROM chat_room WHERE name = ?", (ROOM,)).fetchone()[0]
    authors = _authors(con)
    times = _times(count)
    rows = (
        (
            f"message {i} of the long history: some words to make it a realistic length",
            next(times),
            authors[i % len(authors)],
            room_id,
        )
        for i in range(1, count + 1)
    )
    _insert(
        con,
        "INSERT INTO chat_message (content, timestamp, user_id, room_id) VALUES (?, ?, ?, ?)",
        rows,
    )
    return _finish_fill(con, room_id)


def _count_rows(db: Path) -> int:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT count(*) FROM chat_message").fetchone()[0]
    finally:
        con.close()


# --- deep pages ------------------------------------------------------------------------


def _ok(messages: list, before: int, limit: int) -> bool:
    return len(messages) == limit and messages[-1]["id"] == before - 1


def _turns(series: list[tuple[str, list[int]]]):
    """Yield (which room, request number, before): the rooms take turns, one request each,
    the first of a turn alternating, so that a slower minute of the machine falls on all."""
    order = list(range(len(series)))
    for i in range(len(series[0][1])):
        for k in order if i % 2 == 0 else order[::-1]:
            yield k, i, series[k][1][i]


async def pages_ws(target, series, limit: int) -> list[tuple[list[float], int]]:
    """Ask for each page over one socket per room, one at a time, the rooms taking turns;
    return (seconds each, bad pages) per room of `series` [(room, befores)]."""
    sockets = []
    results = [([], 0) for _ in series]
    try:
        for room, _befores in series:
            sockets.append((await clients.open_socket(target, room, target.cookie(0)))[0])
        for k, i, before in _turns(series):
            ws = sockets[k]
            began = time.perf_counter()
            await ws.send(json.dumps({"type": "history", "before": before, "limit": limit}))
            while True:
                raw = await asyncio.wait_for(ws.recv(), 30)
                if '"history"' in raw[:30]:
                    break
            elapsed = time.perf_counter() - began
            if i >= WARM_UP:
                times, bad = results[k]
                times.append(elapsed)
                results[k] = (times, bad + (not _ok(json.loads(raw)["messages"], before, limit)))
    finally:
        for ws in sockets:
            await ws.close()
    return results


def pages_http(port: int, cookie: str, series, limit: int) -> list[tuple[list[float], int]]:
    """GET each page on one keep-alive connection, the rooms taking turns; return (seconds
    each, bad pages) per room of `series` [(room, befores)]."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    results = [([], 0) for _ in series]
    try:
        for k, i, before in _turns(series):
            began = time.perf_counter()
            conn.request(
                "GET",
                f"/api/rooms/{series[k][0]}/messages/?before={before}&limit={limit}",
                headers={"Cookie": cookie},
            )
            response = conn.getresponse()
            body = response.read()
            elapsed = time.perf_counter() - began
            if i >= WARM_UP:
                ok = response.status == 200 and _ok(json.loads(body)["messages"], before, limit)
                times, bad = results[k]
                times.append(elapsed)
                results[k] = (times, bad + (not ok))
    finally:
        conn.close()
    return results


def pages_in_process(server, series, limit: int) -> list[dict]:
    """Time message_page + encoding in a process of its own (bench/project_pages.py), the
    rooms taking turns; return its answer per room of `series` [(room, befores)]."""
    ask = {
        "rooms": [{"room": room, "befores": befores} for room, befores in series],
        "limit": limit,
        "warm_up": WARM_UP,
    }
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("project_pages.py"))],
        input=json.dumps(ask),
        capture_output=True,
        text=True,
        env=server.env,
        cwd=servers.ROOT,
        check=True,
    )
    return json.loads(done.stdout)["rooms"]


def pages_sql(db: Path, befores: list[int], limit: int, *, reconnect: bool):
    """Run the page query on the file, fetching the rows; return (seconds each, bad pages)."""
    uri = f"file:{db}?mode=ro"
    con = sqlite3.connect(uri, uri=True)
    room_id = con.execute("SELECT id FROM chat_room WHERE slug = ?", (ROOM,)).fetchone()[0]
    times, bad = [], 0
    for i, before in enumerate(befores):
        began = time.perf_counter()
        if reconnect:
            con.close()
            con = sqlite3.connect(uri, uri=True)
        rows = con.execute(PAGE_SQL, (room_id, before, limit + 1)).fetchall()
        elapsed = time.perf_counter() - began
        if i >= WARM_UP:
            times.append(elapsed)
            bad += len(rows) != limit + 1 or rows[0][0] != before - 1
    con.close()
    return times, bad


# --- ingest ----------------------------------------------------------------------------


async def _ingest_worker(wid: int, link, target, rooms: list[str], shape: dict):
    mine = list(enumerate(rooms))[wid :: shape["workers"]]
    project = target.protocol == "project"
    failures: Counter = Counter()
    errors: Counter = Counter()
    kinds: Counter = Counter()
    closes: Counter = Counter()
    sent_at: dict[str, float] = {}
    acked: dict[str, float] = {}
    all_acked = asyncio.Event()
    sending = True
    tasks = set()

    def on_frame(raw: str) -> None:
        if project:
            frame = json.loads(raw)
            if frame.get("type") == "message.new":
                cid = frame["message"].get("client_id")
            else:
                if frame.get("type") == "error":
                    errors[frame.get("code")] += 1
                return
        else:
            match = MARK.search(raw)
            cid = match.group(1) if match else None
        if cid in sent_at and cid not in acked:
            acked[cid] = time.time()
            if not sending and len(acked) == len(sent_at):
                all_acked.set()

    sem = asyncio.Semaphore(shape["concurrency"])
    socks = []

    async def open_one(k, room):
        async with sem:
            # User 0 reads the history; sender k is user k + 1.
            opened = await clients.open_retrying(target, room, target.cookie(k + 1), failures)
        if opened is not None:
            socks.append(opened[0])
            tasks.add(asyncio.create_task(clients.drain(opened[0], kinds, closes, on_frame)))

    await asyncio.gather(*(open_one(k, room) for k, room in mine))
    link.put((len(socks), dict(failures)))
    _tag, t0 = await link.get()
    my_rate = shape["rate"] * len(socks)
    count = round(shape["seconds"] * my_rate) if socks else 0
    interval = 1.0 / my_rate if my_rate else 0.0
    phase = interval * wid / shape["workers"]
    lag = 0.0
    for i in range(count):
        delay = t0 + phase + i * interval - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            lag = max(lag, -delay)
        cid = f"w{wid}-{i}"
        body = f"ingest~{cid}~ a message stored while the history is read"
        if project:
            text = json.dumps({"type": "message.send", "client_id": cid, "body": body})
        else:
            text = json.dumps({"type": "chat_message", "message": body})
        sent_at[cid] = time.time()
        await socks[i % len(socks)].send(text)
    sending = False
    if len(acked) < len(sent_at):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_acked.wait(), shape["drain"])
    latencies = [acked[c] - sent_at[c] for c in acked]
    link.put(
        (len(sent_at), len(acked), latencies, max(acked.values(), default=None), dict(errors), lag)
    )
    await link.get()
    await clients.close_all(socks)
    await asyncio.wait(tasks, timeout=10)
    link.put((dict(kinds), dict(closes)))


def ingest(server, target, db: Path, args, log) -> dict:
    rooms = [f"ingest-{i}" for i in range(args.ingest_senders)]
    shape = {
        "workers": args.workers,
        "concurrency": args.open_concurrency,
        "rate": args.ingest_rate,
        "seconds": args.ingest_seconds,
        "drain": 10.0,
    }
    with clients.Workers(args.workers, _ingest_worker, target, rooms, shape) as workers:
        answers = workers.recv(600)
        opened = sum(a[0] for a in answers)
        failures = Counter()
        for a in answers:
            failures.update(a[1])
        clients.wait_quiet(server.pid)
        rows_before = _count_rows(db)
        t0 = time.time() + 0.5
        cpu_before = clients.cpu_s(server.pid)
        answers = workers.ask(("go", t0), args.ingest_seconds + 60)
        cpu = clients.cpu_s(server.pid) - cpu_before
        workers.ask("close", 60)
    rows_after = _count_rows(db)
    # Naive answers nothing of its own: wait until its row count stops growing.
    for _ in range(50):
        time.sleep(0.2)
        now = _count_rows(db)
        if now == rows_after:
            break
        rows_after = now
    sent = sum(a[0] for a in answers)
    acked = sum(a[1] for a in answers)
    latencies = [x for a in answers for x in a[2]]
    last_ack = max((a[3] for a in answers if a[3] is not None), default=None)
    errors = Counter()
    for a in answers:
        errors.update(a[4])
    span = (last_ack - t0) if last_ack else None
    result = {
        "senders": opened,
        "senders_wanted": len(rooms),
        "open_failed_attempts": dict(failures),
        "offered_per_s": round(args.ingest_rate * opened, 1),
        "sent": sent,
        "acknowledged": acked,
        "rows_added": rows_after - rows_before,
        "stored_per_s": round(acked / span, 1) if span else None,
        "ack": clients.ms_summary(latencies),
        "errors": dict(errors),
        "sender_lag_max_ms": round(max(a[5] for a in answers) * 1000, 1),
        "server_cpu_s": round(cpu, 2),
        "server_cpu_s_per_1000": round(cpu / acked * 1000, 3) if acked else None,
    }
    log(
        f"  ingest: {opened} senders, {sent} sent, {acked} acknowledged, "
        f"{result['rows_added']} rows added; {result['stored_per_s']}/s "
        f"(offered {result['offered_per_s']}/s), ack p50 {result['ack']['p50_ms']} ms "
        f"p99 {result['ack']['p99_ms']} ms; errors {dict(errors)}; server CPU {cpu:.2f} s"
    )
    return result


# --- the scenario ----------------------------------------------------------------------


def _summary(times: list[float], bad: int) -> dict:
    return {**clients.ms_summary(times), "bad_pages": bad}


def deep_pages(server, target, db: Path, series, args, log) -> dict:
    """Time the deep pages of each room of `series` [(room, befores)], the rooms taking
    turns; the raw SQL on the first room alone. Return {"pages", "rich_pages"?, "parts"}."""
    limit = args.history_limit
    pages: list[dict] = [{} for _ in series]
    answers = loadgen.run_async(pages_ws(target, series, limit))
    for k, (times, bad) in enumerate(answers):
        pages[k]["websocket"] = _summary(times, bad)
    answers = pages_http(server.port, target.cookie(0), series, limit)
    for k, (times, bad) in enumerate(answers):
        pages[k]["http"] = _summary(times, bad)
    in_process = pages_in_process(server, series, limit)
    for k, answer in enumerate(in_process):
        pages[k]["in_process"] = _summary(answer["seconds"], answer["bad"])
    befores = series[0][1]
    times, bad = pages_sql(db, befores, limit, reconnect=False)
    pages[0]["sql"] = _summary(times, bad)
    times, bad = pages_sql(db, befores, limit, reconnect=True)
    pages[0]["sql_new_connection"] = _summary(times, bad)
    for (room, _befores), room_pages in zip(series, pages, strict=True):
        log(
            f"  deep pages of {room}, p50/p99 ms: "
            + ", ".join(f"{k} {v['p50_ms']}/{v['p99_ms']}" for k, v in room_pages.items())
            + f"; bad pages {sum(v['bad_pages'] for v in room_pages.values())}"
        )
    result = {"pages": pages[0]}
    if len(series) > 1:
        result["rich_pages"] = pages[1]
    result["in_process_detail"] = {
        room: {"frame_bytes": answer["frame_bytes"], "parts": answer["parts"]}
        for (room, _befores), answer in zip(series, in_process, strict=True)
    }
    return result


def run(server_name: str, args, log) -> dict:
    count = args.history_messages
    users = 1 + args.ingest_senders
    rich = args.history_rich and servers.is_project(server_name)
    rooms = [
        ROOM,
        *([RICH_ROOM] if rich else []),
        *(f"ingest-{i}" for i in range(args.ingest_senders)),
    ]
    server = servers.make(server_name)
    rooms_filled = "two rooms, plain and rich" if rich else "one room"
    log(f"[history] {server_name}: preparing ({count} messages in {rooms_filled})")
    try:
        server.prepare(users=users, rooms=rooms)
        began = time.monotonic()
        if servers.is_project(server_name):
            db = _project_db(server)
            first, last, _counted = fill_project(db, count, server)
            if rich:
                rich_first, _rich_last, rich_counted = fill_project(
                    db, count, server, room=RICH_ROOM, rich=True
                )
        else:
            db = Path(server.env["NAIVE_DB"])
            first, last = fill_naive(db, count)
        fill_s = time.monotonic() - began
        stored = count * (2 if rich else 1)
        log(
            f"  {stored} messages stored in {fill_s:.1f} s ({stored / fill_s:.0f}/s), "
            f"database {db.stat().st_size / 2**20:.0f} MiB"
        )
        if rich:
            log(f"  {RICH_ROOM}: {rich_counted}")
        server.start()
        target = clients.Target.of(server, server.cookies(users))
        result = {
            "messages": count,
            "fill_seconds": round(fill_s, 1),
            "database_mib": round(db.stat().st_size / 2**20, 1),
            "server": server.describe(),
        }
        if servers.is_project(server_name):
            rng = random.Random(SEED)
            limit = args.history_limit
            oldest_half = (first + limit + 1, first + (last - first) // 2)
            befores = [rng.randint(*oldest_half) for _ in range(WARM_UP + args.history_requests)]
            series = [(ROOM, befores)]
            if rich:
                # The same depth in the rich room: the same distance from its first message.
                series.append((RICH_ROOM, [before - first + rich_first for before in befores]))
                result["rich"] = {"room": RICH_ROOM, **rich_counted}
            result.update(deep_pages(server, target, db, series, args, log))
            result["before_range"] = list(oldest_half)
        result["ingest"] = ingest(server, target, db, args, log)
        return result
    finally:
        server.stop()


def markdown(report: dict) -> list[str]:
    res = report["results"][NAME]
    a = report["args"]
    lines = [
        f"### History: one room of {a['history_messages']:,} messages; ingest",
        "",
        f"Deep pages: {a['history_requests']} requests per method, one at a time, of "
        f"{a['history_limit']} messages before a random id in the oldest half of the room "
        f"(the same ids for every method); time until the whole answer is in.",
        "",
        "| server | method | p50 ms | p99 ms | max ms | wrong pages |",
        "|---|---|---:|---:|---:|---:|",
    ]
    labels = {
        "websocket": "`history` over the WebSocket",
        "http": "GET /api/rooms/<slug>/messages/",
        "in_process": "`message_page` + JSON encoding, in-process (no socket)",
        "sql": "raw SQL, one connection (reference)",
        "sql_new_connection": "raw SQL, new connection per query",
    }
    for name, r in res.items():
        if "pages" not in r:
            lines.append(f"| {name} | no history interface | | | | |")
            continue
        for key, page in r["pages"].items():
            lines.append(
                f"| {name} | {labels[key]} | {page['p50_ms']} | {page['p99_ms']} | "
                f"{page['max_ms']} | {page['bad_pages']} |"
            )
    for project in clients.project_names(res):
        if "pages" not in res[project]:
            continue
        pages = res[project]["pages"]
        sql = pages["sql"]["p99_ms"]
        lines.append("")
        for key in ("websocket", "http", "in_process"):
            if key not in pages:
                continue
            p99 = pages[key]["p99_ms"]
            met = p99 is not None and sql and p99 <= 2 * sql
            lines.append(
                f"- {project} {key}/raw SQL p99: {clients.ratio(p99, sql)} "
                f"({clients.verdict(TARGET, met)})"
            )
        if "rich_pages" in res[project]:
            lines.extend(_rich_markdown(res[project], a, labels))
    lines.extend(
        [
            "",
            f"Ingest: {a['ingest_senders']} sender sockets (one user, one room each) at "
            f"{a['ingest_rate']:g} msgs/s each for {a['ingest_seconds']:g} s, into the same "
            "database; stored/s = acknowledged / (last acknowledgement - first send).",
            "",
            "| server | offered/s | sent | acknowledged | rows added | stored/s | ack p50 ms "
            "| ack p99 ms | server CPU s / 1,000 | errors |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
    )
    for name, r in res.items():
        g = r["ingest"]
        errors = clients.counts_text(g["errors"])
        lines.append(
            f"| {name} | {g['offered_per_s']} | {g['sent']} | {g['acknowledged']} | "
            f"{g['rows_added']} | {g['stored_per_s']} | {g['ack']['p50_ms']} | "
            f"{g['ack']['p99_ms']} | {g['server_cpu_s_per_1000']} | {errors} |"
        )
    lines.append("| raw | stores nothing: n/a | | | | | | | | |")
    for project in clients.project_names(res) if "naive" in res else []:
        p, q = res[project]["ingest"], res["naive"]["ingest"]
        lines.append("")
        lines.append(
            f"- {project}/naive: stored/s "
            f"{clients.ratio(p['stored_per_s'], q['stored_per_s'])}, "
            f"ack p99 {clients.ratio(p['ack']['p99_ms'], q['ack']['p99_ms'])}, "
            f"CPU per message "
            f"{clients.ratio(p['server_cpu_s_per_1000'], q['server_cpu_s_per_1000'])}"
        )
    lines.append("")
    return lines


def _rich_markdown(project: dict, a: dict, labels: dict) -> list[str]:
    """The rich room's deep pages against the plain room's, and the bound of issue 16."""
    rich = project["rich"]
    share = 100 / rich["messages"]
    lines = [
        "",
        f"Rich history (--history-rich): a second room of the same {rich['messages']:,} "
        f"messages, of which {rich['replies'] * share:.1f}% answer an earlier one, "
        f"{rich['reacted_messages'] * share:.1f}% have reactions ({rich['reactions']:,} in all) "
        f"and {rich['attachments'] * share:.1f}% an attachment; its pages at the same depth, "
        "the two rooms taking turns.",
        "",
        "| method | plain p50 / p99 ms | rich p50 / p99 ms | rich / plain, p50 / p99 "
        "| wrong pages |",
        "|---|---:|---:|---:|---:|",
    ]
    verdicts = []
    for key in ("in_process", "websocket", "http"):
        plain, rich_page = project["pages"][key], project["rich_pages"][key]
        p50 = clients.ratio(rich_page["p50_ms"], plain["p50_ms"])
        p99 = clients.ratio(rich_page["p99_ms"], plain["p99_ms"])
        lines.append(
            f"| {labels[key]} | {plain['p50_ms']} / {plain['p99_ms']} | "
            f"{rich_page['p50_ms']} / {rich_page['p99_ms']} | {p50} / {p99} | "
            f"{plain['bad_pages']} / {rich_page['bad_pages']} |"
        )
        met = "n/a" not in (p50, p99) and float(p50) <= RICH_BOUND and float(p99) <= RICH_BOUND
        verdicts.append(f"- {key}: {clients.verdict(RICH_TARGET, met)}")
    detail = project.get("in_process_detail", {})
    plain_detail, rich_detail = detail.get(ROOM), detail.get(RICH_ROOM)
    if plain_detail and rich_detail and plain_detail["parts"] and rich_detail["parts"]:
        lines.extend(
            [
                "",
                "In-process, `message_page`'s steps timed apart (median us per page) and the "
                "frame's size:",
                "",
                "| room | rows' query | records | reactions' query | JSON encoding "
                "| pages with a reactions' query | frame bytes |",
                "|---|---:|---:|---:|---:|---:|---:|",
            ]
        )
        for room, d in ((ROOM, plain_detail), (RICH_ROOM, rich_detail)):
            parts = d["parts"]
            lines.append(
                f"| {room} | {parts['rows_query']} | {parts['records']} | {parts['reactions']} "
                f"| {parts['encode']} | {parts['reaction_queries']} / {a['history_requests']} "
                f"| {d['frame_bytes']:,.0f} |"
            )
    lines.extend(["", *verdicts])
    return lines


def plot(report: dict, path) -> bool:
    return False
