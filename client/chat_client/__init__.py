"""A Python client for the chat: the HTTP API and live rooms over WebSockets.

async with Client(url, token=token).room("general") as room:
    await room.send("hello")
    async for event in room:
        ...
"""

from .backoff import Backoff
from .client import Client, SearchResult, Settings
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
from .room import Room

__all__ = [
    "AccessDenied",
    "ApiError",
    "AuthenticationError",
    "Author",
    "Backoff",
    "ChatError",
    "Client",
    "Connected",
    "ConnectionUnavailable",
    "Disconnected",
    "Event",
    "FinalClose",
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
