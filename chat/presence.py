"""Who is online in each room.

A user is online in a room while at least one of their sockets is open there:
a second tab is not a second join, and closing one of two tabs is not a leave.
"""

from dataclasses import dataclass, field


@dataclass
class _RoomPresence:
    # user id -> username, and user id -> the channel names of their open sockets
    usernames: dict[int, str] = field(default_factory=dict)
    channels: dict[int, set[str]] = field(default_factory=dict)

    def online(self) -> list[str]:
        return sorted(self.usernames[user_id] for user_id in self.channels)


class LocalPresence:
    """Presence kept in this process's memory: exact for a single server process.

    The methods do not await inside, so on one event loop they never interleave.
    """

    def __init__(self):
        self._rooms: dict[int, _RoomPresence] = {}

    async def join(
        self, *, room_id: int, user_id: int, username: str, channel_name: str
    ) -> tuple[bool, list[str]]:
        """Record an open socket; return (whether it is the user's first, who is online)."""
        room = self._rooms.setdefault(room_id, _RoomPresence())
        channels = room.channels.setdefault(user_id, set())
        first = not channels
        channels.add(channel_name)
        room.usernames[user_id] = username
        return first, room.online()

    async def leave(
        self, *, room_id: int, user_id: int, channel_name: str
    ) -> tuple[bool, list[str]]:
        """Forget a socket; return (whether it was the user's last, who is online)."""
        room = self._rooms.get(room_id)
        if room is None or channel_name not in room.channels.get(user_id, ()):
            return False, room.online() if room else []
        channels = room.channels[user_id]
        channels.discard(channel_name)
        last = not channels
        if last:
            del room.channels[user_id]
            del room.usernames[user_id]
        online = room.online()
        if not room.channels:
            del self._rooms[room_id]
        return last, online

    async def online(self, *, room_id: int) -> list[str]:
        """Return the sorted usernames online in a room."""
        room = self._rooms.get(room_id)
        return room.online() if room else []


_store = None


def get_presence():
    """Return the process's presence store."""
    global _store
    if _store is None:
        _store = LocalPresence()
    return _store
