"""A Python client for the chat: the HTTP API and live rooms over WebSockets.

async with Client(url, token=token).room("general") as room:
    await room.send("hello")
    async for event in room:
        ...
"""

from .backoff import Backoff
from .client import Client, SearchResult, Settings
from .connection import ConnectAttempt
from .errors import (
    AccessDenied,
    ApiError,
    AuthenticationError,
    ChatError,
    ConnectionUnavailable,
    FinalClose,
    RoomNotFound,
    SendRefused,
)
from .events import (
    Author,
    Connected,
    Disconnected,
    Event,
    MemberRemoved,
    MemberUpdated,
    Message,
    MessageDeleted,
    MessageEvent,
    MessageNew,
    MessageReactions,
    MessageUpdated,
    Other,
    Presence,
    RoomClosed,
    RoomUpdated,
    ServerError,
    Typing,
)
from .room import AttemptObserver, FrameObserver, Room

__all__ = [
    "AccessDenied",
    "ApiError",
    "AttemptObserver",
    "AuthenticationError",
    "Author",
    "Backoff",
    "ChatError",
    "Client",
    "ConnectAttempt",
    "Connected",
    "ConnectionUnavailable",
    "Disconnected",
    "Event",
    "FinalClose",
    "FrameObserver",
    "MemberRemoved",
    "MemberUpdated",
    "Message",
    "MessageDeleted",
    "MessageEvent",
    "MessageNew",
    "MessageReactions",
    "MessageUpdated",
    "Other",
    "Presence",
    "Room",
    "RoomClosed",
    "RoomNotFound",
    "RoomUpdated",
    "SearchResult",
    "SendRefused",
    "ServerError",
    "Settings",
    "Typing",
]
