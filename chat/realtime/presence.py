"""Who is online in each room.

A user is online in a room while at least one of their sockets is open there:
a second tab is not a second join, and closing one of two tabs is not a leave.

With one server process the process's memory is the truth (`LocalPresence`).
With several, the sockets are recorded in Redis (`RedisPresence`), each entry
expiring unless its process keeps refreshing it, so the users of a process that
died go offline by themselves within `CHAT_PRESENCE_TTL` + `CHAT_PRESENCE_SWEEP`.
"""

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field
from typing import NamedTuple

from channels.layers import get_channel_layer
from django.conf import settings

from .. import events
from .hub import get_hub

logger = logging.getLogger(__name__)


class Joined(NamedTuple):
    first: bool  # the user's first socket in the room
    online: list[str]  # who is online in the room
    user_sockets: int  # the user's open sockets, in every room and process


# The presence "room" of tab sockets (protocol 2): signed in, on some tab. Counted
# towards the cap of sockets, never announced.
SIGNED_IN = 0


def _roster(room_id: int, online) -> list[str]:
    """Return who is online in a room (`online()`), except for everyone's: nobody asks,
    and it would cost a sort of every user online at each tab's opening."""
    return [] if room_id == SIGNED_IN else online()


async def broadcast_presence(*, room_id: int, username: str, status: str, online: list[str]):
    """Tell a room that a user came online or went offline, with the full list."""
    if room_id == SIGNED_IN:
        return
    # Presence is not timeline data: if this is lost, the next hello or presence corrects it.
    data = {"user": username, "status": status, "online": online}
    await events.emit_now(events.Event(events.PRESENCE, data, events.to_room(room_id)))


# --- one process ---------------------------------------------------------------------


@dataclass
class _RoomPresence:
    # user id -> username, for the users with a socket open in the room; channel name ->
    # user id, of each of those sockets; user id -> how many of them are the user's.
    # (Not a set of channel names per user: an empty set alone outweighs the three entries.)
    usernames: dict[int, str] = field(default_factory=dict)
    sockets: dict[str, int] = field(default_factory=dict)
    counts: dict[int, int] = field(default_factory=dict)

    def online(self) -> list[str]:
        return sorted(self.usernames.values())


class LocalPresence:
    """Presence kept in this process's memory: exact for a single server process.

    The methods do not await inside, so on one event loop they never interleave.
    """

    def __init__(self):
        self._rooms: dict[int, _RoomPresence] = {}
        # Sockets counted towards the cap: channel name -> user id, and user id -> how many.
        self._counted: dict[str, int] = {}
        self._user_sockets: dict[int, int] = {}

    async def join(
        self, *, room_id: int, user_id: int, username: str, channel_name: str, counted=True
    ) -> Joined:
        """Record an open socket (`counted`: towards the user's cap of sockets)."""
        room = self._rooms.get(room_id)
        if room is None:
            room = self._rooms[room_id] = _RoomPresence()
        first = user_id not in room.counts
        if channel_name not in room.sockets:
            room.sockets[channel_name] = user_id
            room.counts[user_id] = room.counts.get(user_id, 0) + 1
        room.usernames[user_id] = username
        if counted and channel_name not in self._counted:
            self._counted[channel_name] = user_id
            self._user_sockets[user_id] = self._user_sockets.get(user_id, 0) + 1
        return Joined(first, _roster(room_id, room.online), self._user_sockets.get(user_id, 0))

    def online_user_ids(self, *, room_id: int) -> set[int]:
        """Return the ids of the users online in a room (from any thread)."""
        room = self._rooms.get(room_id)
        return set(room.counts) if room is not None else set()

    async def users_online(self) -> int:
        """Return how many users have a socket open (a tab, or a room on protocol 1)."""
        return len(self._user_sockets)

    async def leave(
        self, *, room_id: int, user_id: int, channel_name: str, counted=True
    ) -> tuple[bool, list[str]]:
        """Forget a socket; return (whether it was the user's last, who is online)."""
        if counted and self._counted.get(channel_name) == user_id:
            del self._counted[channel_name]
            _decrement(self._user_sockets, user_id)
        room = self._rooms.get(room_id)
        if room is None or room.sockets.get(channel_name) != user_id:
            return False, _roster(room_id, room.online) if room else []
        del room.sockets[channel_name]
        last = _decrement(room.counts, user_id)
        if last:
            del room.usernames[user_id]
        online = _roster(room_id, room.online)
        if not room.sockets:
            del self._rooms[room_id]
        return last, online


def _decrement(counts: dict[int, int], key: int) -> bool:
    """Count one less for `key`; at none, forget it and return True."""
    left = counts[key] - 1
    if left:
        counts[key] = left
        return False
    del counts[key]
    return True


