"""A socket whose client stops reading is dropped (4408) before the server holds much for it.

The bound lives in daphne's WebSocketProtocol (chat/realtime/backpressure.py), so it is
tested on a real daphne process, with a raw socket that never reads.
"""

import inspect
import json
import re
import subprocess
import sys
import time
from unittest import mock

from daphne.ws_protocol import WebSocketProtocol
from django.test import SimpleTestCase, TransactionTestCase
from twisted.internet import abstract, tcp, unix
from twisted.internet.asyncioreactor import AsyncioSelectorReactor
from twisted.internet.posixbase import PosixReactorBase
from twisted.internet.testing import MemoryReactor
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from websockets.sync.client import connect

from chat.realtime import backpressure

from . import processes
from .factories import make_room, make_user, session_cookie
from .stalled_client import StalledSocket, fill_room, rss_kib
from .test_serve import served_database_url

MIB = 1024 * 1024
BACKPRESSURE_LOGGER = "chat.realtime.backpressure"


class DaphneInternalsTestCase(SimpleTestCase):
    """What backpressure.py relies on in daphne, autobahn and Twisted: an upgrade that
    changes it fails here, not silently in production."""

    def test_every_frame_of_the_application_goes_through_server_send(self):
        parameters = list(inspect.signature(WebSocketProtocol.serverSend).parameters)
        self.assertEqual(parameters, ["self", "content", "binary"])
        self.assertIn("self.serverSend(", inspect.getsource(WebSocketProtocol.handle_reply))

    def test_daphne_mutes_a_protocol_with_its_muted_flag(self):
        self.assertIs(WebSocketProtocol.muted, False)
        # Muted: no frame passed on to the application, and no disconnect of its own.
        self.assertIn("if self.muted:", inspect.getsource(WebSocketProtocol.onMessage))
        self.assertIn("if not self.muted", inspect.getsource(WebSocketProtocol.onClose))
        self.assertIn(
            "self.application_queue = ",
            inspect.getsource(WebSocketProtocol.applicationCreateWorked),
        )

    def test_autobahn_drops_a_connection_by_aborting_it(self):
        self.assertIn("abort", inspect.signature(WebSocketProtocol.dropConnection).parameters)
        self.assertIn("abortConnection()", inspect.getsource(WebSocketProtocol._closeConnection))

    def test_daphne_s_connections_are_twisted_file_descriptors(self):
        # Under daphne (asyncioreactor, on uvloop or not) TCP and Unix sockets are served
        # by Twisted's own transports, whose buffers unsent_bytes reads.
        self.assertIs(AsyncioSelectorReactor.listenTCP, PosixReactorBase.listenTCP)
        self.assertIs(AsyncioSelectorReactor.listenUNIX, PosixReactorBase.listenUNIX)
        self.assertTrue(issubclass(tcp.Server, abstract.FileDescriptor))
        self.assertTrue(issubclass(unix.Server, abstract.FileDescriptor))
        self.assertIs(tcp.Port.transport, tcp.Server)
        descriptor = abstract.FileDescriptor(reactor=MemoryReactor())
        for name in ("dataBuffer", "offset", "_tempDataBuffer", "_tempDataLen"):
            self.assertTrue(hasattr(descriptor, name), name)

    def test_django_s_start_up_installs_it(self):
        # chat's ready(): what manage.py runserver (daphne's) relies on.
        self.assertTrue(getattr(WebSocketProtocol.serverSend, "bounds_output", False))

    def test_install_does_nothing_without_daphne(self):
        with mock.patch.dict(sys.modules, {"daphne.ws_protocol": None}):
            self.assertFalse(backpressure.install())

    def test_install_wraps_daphne_s_method_once(self):
        self.assertTrue(backpressure.install())
        wrapped = WebSocketProtocol.serverSend
        self.assertTrue(backpressure.install())
        self.assertIs(WebSocketProtocol.serverSend, wrapped)
        self.assertEqual(wrapped.__wrapped__.__module__, "daphne.ws_protocol")
        self.assertFalse(hasattr(wrapped.__wrapped__, "__wrapped__"))


