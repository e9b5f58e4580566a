"""The Socket.IO framing of the load generator (socketio_wire.py): packets written and read
as Engine.IO v4 / Socket.IO v5 lay them out, the join handshake, and one exchange with the
socketio reference server itself when it can run here (python-socketio and uvicorn
installed, ../shared/peers beside the checkout).

Collected by pytest (`make test-python`) from bench/, which is not a package: pytest puts
bench/ on sys.path for it, as the bench's own scripts do.
"""

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import unittest
from importlib.util import find_spec
from pathlib import Path

import socketio_wire as wire

PEER = Path(os.environ.get("BENCH_PEERS", Path(__file__).resolve().parents[2] / "shared" / "peers"))


class WritingTests(unittest.TestCase):
    def test_connect_carries_the_auth_as_compact_json(self):
        self.assertEqual(
            wire.connect({"room": "r1", "username": "ann"}), '40{"room":"r1","username":"ann"}'
        )
        self.assertEqual(wire.connect(), "40")

    def test_an_event_is_a_json_array_led_by_its_name(self):
        packet = wire.event("chat_message", {"message": 'say "hi"'})
        self.assertEqual(packet, '42["chat_message",{"message":"say \\"hi\\""}]')
        self.assertEqual(json.loads(packet[2:]), ["chat_message", {"message": 'say "hi"'}])

    def test_the_url_is_engine_io_4_over_the_websocket_transport(self):
        self.assertEqual(
            wire.url("ws://127.0.0.1:8304/"),
            "ws://127.0.0.1:8304/socket.io/?EIO=4&transport=websocket",
        )


class ReadingTests(unittest.TestCase):
    def test_the_open_packet_gives_the_session_and_ping_settings(self):
        packet = wire.parse('0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000}')
        self.assertEqual(packet.engine, "open")
        self.assertEqual(packet.data["pingInterval"], 25000)

    def test_engine_io_control_packets(self):
        self.assertEqual(wire.parse(wire.PING).engine, "ping")
        self.assertEqual(wire.parse(wire.PONG).engine, "pong")
        self.assertEqual(wire.parse("1").engine, "close")
        self.assertEqual(wire.parse("6").engine, "noop")

    def test_the_connect_answer_and_a_refusal(self):
        accepted = wire.parse('40{"sid":"s1"}')
        self.assertEqual(
            (accepted.kind, accepted.namespace, accepted.data), ("connect", "/", {"sid": "s1"})
        )
        refused = wire.parse('44{"message":"Not allowed"}')
        self.assertEqual(
            (refused.kind, refused.data), ("connect_error", {"message": "Not allowed"})
        )

    def test_an_event_of_the_default_namespace(self):
        packet = wire.parse('42["message",{"type":"message","message":"hi","username":"u1"}]')
        self.assertEqual((packet.kind, packet.namespace, packet.ack_id), ("event", "/", None))
        self.assertEqual(packet.data[0], "message")
        self.assertEqual(packet.data[1]["message"], "hi")

    def test_a_namespace_and_an_ack_id_are_read_off_before_the_payload(self):
        packet = wire.parse('42/admin,17["ping",1]')
        self.assertEqual(
            (packet.namespace, packet.ack_id, packet.data), ("/admin", 17, ["ping", 1])
        )
        ack = wire.parse("4312[true]")
        self.assertEqual((ack.kind, ack.ack_id, ack.data), ("ack", 12, [True]))
        left = wire.parse("41/admin,")
        self.assertEqual((left.kind, left.namespace, left.data), ("disconnect", "/admin", None))

    def test_event_name_reads_only_the_head_of_a_default_namespace_event(self):
        self.assertEqual(wire.event_name('42["room_history",{"messages":[]}]'), "room_history")
        self.assertIsNone(wire.event_name("2"))
        self.assertIsNone(wire.event_name('42/admin,["x"]'))

    def test_anything_else_is_refused_with_a_clear_error(self):
        for text in ["", "9", "4", "49", "0{not json", '42{"a":1}', "42[1]", "45-[]", "42[]"]:
            with self.subTest(text=text), self.assertRaises(wire.WireError):
                wire.parse(text)


