"""This process's Prometheus metrics (docs/operations.md, "Metrics"), and the one-line calls
the chat code makes where each thing happens.

Per process, in prometheus_client's default registry: each server process is a target of
its own (docker-compose.yml runs one per container), so no multi-process mode is needed.
Every label has a bounded set of values: a client can't mint new series.
"""

import time
from collections.abc import Iterable

from asgiref.sync import SyncToAsync
from prometheus_client import REGISTRY, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.exposition import choose_encoder

OTHER = "other"

# Each counter's creation time as a series of its own is noise here: one per process.
disable_created_metrics()

SOCKETS_OPEN = Gauge(
    "chat_sockets_open",
    "WebSockets open in this process, by protocol (1: /ws/rooms/<slug>/, 2: /ws/).",
    ["protocol"],
)
SOCKETS_OPENED = Counter("chat_sockets_opened", "WebSockets accepted, by protocol.", ["protocol"])
SOCKETS_CLOSED = Counter(
    "chat_sockets_closed",
    "WebSockets closed, by protocol and close code (codes the server doesn't use: other).",
    ["protocol", "code"],
)
FRAMES_RECEIVED = Counter(
    "chat_frames_received",
    "Text frames received from clients, by their `type` (unknown or none: other).",
    ["type"],
)
FRAMES_SENT = Counter("chat_frames_sent", "Frames sent to clients, by their `type`.", ["type"])
MESSAGES_STORED = Counter("chat_messages_stored", "Chat messages stored (committed).")
BROADCAST_LATENCY = Histogram(
    "chat_broadcast_latency_seconds",
    "From an event leaving (on commit) to this process's hub receiving it (wall clock).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DATABASE_QUEUE = Gauge(
    "chat_database_thread_queue",
    "Calls waiting for the one thread that runs the sockets' database work.",
)
LAYER_ERRORS = Counter(
    "chat_layer_errors",
    "Channel-layer failures, by operation (send, receive, subscribe, full).",
    ["operation"],
)
HTTP_RESPONSES = Counter(
    "chat_http_requests", "HTTP requests answered by the site, by status code.", ["status"]
)

LAYER_OPERATIONS = ("send", "receive", "subscribe", "full")

# Children made once: a labelled counter's lookup takes a lock, once per frame is wasteful.
_frames_received = {OTHER: FRAMES_RECEIVED.labels(OTHER)}
_frames_sent = {OTHER: FRAMES_SENT.labels(OTHER)}
_layer_errors = {operation: LAYER_ERRORS.labels(operation) for operation in LAYER_OPERATIONS}
for _protocol in ("1", "2"):
    SOCKETS_OPEN.labels(_protocol)
    SOCKETS_OPENED.labels(_protocol)


def _database_queue_length() -> int:
    # asgiref's one thread for thread-sensitive sync_to_async (channels'
    # database_sync_to_async) outside an HTTP request: the sockets' queries, in a queue.
    # `_work_queue` is ThreadPoolExecutor's own; without it (another Python) say 0.
    queue = getattr(SyncToAsync.single_thread_executor, "_work_queue", None)
    return queue.qsize() if queue is not None else 0


DATABASE_QUEUE.set_function(_database_queue_length)


# --- sockets ------------------------------------------------------------------------------


def socket_opened(protocol: str) -> None:
    SOCKETS_OPENED.labels(protocol).inc()
    SOCKETS_OPEN.labels(protocol).inc()


# The WebSocket standard's codes a close may carry: normal, going away, none given,
# abnormal (no close frame), server error, restart. The server's own are added by
# count_close_codes; any other (a client may close with any code from 3000 to 4999) is
# "other".
_close_codes = {code: str(code) for code in (1000, 1001, 1005, 1006, 1011, 1012)}


def count_close_codes(codes: Iterable[int]) -> None:
    """Count sockets closed with these codes by number (the codes the server closes with)."""
    for code in codes:
        _close_codes[code] = str(code)


def socket_closed(protocol: str, code: int) -> None:
    """Count a socket's end by its close code (one not registered: "other")."""
    SOCKETS_CLOSED.labels(protocol, _close_codes.get(code, OTHER)).inc()
    SOCKETS_OPEN.labels(protocol).dec()


# --- frames -------------------------------------------------------------------------------


def count_frame_types(types: Iterable[str]) -> None:
    """Count received frames of these types by name (a protocol's inbound types)."""
    for kind in types:
        _frames_received.setdefault(kind, FRAMES_RECEIVED.labels(kind))


def frame_received(kind) -> None:
    """Count a received frame by its `type`; any type not registered is "other"."""
    child = _frames_received.get(kind) if isinstance(kind, str) else None
    (child or _frames_received[OTHER]).inc()


# Every outbound frame is a dict built with "type" first and encoded compactly, so the
# type is read from the text's start rather than by decoding it again.
_TYPE_PREFIX = '{"type":"'
_TYPE_END = len(_TYPE_PREFIX) + 40


def frame_sent(text: str) -> None:
    """Count a frame sent, by the `type` it starts with (anything else: "other")."""
    kind = OTHER
    if text.startswith(_TYPE_PREFIX):
        end = text.find('"', len(_TYPE_PREFIX), _TYPE_END)
        if end > 0:
            kind = text[len(_TYPE_PREFIX) : end]
    child = _frames_sent.get(kind)
    if child is None:
        # The server's own types, a set fixed by its code.
        child = _frames_sent[kind] = FRAMES_SENT.labels(kind)
    child.inc()


# --- messages and broadcasts --------------------------------------------------------------


def message_stored() -> None:
    MESSAGES_STORED.inc()


def broadcast_received(sent_at) -> None:
    """Observe the time since `sent_at` (time.time() where the event left), if it has one."""
    if isinstance(sent_at, int | float):
        # Another machine's clock may be a little ahead: never a negative latency.
        BROADCAST_LATENCY.observe(max(0.0, time.time() - sent_at))


def layer_error(operation: str) -> None:
    """Count a channel-layer failure: "send", "receive", "subscribe" or "full"."""
    _layer_errors[operation].inc()


# --- HTTP ---------------------------------------------------------------------------------


def http_response(status: int) -> None:
    HTTP_RESPONSES.labels(str(status)).inc()


def exposition(accept: str = "") -> tuple[bytes, str]:
    """Return this process's metrics and their content type: Prometheus's text format, or
    OpenMetrics when the scraper's Accept header asks for it."""
    encode, content_type = choose_encoder(accept)
    return encode(REGISTRY), content_type
