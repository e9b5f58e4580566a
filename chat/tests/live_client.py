"""A protocol-following client over real WebSockets, for tests against running servers.

It wraps RoomView (the client state of PROTOCOL.md) and adds what a browser tab does
with it: connect with ?since=R, resend the outbox after each hello, answer frames as
the view says, ask for a sync when a gap outlives the wait, retry a message refused
with server_error after a short backoff, and reconnect when the socket closes, to the
next server when one refuses the connection. Every wait is bounded.

Its reconnect policy is the Python client's (client/chat_client): the close codes after
which no client reconnects, and exponential backoff with full jitter. What stays here is
what a test needs and a client library does not: the RoomView oracle, several servers
to fail over between, and a record of every frame.
"""

import asyncio
import contextlib
import itertools
import json
import sys
import time
from pathlib import Path

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from .room_view import RoomView

CLIENT_DIR = Path(__file__).resolve().parents[2] / "client"
if str(CLIENT_DIR) not in sys.path:
    sys.path.insert(0, str(CLIENT_DIR))

from chat_client.backoff import Backoff  # noqa: E402 (found through the path set above)
from chat_client.errors import FINAL_CLOSE_CODES  # noqa: E402

_tokens = itertools.count(1)


class LiveClient:
    """One tab in one room, connected to one of several server processes."""

    def __init__(
        self,
        *,
        username: str,
        cookie: str,
        slug: str,
        ports: list[int],
        reconnect: bool = True,
        gap_wait: float = 1.0,
        backoff: tuple[float, float] = (0.05, 0.5),
        retry: tuple[float, float] = (0.2, 1.0),
    ):
        self.username = username
        self.cookie = cookie
        self.slug = slug
        self.ports = list(ports)
        self.reconnect = reconnect
        self.gap_wait = gap_wait
        self.backoff = Backoff(base=backoff[0], cap=backoff[1])
        self.retry = Backoff(base=retry[0], cap=retry[1])
        self.view = RoomView(username=username)
        self.sent: list[str] = []  # client_ids composed, in order
        # Everything received, as (monotonic time, connection number, frame).
        self.frames: list[tuple[float, int, dict]] = []
        self.closes: list[tuple[int, int | None]] = []  # (port, close code)
        self.refused: list[tuple[int, str]] = []  # (port, why) for failed connects
        self.connection = 0  # number of the current connection (counts hellos)
        self.port: int | None = None  # the port of the open connection
        self.stopped_for: int | None = None
        self._port_index = 0
        self._ws = None
        self._ready = False
        self._closing = False
        self._changed = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._retries: dict[str, int] = {}
        self._helpers: set[asyncio.Task] = set()

    # --- life cycle -----------------------------------------------------------------------

    async def start(self, *, within: float = 10) -> "LiveClient":
        """Connect, and return once the first hello has arrived."""
        self._task = asyncio.get_running_loop().create_task(self._run())
        await self.wait_until(lambda: self._ready, within, "the first hello")
        return self

    async def close(self):
        """Close the socket for good and stop every task of this client."""
        self._closing = True
        if self._ws is not None:
            await self._ws.close()
        for task in [self._task, *self._helpers]:
            if task is not None and not task.done():
                task.cancel()
        for task in [self._task, *self._helpers]:
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    @property
    def ready(self) -> bool:
        """Connected, and greeted with hello."""
        return self._ready

    @property
    def hello(self) -> dict:
        """The hello of the current (or last) connection."""
        return self.frames_of("hello")[-1]

    # --- sending --------------------------------------------------------------------------

    async def send(self, body: str) -> str:
        """Compose a message into the outbox, send it if connected; return its client_id."""
        frame = self.view.compose(body)
        self.sent.append(frame["client_id"])
        await self._send(frame)
        return frame["client_id"]

    async def send_frame(self, frame: dict):
        await self._send(frame)

    async def _send(self, frame: dict) -> bool:
        ws = self._ws
        if ws is None or not self._ready:
            return False  # resent after the next hello
        try:
            await ws.send(json.dumps(frame))
        except ConnectionClosed:
            return False
        return True

    # --- waiting --------------------------------------------------------------------------

    async def wait_until(self, predicate, within: float, what: str = "a condition"):
        """Wait until the predicate holds, re-checking whenever something happens."""
        deadline = time.monotonic() + within
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"{self.username}: timed out after {within} s waiting for {what} "
                    f"(port {self.port}, connection {self.connection}, rev {self.view.rev}, "
                    f"outbox {len(self.view.outbox)}, closes {self.closes[-3:]}, "
                    f"refused {self.refused[-3:]})"
                )
            event = self._changed
            # Wake at least every 0.1 s: some predicates depend on the clock.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, 0.1))

    def frames_of(self, kind: str, *, since: int = 0, **fields) -> list[dict]:
        """Frames of a kind received from index `since` on, matching the fields given."""
        return [
            frame
            for _at, _conn, frame in self.frames[since:]
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in fields.items())
        ]

    def received_live(self, message_id: int) -> bool:
        """Tell whether a message arrived as a live message.new (not only through sync)."""
        return any(frame["message"]["id"] == message_id for frame in self.frames_of("message.new"))

    async def barrier(self, within: float = 15):
        """Ping; when the pong's revision is ahead of the view, sync; return when caught up.

        Retried on a new connection if the socket drops, or when the server cannot
        answer the ping (server_error, e.g. while the database is away).
        """
        deadline = time.monotonic() + within

        def remaining() -> float:
            return max(0.0, deadline - time.monotonic())

        while True:
            if remaining() <= 0:
                raise AssertionError(f"{self.username}: no barrier within {within} s")
            await self.wait_until(lambda: self._ready, remaining(), "a connection (barrier)")
            token = f"barrier-{self.username}-{next(_tokens)}"
            connection, mark = self.connection, len(self.frames)
            if not await self._send({"type": "ping", "t": token}):
                await asyncio.sleep(0.05)  # the socket is going: let the reader see it
                continue

            def answered(connection=connection, mark=mark, token=token) -> bool:
                return (
                    self.connection != connection
                    or bool(self.frames_of("pong", since=mark, t=token))
                    or self._server_error_since(mark)
                )

            await self.wait_until(answered, remaining(), f"the pong {token}")
            pongs = self.frames_of("pong", since=mark, t=token)
            if not pongs or self.connection != connection:
                await asyncio.sleep(min(0.2, remaining()))
                continue
            # The view answered a pong ahead of it with a sync: wait for it to arrive.
            target = pongs[0]["rev"]
            await self.wait_until(
                lambda connection=connection, target=target: (
                    self.view.rev >= target or self.connection != connection
                ),
                remaining(),
                f"the sync up to rev {target}",
            )
            if self.view.rev >= target:
                return

    def _server_error_since(self, mark: int) -> bool:
        return any(
            frame.get("code") == "server_error" and "client_id" not in frame
            for frame in self.frames_of("error", since=mark)
        )

    async def settle(self, within: float = 30):
        """Wait until every message sent is acknowledged, then barrier: fully caught up."""
        deadline = time.monotonic() + within
        while True:
            await self.wait_until(
                lambda: not self.view.outbox,
                max(0.0, deadline - time.monotonic()),
                "an empty outbox",
            )
            await self.barrier(max(0.1, deadline - time.monotonic()))
            if not self.view.outbox and not self.view.has_gap():
                return

    # --- the connection loop -------------------------------------------------------------

    def _notify(self):
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def _run(self):
        attempt = 0
        while not self._closing:
            port = self.ports[self._port_index]
            url = f"ws://127.0.0.1:{port}/ws/rooms/{self.slug}/?since={self.view.rev}"
            # A page of this server: the same host on another port would be refused.
            origin = f"http://127.0.0.1:{port}"
            headers = {"Origin": origin, "Cookie": f"sessionid={self.cookie}"}
            opened = False
            greeted_before = self.connection
            try:
                async with connect(
                    url,
                    additional_headers=headers,
                    open_timeout=5,
                    close_timeout=2,
                    ping_interval=None,
                    max_size=2**22,
                    compression=None,
                ) as ws:
                    opened = True
                    self._ws, self.port = ws, port
                    await self._read(ws)
            except ConnectionClosed:
                pass
            except (OSError, InvalidHandshake, InvalidStatus, TimeoutError) as error:
                self.refused.append((port, repr(error)))
            finally:
                ws, self._ws, self._ready, self.port = self._ws, None, False, None
            if opened:
                self.closes.append((port, ws.close_code if ws is not None else None))
                if ws is not None and ws.close_code in FINAL_CLOSE_CODES:
                    self.stopped_for = ws.close_code
                    self._notify()
                    return
            else:
                # That server is down: try the next one.
                self._port_index = (self._port_index + 1) % len(self.ports)
            self._notify()
            if not self.reconnect or self._closing:
                return
            # Back off more after each attempt that did not get as far as a hello.
            attempt = 0 if self.connection != greeted_before else attempt + 1
            await asyncio.sleep(self.backoff.delay(max(0, attempt - 1)))

    async def _read(self, ws):
        gap_watch = asyncio.get_running_loop().create_task(self._watch_gaps(ws))
        try:
            async for raw in ws:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "hello":
                    self.connection += 1
                self.frames.append((time.monotonic(), self.connection, frame))
                answers = self.view.handle(frame)
                if kind == "hello":
                    self._ready = True
                    answers = [*answers, *self.view.resend_frames()]
                elif kind == "error" and frame.get("code") == "server_error":
                    self._retry_later(frame.get("client_id"))
                for answer in answers:
                    await ws.send(json.dumps(answer))
                self._notify()
        finally:
            gap_watch.cancel()

    async def _watch_gaps(self, ws):
        """Ask for a sync when a gap in revisions lasts longer than the wait."""
        gap_since = None
        while True:
            await asyncio.sleep(0.1)
            if not self.view.has_gap():
                gap_since = None
            elif gap_since is None:
                gap_since = time.monotonic()
            elif time.monotonic() - gap_since >= self.gap_wait:
                gap_since = time.monotonic()
                try:
                    await ws.send(json.dumps(self.view.sync_frame()))
                except ConnectionClosed:
                    return

    def _retry_later(self, client_id: str | None):
        """Resend a message the server could not store, after a growing delay."""
        if client_id is None or client_id not in self.view.outbox:
            return
        tries = self._retries.get(client_id, 0)
        self._retries[client_id] = tries + 1
        delay = self.retry.delay(tries)

        async def resend():
            await asyncio.sleep(delay)
            body = self.view.outbox.get(client_id)
            if body is not None:
                await self._send({"type": "message.send", "client_id": client_id, "body": body})

        task = asyncio.get_running_loop().create_task(resend())
        self._helpers.add(task)
        task.add_done_callback(self._helpers.discard)