# --- several processes -------------------------------------------------------------

# Entries are "<user id>|<username>|<channel name>" in a sorted set per room, scored
# by the time they expire. Usernames never contain "|".
# A second sorted set per user holds the user's sockets in every room, to cap them.
_JOIN = """
local live = {}
if ARGV[6] == '1' then live = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf') end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1])
if ARGV[5] ~= '' then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[5])
  redis.call('EXPIRE', KEYS[2], ARGV[4])
end
return {live, redis.call('ZCARD', KEYS[2])}
"""
_LEAVE = """
redis.call('ZREM', KEYS[2], ARGV[3])
local removed = redis.call('ZREM', KEYS[1], ARGV[2])
local live = {}
if ARGV[4] == '1' then live = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf') end
return {removed, live}
"""
# Atomic, so that of several processes sweeping the same room one reports each loss.
_SWEEP = """
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
if #dead == 0 then return {{}, {}} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
return {dead, redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')}
"""


def _entry(user_id: int, username: str, channel_name: str) -> str:
    return f"{user_id}|{username}|{channel_name}"


def _parse(entries) -> list[tuple[int, str, str]]:
    parsed = []
    for raw in entries:
        user_id, username, channel_name = (raw.decode() if isinstance(raw, bytes) else raw).split(
            "|", 2
        )
        parsed.append((int(user_id), username, channel_name))
    return parsed


def _online(entries: list[tuple[int, str, str]]) -> list[str]:
    return sorted({username for _user_id, username, _channel in entries})


