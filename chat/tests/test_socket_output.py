"""A socket's output (chat/realtime/output.py) against a server whose send waits while the
client does not read, as uvicorn's does: the caller never waits, the order holds, and a
client past the bound is given up on. The server's send here is a stand-in (a list and an
event); the real servers are in ops/tests/test_asgi_servers.py."""

import asyncio
import unittest

from chat.realtime.backpressure import CLOSE_OUTPUT_BACKLOG
from chat.realtime.output import SocketOutput


class ServerSend:
    """A server's `websocket.send`: waits while the client's buffer is full."""

    def __init__(self):
        self.sent: list[dict] = []
        self.writable = asyncio.Event()
        self.writable.set()
        self.gone = False

    async def send(self, message):
        await self.writable.wait()
        if self.gone:
            raise OSError("the client has gone")
        self.sent.append(message)


def text(n: int, size: int = 10) -> dict:
    return {"type": "websocket.send", "text": f"{n:0{size}d}"}


class SocketOutputTests(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        self.server = ServerSend()
        self.overflows: list[int] = []
        self.output = SocketOutput(self.server.send, limit=100, on_overflow=self.overflows.append)

    async def test_a_reading_client_gets_every_frame_at_once_without_a_task(self):
        tasks = len(asyncio.all_tasks())
        for n in range(5):
            await self.output(text(n))
        self.assertEqual(self.server.sent, [text(n) for n in range(5)])
        self.assertIsNone(self.output.sender)
        self.assertEqual(len(asyncio.all_tasks()), tasks)

    async def test_a_send_that_waits_does_not_hold_up_the_caller_and_order_holds(self):
        self.server.writable.clear()
        for n in range(3):
            # Returns at once though nothing could be written.
            await asyncio.wait_for(self.output(text(n)), timeout=1)
        self.assertEqual(self.server.sent, [])
        self.server.writable.set()
        await self.output.drained()
        await self.output(text(3))
        self.assertEqual(self.server.sent, [text(n) for n in range(4)])
        self.assertIsNone(self.output.backlog)
        self.assertEqual(self.overflows, [])

    async def test_past_the_bound_the_backlog_is_dropped_and_the_socket_closed_with_4408(self):
        self.server.writable.clear()
        await self.output(text(0))  # waits in the server
        for n in range(1, 12):  # 10 bytes each: the 11th is past 100
            await self.output(text(n))
        self.assertEqual(self.overflows, [110])
        self.assertTrue(self.output.gave_up)
        await self.output(text(99))  # after giving up: dropped
        self.server.writable.set()
        await self.output.drained()
        close = {"type": "websocket.close", "code": CLOSE_OUTPUT_BACKLOG}
        self.assertEqual(self.server.sent, [text(0), close])

    async def test_past_the_bound_a_reachable_connection_is_aborted_instead(self):
        aborted = []

        class Transport:
            def abort(self):
                aborted.append(True)

            def get_extra_info(self, name):
                return None

        self.server.transport = Transport()  # as uvicorn's protocol, whose send this is
        self.server.writable.clear()
        await self.output(text(0))
        for n in range(1, 12):
            await self.output(text(n))
        self.assertEqual(aborted, [True])
        self.assertEqual(self.overflows, [110])
        self.server.writable.set()
        await self.output.drained()
        self.assertEqual(self.server.sent, [text(0)])  # no close frame after the abort

    async def test_a_client_gone_while_waiting_ends_the_sending_quietly(self):
        self.server.writable.clear()
        await self.output(text(0))
        await self.output(text(1))
        self.server.gone = True
        self.server.writable.set()  # as a server does when the connection is lost
        with self.assertNoLogs("chat.realtime.output", "WARNING"):
            await self.output.drained()
        self.assertEqual(self.server.sent, [])
        self.assertIsNone(self.output.backlog)

    async def test_an_error_of_a_send_that_did_not_wait_reaches_the_caller(self):
        self.server.gone = True
        with self.assertRaises(OSError):
            await self.output(text(0))

    async def test_cancel_stops_what_waits(self):
        self.server.writable.clear()
        await self.output(text(0))
        self.output.cancel()
        await self.output.drained()
        self.assertTrue(self.output.sender.cancelled())
        self.server.writable.set()
        await asyncio.sleep(0)
        self.assertEqual(self.server.sent, [])