class ScriptedSocket:
    """A socket that answers with the frames it is given and records what is sent."""

    def __init__(self, incoming):
        self.incoming = list(incoming)
        self.sent = []

    async def recv(self):
        if not self.incoming:
            await asyncio.sleep(3600)
        return self.incoming.pop(0)

    async def send(self, text):
        self.sent.append(text)


class JoinTests(unittest.TestCase):
    def test_join_sends_the_auth_answers_pings_and_returns_the_sid(self):
        ws = ScriptedSocket(['0{"sid":"e1","pingInterval":25000}', "2", '40{"sid":"n1"}'])
        opened = asyncio.run(wire.join(ws, {"room": "r", "username": "u"}))
        self.assertEqual(ws.sent, ['40{"room":"r","username":"u"}', "3"])
        self.assertEqual((opened["sid"], opened["namespace_sid"]), ("e1", "n1"))
        self.assertEqual(opened["early"], [])

    def test_events_before_the_connect_answer_are_kept(self):
        history = '42["room_history",{"messages":[]}]'
        ws = ScriptedSocket(['0{"sid":"e1"}', history, '40{"sid":"n1"}'])
        self.assertEqual(asyncio.run(wire.join(ws, {}))["early"], [history])

    def test_a_connect_error_is_refused(self):
        ws = ScriptedSocket(['0{"sid":"e1"}', '44{"message":"no"}'])
        with self.assertRaises(wire.Refused):
            asyncio.run(wire.join(ws, {}))

    def test_no_answer_times_out(self):
        ws = ScriptedSocket(['0{"sid":"e1"}'])
        with self.assertRaises(TimeoutError):
            asyncio.run(wire.join(ws, {}, within=0.2))

    def test_a_first_packet_other_than_open_is_an_error(self):
        with self.assertRaises(wire.WireError):
            asyncio.run(wire.join(ScriptedSocket(['40{"sid":"n1"}']), {}))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ReferenceServerTests(unittest.TestCase):
    """The framing against python-socketio itself (../shared/peers/socketio/server.py)."""

    def setUp(self):
        script = PEER / "socketio" / "server.py"
        missing = [m for m in ("socketio", "uvicorn", "websockets") if find_spec(m) is None]
        if missing or not script.exists():
            self.skipTest(
                f"needs {script} and python-socketio, uvicorn, websockets "
                "(pip install -r bench/requirements.txt)"
            )
        self.port = _free_port()
        self.server = subprocess.Popen(
            [sys.executable, str(script), "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.addCleanup(self._stop)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.fail("the socketio reference server did not listen within 20 s")

    def _stop(self):
        self.server.terminate()
        self.server.wait(10)
        self.server.stderr.close()

    def test_two_members_of_a_room_exchange_a_message(self):
        from websockets.asyncio.client import connect

        url = wire.url(f"ws://127.0.0.1:{self.port}")

        async def exchange():
            async with connect(url) as ann, connect(url) as bob:
                for ws, name in ((ann, "ann"), (bob, "bob")):
                    joined = await wire.join(ws, {"room": "r1", "username": name}, within=10)
                    # The room's (empty) history, emitted by the connect handler.
                    history = [wire.parse(text).data for text in joined["early"]]
                    self.assertEqual(history, [["room_history", {"room": "r1", "messages": []}]])
                await ann.send(wire.event("chat_message", {"message": "hello"}))
                return wire.parse(await asyncio.wait_for(bob.recv(), 10))

        packet = asyncio.run(exchange())
        self.assertEqual(packet.kind, "event")
        self.assertEqual(packet.data[0], "message")
        self.assertEqual(packet.data[1]["message"], "hello")
        self.assertEqual(packet.data[1]["username"], "ann")