class _Kernel(abstract.FileDescriptor):
    """A Twisted descriptor whose "kernel" takes at most `accepts` bytes per write."""

    connected = 1
    accepts = 0

    def writeSomeData(self, data):
        taken = min(len(data), self.accepts)
        self.accepts -= taken
        return taken


class UnsentBytesTestCase(SimpleTestCase):
    def test_counts_both_of_twisted_s_buffers_past_what_was_sent(self):
        descriptor = _Kernel(reactor=MemoryReactor())
        descriptor.write(b"a" * 100_000)
        self.assertEqual(backpressure.unsent_bytes(descriptor), 100_000)
        descriptor.accepts = 30_000
        descriptor.doWrite()  # dataBuffer holds the rest, sent up to offset
        self.assertEqual(backpressure.unsent_bytes(descriptor), 70_000)
        descriptor.write(b"b" * 5_000)  # waits in _tempDataBuffer
        self.assertEqual(backpressure.unsent_bytes(descriptor), 75_000)
        descriptor.accepts = 10**9
        descriptor.doWrite()
        self.assertEqual(backpressure.unsent_bytes(descriptor), 0)

    def test_reads_the_transport_under_a_wrapper_such_as_tls(self):
        descriptor = _Kernel(reactor=MemoryReactor())
        descriptor.write(b"a" * 1234)
        wrapper = ProtocolWrapper(WrappingFactory(None), None)
        wrapper.transport = descriptor
        self.assertEqual(backpressure.unsent_bytes(wrapper), 1234)

    def test_cannot_read_a_transport_it_does_not_know(self):
        self.assertIsNone(backpressure.unsent_bytes(object()))


def _ping(ws, t: int, *, within: float = 15) -> dict:
    """Send a ping and return its pong, passing over other frames."""
    ws.send(json.dumps({"type": "ping", "t": t}))
    return _next_frame(ws, lambda frame: frame.get("type") == "pong", within=within)


def _next_frame(ws, matches, *, within: float) -> dict:
    deadline = time.monotonic() + within
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no matching frame within {within} s")
        frame = json.loads(ws.recv(timeout=remaining))
        if matches(frame):
            return frame


