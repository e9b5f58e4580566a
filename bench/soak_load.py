"""The client side of the soak (scenario_soak.py): sockets that come and go all the time.

One `Load` per client process (clients.Workers). From t0 to t_end it:

- opens sockets on a fixed schedule (the opens of the run spread evenly over the load
  phase), each for a random lifetime around the mean that keeps --soak-sockets open at
  once; a socket is a tab (`/ws/`, protocol 2) that sends `view` for a room, or a room
  socket (`/ws/rooms/<slug>/`, protocol 1). Most go to one of their user's rooms, some
  to another public room (a reader who is not a member). Some open with `?since=` (or
  `view` with `since`) to catch up; some tabs switch the room in view halfway; a tab
  marks its room read before it closes. A failed open is counted, never retried.
- sends messages at a steady total rate from random open sockets in a room their user
  is a member of (so the rooms' membership, and with it the work per message, stays
  the same all along): plain, some Markdown, some mentioning a member, a few @here and
  @room. Each is acknowledged by its `message.new` on the sending socket.
- sends `typing` from random open sockets at a steady rate.
- at t_end closes every socket it holds.

Then the parent hands every process the messages of all of them (`account`): each
socket's windows (room, from ready to the start of its close) give the messages it must
have received: sent after it was ready, acknowledged at least GRACE s before it closed.
"""

import asyncio
import bisect
import contextlib
import json
import random
import re
import time
from collections import Counter

import clients
import loadgen
from websockets.exceptions import ConnectionClosed

# A message acknowledged this long before a socket started closing must have reached it.
GRACE = 2.0
# At the end of the load, wait this long at most for the messages sent to be acknowledged.
ACK_WAIT = 15.0
OPEN_TIMEOUT = 30.0
TYPE = re.compile(r'"type"\s*:\s*"([^"]+)"')
# ~soak~<worker>.<n>~ at the start of every body this load sends.
MARK = re.compile(r"~soak~(\d+\.\d+)~")
BODIES = {
    "plain": "{mark} an ordinary message about the weather and the next meeting",
    "markdown": "{mark} **bold**, _italics_, `code` and a link https://example.com/soak\n"
    "- one\n- two\n> quoted",
    "mention": "{mark} hello @{member}, have a look at this **when you can**",
    "here": "{mark} @here anyone around?",
    "room": "{mark} @room the meeting moves to 3 pm",
}


def target(port: int, kind: str) -> clients.Target:
    """Where a socket of this kind ("tab" or "room") opens on the server at this port."""
    path = "/ws/" if kind == "tab" else "/ws/rooms/{room}/"
    return clients.Target(
        "project", f"ws://127.0.0.1:{port}{path}", f"http://127.0.0.1:{port}", [None]
    )


