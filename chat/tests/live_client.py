"""A protocol-following client over real WebSockets, for tests against running servers.

The connection is the Python client's (client/chat_client): its Room connects with
?since=R, moves on to the next server when one cannot be reached, reconnects with
backoff and jitter, resends the outbox after each hello, asks for a sync when a gap
outlives the wait (or a pong is ahead), and resends a message refused with
server_error. What stays here is what only a test needs: the RoomView oracle (the
client state of PROTOCOL.md) fed with every frame received, a record of every frame
(with the number of its connection), of closes and of refused connects, and bounded
waits (wait_until, barrier, settle). settle also checks the library against the
oracle: the same revision, the same messages, each delivered once and in order.
"""

import asyncio
import contextlib
import itertools
import sys
import time
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from .room_view import RoomView

CLIENT_DIR = Path(__file__).resolve().parents[2] / "client"
if str(CLIENT_DIR) not in sys.path:
    sys.path.insert(0, str(CLIENT_DIR))

from chat_client import (  # noqa: E402 (found through the path set above)
    Backoff,
    ChatError,
    Client,
    ConnectAttempt,
    Event,
    FinalClose,
    MessageEvent,
    Settings,
)

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
    ):
        self.username = username
        self.slug = slug
        self.ports = list(ports)
        settings = Settings(
            open_timeout=5,
            gap_wait=gap_wait,
            backoff=Backoff(base=backoff[0], cap=backoff[1]),
            reconnect=reconnect,
        )
        # The session cookie of the test's user; each socket gets an Origin of its own
        # server (the same host on another port would be refused).
        self.client = Client(
            [f"http://127.0.0.1:{port}" for port in self.ports],
            session_cookie=cookie,
            settings=settings,
        )
        # since=0: every change of the room reaches the oracle, from the first hello on.
        self.room = self.client.room(
            slug, since=0, on_frame=self._observe_frame, on_attempt=self._observe_attempt
        )
        self.view = RoomView(username=username)
        self.sent: list[str] = []  # client_ids composed, in order
        # Everything received, as (monotonic time, connection number, frame).
        self.frames: list[tuple[float, int, dict]] = []
        self.closes: list[tuple[int, int | None]] = []  # (port, close code)
        self.refused: list[tuple[int, str]] = []  # (port, why) for failed connects
        self.connection = 0  # number of the current connection (counts hellos)
        self.events: list[Event] = []  # what the library handed to its consumer
        self._changed = asyncio.Event()
        self._reader: asyncio.Task | None = None

    # --- life cycle -----------------------------------------------------------------------

    async def start(self, *, within: float = 10) -> "LiveClient":
        """Connect, and return once the first hello has arrived."""
        self._reader = asyncio.get_running_loop().create_task(self._read_events())
        try:
            await self.room.start(within=within)
        except ChatError as error:
            raise AssertionError(f"{self.username}: no hello within {within} s: {error}") from error
        return self

    async def close(self):
        """Close the socket for good and stop every task of this client."""
        await self.room.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    @property
    def ready(self) -> bool:
        """Connected, and greeted with hello."""
        return self.room.connected

    @property
    def hello(self) -> dict:
        """The hello of the current (or last) connection."""
        return self.frames_of("hello")[-1]

    @property
    def port(self) -> int | None:
        """The port of the open connection."""
        server = self.room.server
        return None if server is None else urlsplit(server).port

    @property
    def stopped_for(self) -> int | None:
        """The close code after which the client stopped for good (4403, 4404, ...)."""
        failure = self.room.failure
        return failure.code if isinstance(failure, FinalClose) else None

    # --- sending --------------------------------------------------------------------------

    async def send(self, body: str) -> str:
        """Compose a message into the outbox, send it if connected; return its client_id."""
        client_id = self.view.compose(body)["client_id"]
        self.sent.append(client_id)
        self.room.send_nowait(body, client_id=client_id)
        return client_id

    async def send_frame(self, frame: dict) -> bool:
        """Send a frame as it is (False when not connected: it is not kept)."""
        return await self.room.send_frame(frame)

    # --- what the library reports ---------------------------------------------------------

    def _observe_frame(self, direction: Literal["received", "sent"], frame: dict[str, Any]):
        if direction != "received":
            return
        if frame.get("type") == "hello":
            self.connection += 1
        self.frames.append((time.monotonic(), self.connection, frame))
        self.view.handle(frame)  # its answers (sync requests) are the library's to send
        self._notify_soon()

    def _observe_attempt(self, attempt: ConnectAttempt):
        port = urlsplit(attempt.server).port or 0
        if attempt.opened:
            self.closes.append((port, attempt.close_code))
        else:
            self.refused.append((port, attempt.error or ""))
        self._notify_soon()

    async def _read_events(self):
        with contextlib.suppress(ChatError):  # the room stopped: stopped_for says why
            async for event in self.room:
                self.events.append(event)

    def _notify_soon(self):
        # After the library has taken the frame in (or stopped): waiters see its state.
        asyncio.get_running_loop().call_soon(self._notify)

    def _notify(self):
        event, self._changed = self._changed, asyncio.Event()
        event.set()

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
                    f"refused {self.refused[-3:]}, failure {self.room.failure!r})"
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
        """Ping; when the pong's revision is ahead of the view, wait for the library's sync
        to bring the view up to it.

        Retried on a new connection if the socket drops, or when the server cannot
        answer the ping (server_error, e.g. while the database is away).
        """
        deadline = time.monotonic() + within

        def remaining() -> float:
            return max(0.0, deadline - time.monotonic())

        while True:
            if remaining() <= 0:
                raise AssertionError(f"{self.username}: no barrier within {within} s")
            await self.wait_until(lambda: self.ready, remaining(), "a connection (barrier)")
            token = f"barrier-{self.username}-{next(_tokens)}"
            connection, mark = self.connection, len(self.frames)
            if not await self.send_frame({"type": "ping", "t": token}):
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
            # The library answers a pong ahead of it with a sync: wait for it to arrive.
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
        """Wait until every message sent is acknowledged, then barrier: fully caught up.
        Then the library must agree with the oracle."""
        deadline = time.monotonic() + within
        while True:
            await self.wait_until(
                lambda: not self.view.outbox,
                max(0.0, deadline - time.monotonic()),
                "an empty outbox",
            )
            await self.barrier(max(0.1, deadline - time.monotonic()))
            if not self.view.outbox and not self.view.has_gap():
                break
        self.assert_library_agrees()

    def assert_library_agrees(self):
        """The library's timeline holds what the oracle holds (each message at the same
        revision, R the same), its outbox is empty too, and the message events it handed
        out came once each, in revision order."""
        timeline = self.room.timeline
        oracle = {message_id: message["rev"] for message_id, message in self.view.messages.items()}
        revs = [event.message.rev for event in self.events if isinstance(event, MessageEvent)]
        problems = []
        if timeline.rev != self.view.rev:
            problems.append(f"R {timeline.rev}, the oracle's {self.view.rev}")
        if timeline.held != oracle:
            differ = sorted(set(timeline.held.items()) ^ set(oracle.items()))
            problems.append(f"(id, rev) held by one only: {differ[:10]}")
        if self.room.outbox:
            problems.append(f"outbox {sorted(self.room.outbox)}")
        if revs != sorted(set(revs)):
            problems.append("message events repeated or out of order")
        if problems:
            raise AssertionError(f"{self.username}: the library disagrees: {'; '.join(problems)}")
