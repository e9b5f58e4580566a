"""Where a room's socket goes, and what one socket's life knows.

A deployment may run several server processes with no balancer in front. The client is
given all their URLs; a socket (or an HTTP request) goes to the current one, and moves
on to the next, round-robin, when that one cannot be reached or refuses the handshake.
A socket that opened and then closed reconnects to the same server: the process is
alive, and what it reported (4503: its database or channel layer failed) is shared by
the others.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection

from .errors import FINAL_CLOSE_CODES

# Handshake refusals that no retry will change: refused Origin (403), no such path (404).
FINAL_HANDSHAKE_STATUSES = {401: 4401, 403: 4403, 404: 4404}


def server_url(url: str) -> str:
    """Return a server's URL as scheme://host[:port]; raise ValueError if it is not one."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"The URL must be http:// or https:// and name a host: {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def socket_base(server: str) -> str:
    """Return the ws:// (or wss://) base of a server's http:// (or https://) URL."""
    scheme, rest = server.split("://", 1)
    return ("wss" if scheme == "https" else "ws") + "://" + rest


class Servers:
    """The server URLs of one deployment, and the one to try now (round-robin)."""

    def __init__(self, urls: Sequence[str]) -> None:
        if not urls:
            raise ValueError("Give at least one server URL.")
        self.urls = list(urls)
        self._index = 0

    @property
    def current(self) -> str:
        return self.urls[self._index]

    def fail_over(self, server: str) -> None:
        """Move on from `server` to the next URL (unless another caller already did)."""
        if self.current == server:
            self._index = (self._index + 1) % len(self.urls)


@dataclass(frozen=True)
class ConnectAttempt:
    """How one attempt to open a room's socket ended (reported to a Room's `on_attempt`)."""

    server: str  # the server tried, as scheme://host[:port]
    opened: bool  # the WebSocket opened; if not, `error` says why
    close_code: int | None = None  # how an opened socket was closed
    up_for: float | None = None  # seconds from hello to the close; None: never greeted
    dead: bool = False  # dropped by the heartbeat: no pong in time
    error: str | None = None
    handshake_status: int | None = None  # the HTTP status of a refused handshake

    @property
    def greeted(self) -> bool:
        return self.up_for is not None

    @property
    def final_code(self) -> int | None:
        """The close code after which no client reconnects, if this attempt ended with one."""
        if self.handshake_status in FINAL_HANDSHAKE_STATUSES:
            return FINAL_HANDSHAKE_STATUSES[self.handshake_status]
        if self.close_code in FINAL_CLOSE_CODES:
            return self.close_code
        return None

    def describe(self) -> str:
        if not self.opened:
            return f"{self.server} could not be reached: {self.error}"
        return f"the socket to {self.server} closed with {self.close_code}"


@dataclass
class Connection:
    """What one socket's life knows: when it was greeted, its last frame, a pending ping."""

    server: str
    ws: ClientConnection
    last_frame: float = field(default_factory=time.monotonic)
    greeted_at: float | None = None
    ping_sent: float | None = None
    dead: bool = False
    gap_since: float | None = None
    sync_asked_for: int | None = None

    def ended(self) -> ConnectAttempt:
        """Describe this socket's life once it closed."""
        up_for = None if self.greeted_at is None else time.monotonic() - self.greeted_at
        return ConnectAttempt(
            server=self.server,
            opened=True,
            close_code=self.ws.close_code,
            up_for=up_for,
            dead=self.dead,
        )
