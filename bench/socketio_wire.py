"""Socket.IO v5 over Engine.IO v4, on a plain WebSocket: what the load generator speaks to
the `socketio` reference server (../shared/peers/socketio), without a client library.

A client opens `/socket.io/?EIO=4&transport=websocket`, receives the open packet
(`0{"sid":..,"pingInterval":..}`), joins the default namespace with `40<auth JSON>` and
gets `40{"sid":..}` back (or `44{"message":..}`: refused); events the server's connect
handler emits may come before that answer. Events are `42[name, data]`
both ways. The server pings with `2`; a client that does not answer `3` within the ping
timeout is closed. Packet layout: Engine.IO type (one digit), then for a message (4) the
Socket.IO type (one digit), a namespace ending in "," unless it is "/", an ack id
(digits), and the JSON payload. Binary packets (5, 6) are not used here.
"""

import asyncio
import json
from dataclasses import dataclass
from typing import Any

PATH = "/socket.io/?EIO=4&transport=websocket"
PING = "2"
PONG = "3"
ENGINE_TYPES = {
    "0": "open",
    "1": "close",
    "2": "ping",
    "3": "pong",
    "4": "message",
    "5": "upgrade",
    "6": "noop",
}
SOCKET_TYPES = {
    "0": "connect",
    "1": "disconnect",
    "2": "event",
    "3": "ack",
    "4": "connect_error",
    "5": "binary_event",
    "6": "binary_ack",
}
_COMPACT = (",", ":")


class WireError(ValueError):
    """A packet that is not Engine.IO v4 / Socket.IO v5 as this module speaks it."""


class Refused(Exception):
    """The server answered the namespace connect with a connect error."""


@dataclass
class Packet:
    engine: str  # ENGINE_TYPES' values
    kind: str | None = None  # SOCKET_TYPES' values, for an Engine.IO message
    namespace: str = "/"
    ack_id: int | None = None
    data: Any = None


def url(base: str) -> str:
    """The WebSocket URL of a Socket.IO server at `base` ("ws://host:port")."""
    return base.rstrip("/") + PATH


def connect(auth: dict | None = None) -> str:
    """Join the default namespace, with an auth payload (the reference reads room, username)."""
    return "40" + (json.dumps(auth, separators=_COMPACT) if auth is not None else "")


def event(name: str, *args) -> str:
    """An event to the default namespace, without an acknowledgement."""
    return "42" + json.dumps([name, *args], separators=_COMPACT)


def parse(text: str) -> Packet:
    """Read one text packet; raise WireError for anything else."""
    if not text or text[0] not in ENGINE_TYPES:
        raise WireError(f"not an Engine.IO packet: {text[:40]!r}")
    engine = ENGINE_TYPES[text[0]]
    rest = text[1:]
    if engine == "open":
        return Packet(engine, data=_json(rest))
    if engine != "message":
        return Packet(engine, data=rest or None)
    if not rest or rest[0] not in SOCKET_TYPES:
        raise WireError(f"not a Socket.IO packet: {text[:40]!r}")
    kind = SOCKET_TYPES[rest[0]]
    if kind in ("binary_event", "binary_ack"):
        raise WireError("binary packets are not supported")
    at = 1
    namespace = "/"
    if rest[at : at + 1] == "/":
        comma = rest.find(",", at)
        end = comma if comma >= 0 else len(rest)
        namespace, at = rest[at:end], min(end + 1, len(rest))
    digits = at
    while digits < len(rest) and rest[digits].isdigit():
        digits += 1
    ack_id = int(rest[at:digits]) if digits > at else None
    payload = rest[digits:]
    data = _json(payload) if payload else None
    if kind in ("event", "ack") and not isinstance(data, list):
        raise WireError(f"an {kind} carries a JSON array: {text[:40]!r}")
    if kind == "event" and (not data or not isinstance(data[0], str)):
        raise WireError(f"an event starts with its name: {text[:40]!r}")
    return Packet(engine, kind, namespace, ack_id, data)


def event_name(text: str) -> str | None:
    """The name of an event packet of the default namespace, read without decoding it all."""
    if not text.startswith('42["'):
        return None
    end = text.find('"', 4)
    return text[4:end] if end > 4 else None


def _json(text: str):
    try:
        return json.loads(text)
    except ValueError as exc:
        raise WireError(f"bad JSON payload: {text[:40]!r}") from exc


async def join(ws, auth: dict, within: float = 30) -> dict:
    """Take the open packet, join the default namespace with `auth`; return the open
    packet's data with the namespace's "sid" ("namespace_sid") and, as "early", the text
    of the events that came before the connect answer (python-socketio sends what its
    connect handler emits first). Pings on the way are answered."""
    early: list[str] = []

    async def receive() -> Packet:
        while True:
            text = await ws.recv()
            packet = parse(text)
            if packet.engine == "ping":
                await ws.send(PONG)
            elif packet.kind == "event":
                early.append(text)
            else:
                return packet

    async def handshake() -> dict:
        opened = await receive()
        if opened.engine != "open" or not isinstance(opened.data, dict):
            raise WireError(f"expected the open packet, got {opened.engine}")
        await ws.send(connect(auth))
        while True:
            packet = await receive()
            if packet.engine == "message" and packet.namespace == "/":
                if packet.kind == "connect":
                    sid = (packet.data or {}).get("sid")
                    return {**opened.data, "namespace_sid": sid, "early": early}
                if packet.kind == "connect_error":
                    raise Refused(str(packet.data))
            if packet.engine == "close":
                raise Refused("closed during the handshake")

    return await asyncio.wait_for(handshake(), within)
