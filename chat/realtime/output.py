"""A socket's output, in order, that never makes its caller wait on a slow client.

The room hub hands each event to every socket of its topic, one after the other. daphne's
`websocket.send` never waits (Twisted buffers; backpressure.py bounds it), but other
servers' does while the connection's write buffer is full: uvicorn's waits until the
client reads. One client that stopped reading would then stop the hub, and with it every
socket of the process, until its ping timeout dropped it; and the hub's own queue in the
channel layer, full meanwhile, would drop events for everyone.

SocketOutput runs each send at once, as far as it goes: almost always to the end (the
frame is in the buffer), with no task. A send that has to wait is finished in a task of
the socket's own, and what the socket sends meanwhile waits behind it in a backlog, in
order. Past `limit` bytes of backlog the client is given up on: the backlog is dropped,
so is whatever comes after, and the connection is dropped at once (abort_connection), so
the application hears its disconnect and the client reconnects and catches up by revision
(4408 in docs/protocol.md). A close frame could not get past the full buffer: uvicorn
would wait for it for ever, as a client that keeps the TCP connection open without
reading never lets its buffer drain, and its ping timeout only asks for a graceful close.
A socket thus holds at most the server's buffer, one frame and `limit`.
"""

import asyncio
import contextlib
import logging
import socket
import struct
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

from .backpressure import CLOSE_OUTPUT_BACKLOG

logger = logging.getLogger(__name__)

Message = dict[str, Any]


class _Resumed:
    """Await a coroutine that has already run to its first suspension.

    What a task does for a coroutine, from where the caller left it: the future it is
    waiting on goes to the event loop, and its result (or a cancellation) back in.
    """

    __slots__ = ("coroutine", "waiting_on")

    def __init__(self, coroutine: Coroutine, waiting_on: Any):
        self.coroutine, self.waiting_on = coroutine, waiting_on

    def __await__(self) -> Generator[Any, Any, Any]:
        waiting_on = self.waiting_on
        while True:
            try:
                value = yield waiting_on
            except BaseException as error:  # a cancellation, thrown in by the task
                step = self.coroutine.throw
                argument: Any = error
            else:
                step = self.coroutine.send
                argument = value
            try:
                waiting_on = step(argument)
            except StopIteration as done:
                return done.value


class SocketOutput:
    """Wrap a server's ASGI `send` for one socket (see the module's docstring)."""

    __slots__ = ("backlog", "backlog_bytes", "gave_up", "limit", "on_overflow", "send", "sender")

    def __init__(
        self,
        send: Callable[[Message], Awaitable[None]],
        *,
        limit: int,
        on_overflow: Callable[[int], None],
    ):
        self.send = send
        self.limit = limit
        # Called once, with the backlog's size, when the client is given up on.
        self.on_overflow = on_overflow
        # Messages waiting behind a send that could not finish at once; None while none is.
        self.backlog: deque[Message] | None = None
        self.backlog_bytes = 0
        self.sender: asyncio.Task | None = None
        self.gave_up = False

    async def __call__(self, message: Message) -> None:
        if self.gave_up:
            return
        if self.backlog is not None:
            self._queue(message)
            return
        sending = self.send(message)
        if not isinstance(sending, Coroutine):
            await sending  # an awaitable of the server's own making: awaited as it is
            return
        try:
            waiting_on = sending.send(None)
        except StopIteration:
            return  # sent (the usual case), or raised: the caller sees it as before
        self.backlog, self.backlog_bytes = deque(), 0
        self.sender = asyncio.ensure_future(self._finish(_Resumed(sending, waiting_on)))

    def _queue(self, message: Message) -> None:
        self.backlog.append(message)
        self.backlog_bytes += _size(message)
        if self.backlog_bytes > self.limit:
            self.gave_up = True
            dropped = self.backlog_bytes
            self.backlog.clear()
            if not abort_connection(self.send):
                # A server whose connection is out of reach: a close, after what waits.
                self.backlog.append({"type": "websocket.close", "code": CLOSE_OUTPUT_BACKLOG})
            self.on_overflow(dropped)

    async def _finish(self, waiting: _Resumed) -> None:
        """Finish the send that had to wait, then the backlog, in order."""
        try:
            await waiting
            while self.backlog:
                await self.send(self.backlog.popleft())
        except Exception:
            # The client went (the server says so in its own way), or the server refused
            # a frame: its disconnect is on its way either way.
            logger.debug("A socket's waiting output was not sent.", exc_info=True)
        finally:
            self.backlog, self.backlog_bytes = None, 0

    def cancel(self) -> None:
        """Stop sending what waits: the socket has ended."""
        if self.sender is not None and not self.sender.done():
            self.sender.cancel()

    async def drained(self) -> None:
        """Wait until nothing waits to be sent (for tests and a graceful end)."""
        if self.sender is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self.sender)


def abort_connection(send: Callable) -> bool:
    """Drop the TCP connection under a server's `send` now; False when out of reach.

    ASGI has no way to abort a connection. uvicorn's `send` is a method of its protocol
    object, whose `transport` is asyncio's or uvloop's (chat/tests/test_backpressure.py
    drops a stalled client of the production server this way); aborting it discards the
    buffer, and uvicorn then tells the application `websocket.disconnect` and wakes the
    send waiting on the buffer. daphne never gets here: its sends do not wait
    (backpressure.py drops its sockets).
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    # asyncio's transports and uvloop's (which do not derive from asyncio's classes).
    abort = getattr(transport, "abort", None)
    if not callable(abort):
        return False
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # A reset, as Twisted's abort sends: a plain close would leave the kernel
        # holding the unsent bytes, then a FIN behind them, for a client that never
        # reads them.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    abort()
    return True


def _size(message: Message) -> int:
    text, data = message.get("text"), message.get("bytes")
    return len(text) if text is not None else len(data) if data is not None else 0
