"""Bound the unsent output of each WebSocket under daphne; install() at start-up.

daphne's `websocket.send` never waits: Twisted keeps whatever a client does not read in
the process's memory, without limit. install() wraps daphne's
`WebSocketProtocol.serverSend`, which every frame of the application goes through: when
the bytes Twisted still holds for the connection are past
`settings.CHAT_SOCKET_OUTPUT_MAX`, the connection is aborted (a close frame could not get
past the full buffer), the frames its client sent are left unanswered, what the
application still sends is discarded, and the application gets `websocket.disconnect`
with code 4408, so the consumer leaves its room as after any close.
Why around daphne's API: daphne neither bounds that buffer nor shows it to the application.

While the backlog is within the bound a frame is written whatever its size (one `sync`
frame of long messages may be larger than the bound), so a socket holds at most the
bound plus one frame. The kernel's send buffer is not counted: it is bounded already
(net.ipv4.tcp_wmem) and outside the process's memory, and Linux's count of it (SIOCOUTQ)
includes bytes in flight, which would cut off healthy clients on long, fast links.

chat/tests/test_backpressure.py asserts the daphne, autobahn and Twisted internals used here.
"""

import functools
import logging

from django.conf import settings

try:
    from twisted.internet.abstract import FileDescriptor
except ImportError:  # no Twisted, so no daphne: install() does nothing
    FileDescriptor = None

logger = logging.getLogger(__name__)

# docs/protocol.md, "Close codes": the client reconnects, with backoff, and catches up.
CLOSE_OUTPUT_BACKLOG = 4408


def unsent_bytes(transport) -> int | None:
    """Return the bytes Twisted holds for a connection, or None for a transport it cannot read.

    Twisted's TCP and Unix transports (abstract.FileDescriptor) keep what the kernel has
    not taken in `dataBuffer` (sent up to `offset`) and in `_tempDataBuffer`, whose length
    is `_tempDataLen`. A TLS transport wraps such a transport and writes through it.
    """
    for _ in range(3):  # the transport itself, or what a wrapper (TLS) writes into
        if isinstance(transport, FileDescriptor):
            return len(transport.dataBuffer) - transport.offset + transport._tempDataLen
        transport = getattr(transport, "transport", None)
    return None


def install() -> bool:
    """Bound the output of daphne's WebSockets; return False when daphne is not installed.

    Safe to call more than once.
    """
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:
        return False
    send = WebSocketProtocol.serverSend
    if getattr(send, "bounds_output", False):
        return True

    @functools.wraps(send)
    def serverSend(self, content, binary=False):
        if self.muted:
            return  # dropped: discard what the application still sends
        backlog = unsent_bytes(self.transport)
        if backlog is None:
            warn_unbounded(type(self.transport))
        elif backlog > settings.CHAT_SOCKET_OUTPUT_MAX:
            drop(self, backlog)
            return
        send(self, content, binary)

    serverSend.bounds_output = True
    WebSocketProtocol.serverSend = serverSend
    return True


@functools.cache
def warn_unbounded(transport_type: type) -> None:
    """Say, once per kind of transport, that its sockets' output cannot be bounded."""
    logger.warning(
        "Cannot read the unsent bytes of a %s: the output of its WebSockets is not bounded",
        transport_type.__qualname__,
    )


def drop(protocol, backlog: int) -> None:
    """Abort a daphne WebSocket now and tell its application, with code 4408."""
    # daphne's own flag: onMessage passes no more frames on, onClose no 1006 disconnect.
    protocol.muted = True
    host, port = protocol.client_addr or (None, None)
    logger.warning(
        "Dropped a WebSocket whose client stopped reading (4408): %d bytes unsent, over "
        "CHAT_SOCKET_OUTPUT_MAX (%d); client %s:%s, path %s",
        backlog,
        settings.CHAT_SOCKET_OUTPUT_MAX,
        host,
        port,
        protocol.request.path,
    )
    protocol.dropConnection(abort=True)  # autobahn: state CLOSED, then abortConnection()
    queue = protocol.application_queue
    # The client will never see the answers to the frames still waiting: skip their work.
    while not queue.empty():
        queue.get_nowait()
    queue.put_nowait({"type": "websocket.disconnect", "code": CLOSE_OUTPUT_BACKLOG})
