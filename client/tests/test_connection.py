"""A room's connection against stand-in servers in this process: failing over between a
deployment's servers, the observers of frames and attempts, raw frames, and a room told
not to reconnect. The HTTP API fails over too."""

import asyncio
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from chat_client import Backoff, Client, ConnectionUnavailable, MessageNew, Settings
from chat_client.connection import Servers, server_url, socket_base
from chat_client.http import HttpApi
from websockets.asyncio.server import ServerConnection, serve

QUICK = {"open_timeout": 2.0, "backoff": Backoff(base=0.01, cap=0.05)}


def unused_url() -> str:
    """The URL of a loopback port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


class StandIn:
    """A room socket that greets, stores each message.send (acknowledged with message.new)
    and answers ping; it keeps every socket and the path each one asked for."""

    def __init__(self) -> None:
        self.rev = 0
        self.paths: list[str] = []
        self.sockets: list[ServerConnection] = []

    async def handler(self, ws: ServerConnection) -> None:
        self.paths.append(ws.request.path if ws.request else "")
        self.sockets.append(ws)
        me = {"id": 1, "username": "alice"}
        await ws.send(json.dumps({"type": "hello", "rev": self.rev, "me": me, "online": []}))
        async for raw in ws:
            frame = json.loads(raw)
            if frame["type"] == "message.send":
                self.rev += 1
                message = {
                    "id": self.rev,
                    "rev": self.rev,
                    "created_rev": self.rev,
                    "author": me,
                    "body": frame["body"],
                    "client_id": frame["client_id"],
                    "created_at": "2026-11-21T12:00:00.000000Z",
                }
                await ws.send(json.dumps({"type": "message.new", "message": message}))
            elif frame["type"] == "ping":
                await ws.send(json.dumps({"type": "pong", "t": frame.get("t"), "rev": self.rev}))


async def eventually(predicate, within: float = 5.0) -> None:
    for _ in range(int(within * 100)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not within {within} s")


def test_server_urls_and_their_round_robin():
    assert server_url(" https://chat.example.com/some/page ") == "https://chat.example.com"
    assert socket_base("https://chat.example.com") == "wss://chat.example.com"
    assert socket_base("http://127.0.0.1:8000") == "ws://127.0.0.1:8000"
    with pytest.raises(ValueError, match="http"):
        server_url("ws://chat.example.com")
    servers = Servers(["http://a", "http://b", "http://c"])
    servers.fail_over("http://a")
    assert servers.current == "http://b"
    servers.fail_over("http://a")  # a late report about a server already left: ignored
    assert servers.current == "http://b"
    servers.fail_over("http://b")
    servers.fail_over("http://c")
    assert servers.current == "http://a"
    with pytest.raises(ValueError):
        Client([], token="chat_x")


def test_a_room_fails_over_to_a_server_that_answers_and_reports_what_it_does():
    async def scenario():
        stand_in = StandIn()
        async with serve(stand_in.handler, "127.0.0.1", 0) as server:
            live = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
            dead = unused_url()
            frames, attempts = [], []
            client = Client([dead, live], token="chat_x", settings=Settings(**QUICK))
            room = client.room(
                "general",
                on_frame=lambda direction, frame: frames.append((direction, frame["type"])),
                on_attempt=attempts.append,
            )
            async with room:
                assert room.server == live
                sent = await asyncio.wait_for(room.send("hi"), 5)
                assert (sent.id, sent.body) == (1, "hi")
                assert await room.send_frame({"type": "ping", "t": "raw"})
                await eventually(lambda: ("received", "pong") in frames)

                # Closed by a server that is alive: the room comes back to it, with since.
                await stand_in.sockets[0].close(1011)
                await eventually(lambda: room.connected and len(stand_in.paths) == 2)
                assert room.server == live
            events = [event async for event in room]

        # Refused by the first; opened, closed and opened again on the second (then closed).
        assert [(a.server, a.opened) for a in attempts] == [
            (dead, False),
            (live, True),
            (live, True),
        ]
        refused, closed, _last = attempts
        assert refused.error and not refused.greeted and refused.final_code is None
        assert (closed.close_code, closed.greeted) == (1011, True)
        assert stand_in.paths == ["/ws/rooms/general/", "/ws/rooms/general/?since=1"]
        assert frames[:5] == [
            ("received", "hello"),
            ("sent", "message.send"),
            ("received", "message.new"),
            ("sent", "ping"),
            ("received", "pong"),
        ]
        assert [type(event) for event in events if isinstance(event, MessageNew)] == [MessageNew]

    asyncio.run(scenario())


def test_a_room_told_not_to_reconnect_stops_when_its_socket_closes():
    async def scenario():
        stand_in = StandIn()
        settings = Settings(**QUICK, reconnect=False)
        async with serve(stand_in.handler, "127.0.0.1", 0) as server:
            url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
            room = await Client(url, token="chat_x", settings=settings).room("general").start()
            try:
                await stand_in.sockets[0].close(1012)
                with pytest.raises(ConnectionUnavailable, match="reconnecting is off"):
                    async with asyncio.timeout(5):
                        async for _event in room:
                            pass
                await asyncio.sleep(0.2)
                assert len(stand_in.paths) == 1
                assert not await room.send_frame({"type": "ping"})
                with pytest.raises(ConnectionUnavailable):
                    room.send_nowait("too late")
            finally:
                await room.close()

        nowhere = Client(unused_url(), token="chat_x", settings=settings).room("general")
        with pytest.raises(ConnectionUnavailable, match="could not be reached"):
            await nowhere.start(within=5)
        await nowhere.close()

    asyncio.run(scenario())


def test_an_http_request_goes_on_to_the_next_server_with_that_servers_headers():
    seen: list[str] = []

    class Rooms(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.headers["Origin"])
            body = json.dumps({"rooms": [{"slug": "general"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Rooms)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        live, dead = f"http://127.0.0.1:{server.server_address[1]}", unused_url()
        api = HttpApi([dead, live], lambda origin: {"Origin": origin}, timeout=5)
        assert asyncio.run(api.rooms()) == [{"slug": "general"}]
        assert (api.base_url, seen) == (live, [live])
        with pytest.raises(ConnectionUnavailable):
            asyncio.run(HttpApi([dead, unused_url()], lambda origin: {}).rooms())
    finally:
        server.shutdown()
        server.server_close()