def user_rooms(user: int, rooms: int, memberships: int) -> list[int]:
    """The rooms (indexes) a user is a member of: `memberships` of them, spread evenly."""
    count = min(memberships, rooms)
    step = max(1, rooms // max(count, 1))
    return sorted({(user + j * step) % rooms for j in range(count)})


class _Session:
    """One socket's life: who, where, and what it received."""

    __slots__ = (
        "closing",
        "ended",
        "kind",
        "member",
        "received",
        "rev",
        "room",
        "sent",
        "slot",
        "typing",
        "user",
        "view",
        "windows",
        "ws",
    )

    def __init__(self, kind: str, user: int, room: str, member: bool):
        self.kind, self.user, self.room, self.member = kind, user, room, member
        self.ws = None
        self.rev = 0
        self.windows: list[list] = []  # [room, ready at, closing from (or None)]
        self.received: set[str] = set()
        self.sent: set[str] = set()
        self.view: asyncio.Future | None = None
        self.closing = False
        self.ended: float | None = None
        self.slot = -1
        self.typing = False


class Load:
    """One client process's share of the soak."""

    def __init__(self, wid: int, shape: dict):
        self.wid = wid
        self.shape = shape
        self.workers = shape["workers"]
        self.rng = random.Random(shape["seed"] * 1000 + wid)
        self.rooms = shape["rooms"]
        self.users = len(shape["cookies"])
        self.members: dict[str, list[int]] = {room: [] for room in self.rooms}
        for user in range(self.users):
            for r in user_rooms(user, len(self.rooms), shape["memberships"]):
                self.members[self.rooms[r]].append(user)
        self.targets = {
            (port, kind): target(port, kind) for port in shape["ports"] for kind in ("tab", "room")
        }
        self.stop = asyncio.Event()
        self.live: list[_Session] = []  # ready, in a room where its user may post
        self.finished: list[_Session] = []
        self.tasks: set[asyncio.Task] = set()
        self.room_rev: dict[str, int] = {}
        # mid -> [room, sent at, acknowledged at]
        self.messages: dict[str, list] = {}
        self.unacked: dict[str, _Session] = {}
        self.counts: Counter = Counter()
        self.failures: Counter = Counter()
        self.server_closes: Counter = Counter()
        self.errors: Counter = Counter()
        self.refused: Counter = Counter()
        self.kinds: Counter = Counter()
        self.open_seconds: list[float] = []
        self.lag = {"open": 0.0, "send": 0.0, "typing": 0.0}
        self.opening = asyncio.Semaphore(shape["open_concurrency"])

    # --- the live set: sessions messages and typing may come from ---------------------

    def _enter(self, session: _Session) -> None:
        session.slot = len(self.live)
        self.live.append(session)

    def _leave(self, session: _Session) -> None:
        if session.slot < 0:
            return
        last = self.live.pop()
        if last is not session:
            self.live[session.slot] = last
            last.slot = session.slot
        session.slot = -1

    # --- one socket -------------------------------------------------------------------

    def _pick(self) -> _Session:
        user = self.rng.randrange(self.users)
        kind = "tab" if self.rng.random() < self.shape["tab_share"] else "room"
        mine = user_rooms(user, len(self.rooms), self.shape["memberships"])
        if self.rng.random() < self.shape["reader_share"]:
            room = self.rng.choice(self.rooms)
        else:
            room = self.rooms[self.rng.choice(mine)]
        return _Session(kind, user, room, self.rooms.index(room) in mine)

    def _since(self, room: str) -> int | None:
        """A revision a little behind the newest this process saw, for some opens."""
        if self.rng.random() >= self.shape["since_share"] or room not in self.room_rev:
            return None
        return max(0, self.room_rev[room] - self.rng.randrange(1, 10))

    async def _session(self, port: int, lifetime: float) -> None:
        session = self._pick()
        target = self.targets[(port, session.kind)]
        cookie = self.shape["cookies"][session.user]
        try:
            async with self.opening:
                if self.stop.is_set():
                    self.counts["opens_not_started"] += 1
                    return
                # Timed from here: the wait for a free place among the opens in flight is
                # the client's own queue.
                self.counts["opens_attempted"] += 1
                began = time.time()
                since = self._since(session.room)
                query = f"?since={since}" if since is not None and session.kind == "room" else ""
                session.ws, hello = await clients.open_socket(target, session.room, cookie, query)
                session.rev = hello.get("rev") or 0
                reader = asyncio.create_task(self._read(session))
                self.tasks.add(reader)
                reader.add_done_callback(self.tasks.discard)
                if session.kind == "tab":
                    await self._view(session, session.room, since)
        except Exception as exc:
            self.failures[clients.failure_reason(exc)] += 1
            if session.ws is not None:
                session.closing = True
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(session.ws.close(), 10)
            return
        ready = time.time()
        self.open_seconds.append(ready - began)
        self.counts["opens_completed"] += 1
        session.windows.append([session.room, ready, None])
        self.finished.append(session)
        if session.member:
            self._enter(session)
        try:
            switch = session.kind == "tab" and self.rng.random() < self.shape["switch_share"]
            if switch:
                await self._live_for(session, lifetime / 2)
                await self._switch(session)
                await self._live_for(session, lifetime / 2)
            else:
                await self._live_for(session, lifetime)
            await self._close(session)
        finally:
            self._leave(session)

    async def _live_for(self, session: _Session, seconds: float) -> None:
        if session.ended is None and not self.stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), seconds)

    async def _view(self, session: _Session, room: str, since: int | None) -> None:
        """Send `view` and wait for its answer; raise OpenFailed when refused."""
        session.view = asyncio.get_running_loop().create_future()
        frame = {"type": "view", "room": room}
        if since is not None:
            frame["since"] = since
        await session.ws.send(json.dumps(frame))
        answer = await asyncio.wait_for(session.view, OPEN_TIMEOUT)
        if answer.get("type") != "view":
            raise clients.OpenFailed(f"view: {answer.get('code')}")
        session.rev = answer.get("rev") or 0

    async def _switch(self, session: _Session) -> None:
        """Put another room in view (a tab moving between rooms)."""
        if session.ended is not None or self.stop.is_set():
            return
        mine = user_rooms(session.user, len(self.rooms), self.shape["memberships"])
        others = [self.rooms[r] for r in mine if self.rooms[r] != session.room]
        if not others:
            return
        room = self.rng.choice(others)
        self._leave(session)
        session.windows[-1][2] = time.time()
        try:
            await self._view(session, room, self._since(room))
        except Exception as exc:
            # Out of the live set, its window closed: it only waits to be closed.
            self.failures[f"switch: {clients.failure_reason(exc)}"] += 1
            return
        self.counts["view_switches"] += 1
        session.room, session.member = room, True
        session.windows.append([room, time.time(), None])
        self._enter(session)

    async def _close(self, session: _Session) -> None:
        now = time.time()
        if session.windows[-1][2] is None:
            session.windows[-1][2] = session.ended or now
        if session.ended is not None:
            return  # the server closed it
        self._leave(session)
        if session.kind == "tab" and session.member and session.rev:
            # What a tab does when the reader saw the room: mark it read (a reader who
            # is not a member has no marker).
            with contextlib.suppress(Exception):
                await session.ws.send(
                    json.dumps({"type": "read", "room": session.room, "rev": session.rev})
                )
                self.counts["reads_sent"] += 1
        session.closing = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(session.ws.close(), 10)

    async def _read(self, session: _Session) -> None:
        try:
            async for raw in session.ws:
                match = TYPE.search(raw, 0, 80)
                kind = match.group(1) if match else "?"
                self.kinds[kind] += 1
                if kind == "message.new":
                    self._message(session, raw)
                elif kind in ("view", "error"):
                    frame = json.loads(raw)
                    if kind == "error":
                        self._error(frame)
                    waiting = session.view
                    # A refused `view` names its room; errors about a send name their
                    # client_id instead.
                    about_view = kind == "view" or (
                        frame.get("room") is not None and not frame.get("client_id")
                    )
                    if waiting is not None and not waiting.done() and about_view:
                        waiting.set_result(frame)
        except ConnectionClosed as exc:
            if not session.closing:
                self.server_closes[str(exc.rcvd.code if exc.rcvd else None)] += 1
                session.ended = time.time()
                self._leave(session)

    def _message(self, session: _Session, raw: str) -> None:
        frame = json.loads(raw)
        message = frame.get("message") or {}
        room = frame.get("room") or message.get("room")
        rev = message.get("rev")
        if isinstance(rev, int):
            if rev > self.room_rev.get(room, 0):
                self.room_rev[room] = rev
            if room == session.room and rev > session.rev:
                session.rev = rev
        match = MARK.search(message.get("body") or "")
        if match is None:
            return
        mid = match.group(1)
        self.counts["deliveries"] += 1
        if mid in session.received:
            self.counts["duplicate_deliveries"] += 1
        session.received.add(mid)
        if mid in session.sent:
            sent = self.messages.get(mid)
            if sent is not None and sent[2] is None:
                sent[2] = time.time()
                self.unacked.pop(mid, None)

    def _error(self, frame: dict) -> None:
        code = frame.get("code") or "?"
        self.errors[code] += 1
        client_id = frame.get("client_id") or ""
        if client_id.startswith("soak-"):
            self.refused[code] += 1

    # --- traffic ------------------------------------------------------------------------

    async def _every(self, rate: float, t0: float, t_end: float, lag_key: str, act) -> None:
        """Call act() at `rate` a second from t0 to t_end, on time (noting how late)."""
        if rate <= 0:
            return
        interval = 1 / rate
        due = t0 + self.rng.random() * interval
        while due < t_end and not self.stop.is_set():
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self.lag[lag_key] = max(self.lag[lag_key], time.time() - due)
            act(due)
            due += interval

    def _open_one(self, due: float) -> None:
        # The processes take turns over the server processes' ports.
        ports = self.shape["ports"]
        port = ports[(self.counts["scheduled"] + self.wid) % len(ports)]
        self.counts["scheduled"] += 1
        mean = self.shape["lifetime_s"]
        task = asyncio.create_task(self._session(port, self.rng.uniform(0.5, 1.5) * mean))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _send_one(self, _due: float) -> None:
        if not self.live:
            self.counts["sends_skipped"] += 1
            return
        session = self.rng.choice(self.live)
        n = self.counts["messages_sent"]
        mid = f"{self.wid}.{n}"
        draw = self.rng.random()
        shares = self.shape
        if draw < shares["here_share"]:
            kind = "here"
        elif draw < shares["here_share"] + shares["room_share"]:
            kind = "room"
        elif draw < shares["here_share"] + shares["room_share"] + shares["mention_share"]:
            kind = "mention"
        elif draw < 1 - (1 - shares["markdown_share"]) * (1 - shares["mention_share"]):
            kind = "markdown"
        else:
            kind = "plain"
        member = self.rng.choice(self.members[session.room] or [session.user])
        body = BODIES[kind].format(mark=f"~soak~{mid}~", member=f"bench{member}")
        frame = {"type": "message.send", "client_id": f"soak-{self.wid}-{n}", "body": body}
        if session.kind == "tab":
            frame["room"] = session.room
        self.counts["messages_sent"] += 1
        self.counts[f"bodies_{kind}"] += 1
        self.messages[mid] = [session.room, time.time(), None]
        self.unacked[mid] = session
        session.sent.add(mid)
        self._send(session, frame)

    def _type_one(self, _due: float) -> None:
        if not self.live:
            return
        session = self.rng.choice(self.live)
        session.typing = not session.typing
        frame = {"type": "typing", "active": session.typing}
        if session.kind == "tab":
            frame["room"] = session.room
        self.counts["typing_sent"] += 1
        self._send(session, frame)

    def _send(self, session: _Session, frame: dict) -> None:
        async def send():
            try:
                await session.ws.send(json.dumps(frame))
            except Exception:
                self.counts["send_failures"] += 1

        task = asyncio.create_task(send())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def run(self, t0: float, t_end: float) -> dict:
        """Open, send and type until t_end; then close every socket. Return the counts."""
        cpu_before = loadgen._cpu_self()
        shape = self.shape
        await asyncio.sleep(max(0.0, t0 - time.time()))
        per_worker = 1 / self.workers
        await asyncio.gather(
            self._every(shape["open_rate"] * per_worker, t0, t_end, "open", self._open_one),
            self._every(shape["message_rate"] * per_worker, t0, t_end, "send", self._send_one),
            self._every(shape["typing_rate"] * per_worker, t0, t_end, "typing", self._type_one),
        )
        # The last messages' acknowledgements, before their sockets close (at most ACK_WAIT).
        for _ in range(int(ACK_WAIT / 0.2)):
            if not any(s.ended is None and not s.closing for s in self.unacked.values()):
                break
            await asyncio.sleep(0.2)
        self.stop.set()
        closing_began = time.time()
        deadline = closing_began + shape["close_timeout"]
        while self.tasks and time.time() < deadline:
            await asyncio.wait(set(self.tasks), timeout=max(0.1, deadline - time.time()))
        for task in list(self.tasks):
            task.cancel()
            self.counts["tasks_cancelled"] += 1
        acked = sum(1 for m in self.messages.values() if m[2] is not None)
        return {
            "counts": dict(self.counts),
            "messages_acknowledged": acked,
            "open_failures": dict(self.failures),
            "server_closes": dict(self.server_closes),
            "errors": dict(self.errors),
            "refused": dict(self.refused),
            "frames_by_type": dict(self.kinds),
            "open_seconds": self.open_seconds,
            "lag_max_s": {key: round(value, 3) for key, value in self.lag.items()},
            "closing_s": round(time.time() - closing_began, 2),
            "client_cpu_s": round(loadgen._cpu_self() - cpu_before, 2),
            "messages": self.messages,
        }

    def account(self, messages: dict) -> dict:
        """Count, over every socket's windows, the messages it must have had and had."""
        by_room: dict[str, list] = {}
        for mid, (room, sent, acked) in messages.items():
            by_room.setdefault(room, []).append((sent, acked, mid))
        times = {}
        for room, rows in by_room.items():
            rows.sort()
            times[room] = [row[0] for row in rows]
        expected = received = 0
        missing: list = []
        for session in self.finished:
            for room, start, end in session.windows:
                rows = by_room.get(room)
                if not rows or end is None:
                    continue
                i = bisect.bisect_right(times[room], start)
                while i < len(rows) and rows[i][0] < end:
                    _sent, acked, mid = rows[i]
                    i += 1
                    if acked is None or acked + GRACE >= end:
                        continue
                    expected += 1
                    if mid in session.received:
                        received += 1
                    elif len(missing) < 10:
                        missing.append(
                            {"message": mid, "room": room, "socket": session.kind,
                             "ready": round(start, 3), "closing": round(end, 3)}
                        )  # fmt: skip
        return {"expected": expected, "received": received, "missing_examples": missing}


async def worker(wid: int, link, shape: dict) -> None:
    """Run the load when told, report, then account for the messages of every process."""
    load = Load(wid, shape)
    _command, t0, t_end = await link.get()
    link.put(await load.run(t0, t_end))
    _command, messages = await link.get()
    link.put(load.account(messages))
