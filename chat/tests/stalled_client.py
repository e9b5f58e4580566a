"""A WebSocket client that asks for a lot and never reads; a room worth asking for; an
ASGI application that answers every frame with a large one.

Shared by chat/tests/test_backpressure.py and bench/slow_reader.py. Linux only: whether
the server closed the connection is read from the kernel (TCP_INFO), since reading the
socket would drain what the test wants left unread.
"""

import base64
import json
import os
import socket
import struct
from pathlib import Path

# Linux's TCP states (include/net/tcp_states.h): reset, or closed by the peer with a FIN.
_TCP_CLOSE = 7
_TCP_CLOSE_WAIT = 8


def fill_room(room, author, *, count: int, length: int) -> int:
    """Store `count` messages of `length` characters with revisions 1..count; return count."""
    # Imported here: the benchmark's client process uses this module without Django.
    from django.db import transaction

    from chat.models import Message, Room

    with transaction.atomic():
        Message.objects.bulk_create(
            (
                Message(
                    room=room,
                    author=author,
                    body=f"{rev:06d}".ljust(length, "x"),
                    rev=rev,
                    created_rev=rev,
                )
                for rev in range(1, count + 1)
            ),
            batch_size=500,
        )
        Room.objects.filter(pk=room.pk).update(rev=count)
    return count


def rss_kib(pid: int) -> int:
    """Return the process's resident memory (VmRSS), KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


class StalledSocket:
    """A raw WebSocket to a room, with a tiny receive buffer that is never read.

    After the handshake it only writes, so whatever the server answers piles up on the
    server's side.
    """

    def __init__(self, *, port: int, slug: str, cookie: str, receive_buffer: int = 4096):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Before connect(), so the window the server sees stays small from the start.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /ws/rooms/{slug}/ HTTP/1.1\r\n"
            "Host: localhost\r\n"
            "Origin: http://localhost\r\n"
            f"Cookie: {cookie}\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(1)  # byte by byte: leave the first frames unread
            if not chunk:
                raise AssertionError(f"handshake refused: {response!r}")
            response += chunk
        if not response.startswith(b"HTTP/1.1 101"):
            raise AssertionError(f"handshake refused: {response!r}")

    def send_json(self, frame: dict) -> bool:
        """Send one masked text frame; return False once the server has gone."""
        payload = json.dumps(frame).encode()
        if len(payload) > 125:
            raise ValueError("only short frames")
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        try:
            self.sock.sendall(struct.pack("!BB", 0x81, 0x80 | len(payload)) + mask + masked)
        except OSError:
            return False
        return True

    def closed_by_server(self) -> bool:
        """Tell whether the server reset or closed the connection, without reading it."""
        state = self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
        return state in (_TCP_CLOSE, _TCP_CLOSE_WAIT)

    def close(self):
        self.sock.close()


async def flood_application(scope, receive, send):
    """Answer each frame with a large one; at the disconnect, print its code and the count.

    An ASGI application for daphne alone (no Django), to watch what it is told.
    """
    received = 0
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif message["type"] == "websocket.receive":
            received += 1
            await send({"type": "websocket.send", "text": "x" * 2**18})
        elif message["type"] == "websocket.disconnect":
            print(f"flood: disconnect {message['code']} after {received} frames", flush=True)
            return