class RedisPresence:
    """Presence shared by every process through Redis, surviving the death of any one."""

    def __init__(self, url: str, *, ttl: float, heartbeat: float, sweep: float):
        self.url, self.ttl, self.heartbeat, self.sweep = url, ttl, heartbeat, sweep
        # The room's key outlives its entries, so that it is collected once a room is empty.
        self.key_ttl = max(60, math.ceil(ttl * 3))
        # (channel name, room id) -> (user id, username, counted): this process's sockets
        # in each room (a tab's socket is in two: everyone's and the room it shows)
        self.local: dict[tuple[str, int], tuple[int, str, bool]] = {}
        self._clients = {}
        self._keepers = {}
        self._sync_client = None

    def _client(self):
        # A redis.asyncio client belongs to the event loop that created it.
        import redis.asyncio

        from chat.redis_pools import async_pool

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            # Bounded (chat/redis_pools.py): a burst of joins waits for a connection.
            client = redis.asyncio.Redis.from_pool(
                async_pool(
                    self.url,
                    max_connections=settings.REDIS_MAX_CONNECTIONS,
                    timeout=settings.REDIS_POOL_TIMEOUT,
                    client_name="chat-presence",
                    health_check_interval=30,
                    socket_keepalive=True,
                    retry_on_timeout=True,
                )
            )
            self._clients = {k: v for k, v in self._clients.items() if not k.is_closed()}
            self._clients[loop] = client
        if loop not in self._keepers or self._keepers[loop].done():
            self._keepers[loop] = loop.create_task(self._keep())
        return client

    @staticmethod
    def _key(room_id: int) -> str:
        return f"chat:presence:{room_id}"

    @staticmethod
    def _user_key(user_id: int) -> str:
        return f"chat:sockets:{user_id}"

    async def join(
        self, *, room_id: int, user_id: int, username: str, channel_name: str, counted=True
    ) -> Joined:
        """Record an open socket (`counted`: towards the user's cap of sockets)."""
        self.local[(channel_name, room_id)] = (user_id, username, counted)
        now = time.time()
        try:
            live, user_sockets = await self._client().eval(
                _JOIN,
                2,
                self._key(room_id),
                self._user_key(user_id),
                now,
                now + self.ttl,
                _entry(user_id, username, channel_name),
                self.key_ttl,
                f"{room_id}|{channel_name}" if counted else "",
                "1" if room_id != SIGNED_IN else "0",
            )
        except Exception:
            logger.warning("Presence join failed; the heartbeat will record it.", exc_info=True)
            return Joined(False, [username], 1)
        live = _parse(live)
        first = not any(entry[0] == user_id for entry in live)
        return Joined(first, _online([*live, (user_id, username, channel_name)]), user_sockets)

    async def leave(
        self, *, room_id: int, user_id: int, channel_name: str, counted=True
    ) -> tuple[bool, list[str]]:
        """Forget a socket; return (whether it was the user's last, who is online)."""
        _user, username, _counted = self.local.pop((channel_name, room_id), (user_id, "", counted))
        try:
            removed, live = await self._client().eval(
                _LEAVE,
                2,
                self._key(room_id),
                self._user_key(user_id),
                time.time(),
                _entry(user_id, username, channel_name),
                f"{room_id}|{channel_name}",
                "1" if room_id != SIGNED_IN else "0",
            )
        except Exception:
            logger.warning("Presence leave failed; the entry will expire.", exc_info=True)
            return False, []
        live = _parse(live)
        last = bool(removed) and not any(entry[0] == user_id for entry in live)
        return last, _online(live)

    async def _keep(self):
        """Refresh this process's entries and sweep expired ones, for as long as the loop runs."""
        last_sweep = 0.0
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                await self.refresh()
                if time.monotonic() - last_sweep >= self.sweep:
                    last_sweep = time.monotonic()
                    await self.sweep_rooms()
            except Exception:
                logger.warning("Presence upkeep failed; retrying.", exc_info=True)

    async def refresh(self):
        """Push back the expiry of this process's entries; re-add any that were lost."""
        if not self.local:
            return
        expires = time.time() + self.ttl
        sockets = list(self.local.items())
        async with self._client().pipeline(transaction=False) as pipe:
            for (channel_name, room_id), (user_id, username, _counted) in sockets:
                pipe.zadd(self._key(room_id), {_entry(user_id, username, channel_name): expires})
            for (channel_name, room_id), (user_id, _username, counted) in sockets:
                if counted:
                    pipe.zadd(self._user_key(user_id), {f"{room_id}|{channel_name}": expires})
            for room_id in {room_id for _channel, room_id in self.local}:
                pipe.expire(self._key(room_id), self.key_ttl)
            added = (await pipe.execute())[: len(sockets)]
        # An entry that was gone (Redis restarted, or swept after a long pause) is back.
        # Redis lost the process's group memberships with it: join the groups again, or
        # the socket would stay open and hear nothing (its client catches up by revision).
        lost = [socket for socket, was_added in zip(sockets, added, strict=True) if was_added]
        if lost:
            await get_hub(get_channel_layer()).resubscribe()
        for (_channel_name, room_id), (_user_id, username, _counted) in lost:
            online = await self.online(room_id=room_id)
            await broadcast_presence(
                room_id=room_id, username=username, status="online", online=online
            )

    async def sweep_rooms(self):
        """Remove expired entries of the rooms this process serves; announce who left."""
        for room_id in {room_id for _channel, room_id in self.local}:
            dead, live = await self._client().eval(_SWEEP, 1, self._key(room_id), time.time())
            dead, live = _parse(dead), _parse(live)
            live_users = {entry[0] for entry in live}
            gone = {(user_id, username) for user_id, username, _ in dead} - {
                (user_id, username) for user_id, username, _ in live
            }
            for user_id, username in sorted(gone):
                if user_id not in live_users:
                    await broadcast_presence(
                        room_id=room_id, username=username, status="offline", online=_online(live)
                    )

    async def online(self, *, room_id: int) -> list[str]:
        """Return the sorted usernames online in a room."""
        entries = await self._client().zrangebyscore(self._key(room_id), time.time(), "+inf")
        return _online(_parse(entries))

    def online_user_ids(self, *, room_id: int) -> set[int]:
        """Return the ids of the users online in a room, from synchronous code (a write)."""
        import redis

        from chat.redis_pools import sync_pool

        if self._sync_client is None:
            self._sync_client = redis.Redis.from_pool(
                sync_pool(
                    self.url,
                    max_connections=settings.REDIS_MAX_CONNECTIONS,
                    timeout=settings.REDIS_POOL_TIMEOUT,
                    client_name="chat-presence",
                    socket_timeout=2,
                )
            )
        entries = self._sync_client.zrangebyscore(self._key(room_id), time.time(), "+inf")
        return {user_id for user_id, _name, _channel in _parse(entries)}

    async def users_online(self) -> int:
        """Return how many users have a live socket in any process: the users' keys of
        sockets (scanned), each counted when one of its entries has not expired."""
        client = self._client()
        keys = [key async for key in client.scan_iter(match=self._user_key("*"), count=1000)]
        if not keys:
            return 0
        now = time.time()
        async with client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.zcount(key, now, "+inf")
            live = await pipe.execute()
        return sum(1 for count in live if count)


_store = None


def get_presence():
    """Return the process's presence store: Redis when configured, else memory."""
    global _store
    if _store is None:
        if settings.REDIS_URL:
            _store = RedisPresence(
                settings.REDIS_URL,
                ttl=settings.CHAT_PRESENCE_TTL,
                heartbeat=settings.CHAT_PRESENCE_HEARTBEAT,
                sweep=settings.CHAT_PRESENCE_SWEEP,
            )
        else:
            _store = LocalPresence()
    return _store
