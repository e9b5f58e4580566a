"""The WebSocket side of chat: sockets, the wire protocol, fan-out, presence."""