class SlowReaderTestCase(TransactionTestCase):
    """A socket asks for hundreds of large sync frames and never reads them, on the
    production server (uvicorn: chat/realtime/output.py gives up on it)."""

    SERVER: tuple[str, ...] = ()
    DROP_LOGGER = "chat.realtime.base"

    MESSAGES = 600
    LENGTH = 4000
    SYNCS = 300
    GROWTH_MAX = 64 * MIB

    def setUp(self):
        self.room = make_room("Long reads")
        reader, self.abuser = make_user("reader"), make_user("abuser")
        fill_room(self.room, reader, count=self.MESSAGES, length=self.LENGTH)
        self.reader_cookie = session_cookie(reader).decode()
        self.abuser_cookie = session_cookie(self.abuser).decode()
        env = processes.daphne_env(
            DATABASE_URL=served_database_url(),
            CHAT_SOCKET_OUTPUT_MAX=str(1 * MIB),
            # The socket's allowance of requests would refuse most of the syncs: lifted,
            # so that what is tested here is the cap on unsent output alone.
            CHAT_SOCKET_REQUEST_BURST=str(self.SYNCS),
            CHAT_SOCKET_REQUESTS_PER_SECOND="1000",
        )
        self.server = processes.DaphneProcess(
            name="backpressure", env=env, server=self.SERVER
        ).start()
        self.addCleanup(self.server.remove_log)
        self.addCleanup(self.server.stop)
        self.server.wait_ready()

    def test_the_server_drops_the_socket_and_stays_small(self):
        port = self.server.port
        with connect(
            f"ws://127.0.0.1:{port}/ws/rooms/{self.room.slug}/",
            origin=f"http://127.0.0.1:{port}",
            additional_headers={"Cookie": self.reader_cookie},
            open_timeout=10,
            max_size=2**24,
        ) as reader:
            self.assertEqual(json.loads(reader.recv(timeout=10))["type"], "hello")
            stalled = StalledSocket(port=port, slug=self.room.slug, cookie=self.abuser_cookie)
            self.addCleanup(stalled.close)
            self.assertEqual(_ping(reader, 0)["rev"], self.MESSAGES)  # the abuser is in
            before = rss_kib(self.server.pid) * 1024

            for _ in range(self.SYNCS):
                if not stalled.send_json({"type": "sync", "since": 0}):
                    break  # already dropped
            peak = before

            def dropped() -> bool:
                nonlocal peak
                peak = max(peak, rss_kib(self.server.pid) * 1024)
                return stalled.closed_by_server()

            processes.wait_for(dropped, timeout=30, what="the server to drop the socket")
            # The consumer's disconnect ran: the abuser's last socket left the room.
            offline = _next_frame(
                reader,
                lambda frame: frame.get("type") == "presence" and frame.get("status") == "offline",
                within=15,
            )
            self.assertEqual(offline["user"], "abuser")
            self.assertEqual(_ping(reader, 1), {"type": "pong", "t": 1, "rev": self.MESSAGES})
            after = rss_kib(self.server.pid) * 1024

        growth = max(peak, after) - before
        self.assertLess(growth, self.GROWTH_MAX, f"grew by {growth / MIB:.1f} MiB")
        warnings = [
            record
            for logger, record in self.server.records()
            if logger == self.DROP_LOGGER and " WARNING " in record
        ]
        self.assertEqual(len(warnings), 1, self.server.log())
        self.assertIn("stopped reading", warnings[0])
        self.assertNotIn("Traceback", self.server.log())
        self.assertEqual(self.server.problems(), [])


class DaphneSlowReaderTestCase(SlowReaderTestCase):
    """The same on daphne (`manage.py runserver`'s server): backpressure.py drops it."""

    SERVER = ("--server", "daphne")
    DROP_LOGGER = BACKPRESSURE_LOGGER


class FloodProcess(processes.DaphneProcess):
    """`python -m myproject.serve` serving stalled_client.flood_application (no Django app)."""

    def start(self) -> "FloodProcess":
        command = [
            sys.executable, "-m", "myproject.serve", "--server", "daphne",
            "-b", "127.0.0.1",
            "-p", str(self.port),
            "chat.tests.stalled_client:flood_application",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            cwd=processes.REPO,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
        )
        return self


class DropTestCase(SimpleTestCase):
    """What the application is told when its socket is dropped, on daphne itself."""

    FRAMES = 300

    def test_the_application_gets_one_disconnect_4408_and_no_more_frames(self):
        env = processes.daphne_env(
            DATABASE_URL="sqlite:///unused", CHAT_SOCKET_OUTPUT_MAX=str(1 * MIB)
        )
        server = FloodProcess(name="flood", env=env).start()
        self.addCleanup(server.remove_log)
        self.addCleanup(server.stop)
        server.wait_ready()
        stalled = StalledSocket(port=server.port, slug="any", cookie="")
        self.addCleanup(stalled.close)
        for _ in range(self.FRAMES):
            if not stalled.send_json({"type": "ping"}):
                break
        processes.wait_for(stalled.closed_by_server, timeout=30, what="the drop")
        processes.wait_for(lambda: "flood: disconnect" in server.log(), timeout=10, what="it")
        disconnects = re.findall(r"flood: disconnect (\d+) after (\d+) frames", server.log())
        self.assertEqual(len(disconnects), 1, server.log())
        code, frames = map(int, disconnects[0])
        self.assertEqual(code, backpressure.CLOSE_OUTPUT_BACKLOG)
        # 1 MiB of 256 KiB frames, plus what the kernel took: the frames still waiting
        # were dropped with the socket.
        self.assertLess(frames, self.FRAMES // 2, server.log())
        self.assertNotIn("Traceback", server.log())
