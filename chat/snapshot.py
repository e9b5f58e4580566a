"""How a client keeps its room list (revisions, read markers, unread and mention counts)
current from events, starting from a fetch of GET /api/rooms/.

The reference for every client (the browser, the Python client), and what the tests hold
the server to: a snapshot with the events that followed it applied equals a fresh fetch
(as Zulip's verify_action does). Counts are never incremented on the server; clients
derive them from the messages they are sent, and each event carries what that needs:
a message's `created_rev`, author and `mentions`, and a read marker's new counts.
"""

import copy

from notifications.events import PREFERENCES_UPDATED

from . import events

# What a room's change (room.updated, rooms.updated) changes in a room's state.
_ROOM_FIELDS = ("name", "topic", "private", "archived")

_MESSAGE_KINDS = (
    events.MESSAGE_NEW,
    events.MESSAGE_UPDATED,
    events.MESSAGE_DELETED,
    events.MESSAGE_REACTIONS,
)

# What a tab socket (protocol 2) says when the user can no longer see a room.
ROOM_CLOSED = "room.closed"


def mentions_me(message: dict, me: int) -> bool:
    return message["mention_all"] == "room" or me in message["mentions"]


def apply_event(rooms: dict[str, dict], kind: str, data: dict, *, me: int) -> dict[str, dict]:
    """Return the room states (by slug) after one event; `rooms` is left unchanged."""
    rooms = copy.deepcopy(rooms)
    if kind in _MESSAGE_KINDS:
        room = rooms.get(data["message"]["room"])
        if room is not None and data["message"]["rev"] > room["rev"]:
            _apply_message(room, kind, data["message"], me)
    elif kind == events.ROOM_READ:
        room = rooms.get(data["room"]["slug"])
        if room is not None and data["room"]["rev"] >= room["rev"]:
            room.update(data["room"])  # the server's counts as of the marker's move
        elif room is not None:
            # Counts older than messages already applied (events of two server processes
            # crossed): keep the marker, and fetch this room's state again.
            room["last_read_rev"] = max(room["last_read_rev"], data["room"]["last_read_rev"])
            room["stale"] = True
    elif kind == events.MEMBER_UPDATED:
        room = rooms.get(data.get("room"))  # a tab's frames name the room
        user = data["member"]["user"]
        if room is not None and user["id"] == me:
            room["role"] = data["member"]["role"]
        elif room is not None and "members" in room:
            # A conversation is called by its people's names: someone took a new one.
            room["members"] = [user if m["id"] == user["id"] else m for m in room["members"]]
    elif kind == events.MEMBER_REMOVED and data["user"]["id"] == me:
        rooms.pop(data["room"], None)  # banned or removed: no longer one of my rooms
    elif kind == events.ROOMS_REMOVED:
        rooms.pop(data["room"]["slug"], None)
    elif kind == events.ROOM_JOINED:
        rooms[data["room"]["slug"]] = data["room"]  # its state, read after the tab listened
    elif kind == ROOM_CLOSED:
        rooms.pop(data["room"], None)  # a tab lost the room (banned, removed, private, deleted)
    elif kind in (events.ROOM_UPDATED, events.ROOMS_UPDATED) and data["room"]["slug"] in rooms:
        room = rooms[data["room"]["slug"]]
        room.update((key, data["room"][key]) for key in _ROOM_FIELDS if key in data["room"])
    elif kind == PREFERENCES_UPDATED:
        for changed in data["rooms"]:
            if changed["slug"] in rooms:
                rooms[changed["slug"]]["notify"] = changed["notify"]
    return rooms


def _apply_message(room: dict, kind: str, message: dict, me: int) -> None:
    room["rev"] = message["rev"]
    if kind == events.MESSAGE_REACTIONS:
        return  # a reaction moves the revision only: never unread, never a mention
    counts = message["author"]["id"] != me and message["created_rev"] > room["last_read_rev"]
    mentioned = room["unread_mentions"]
    if kind == events.MESSAGE_DELETED:
        if counts:
            room["unread"] -= 1
        if message["id"] in mentioned:
            mentioned.remove(message["id"])
    elif counts:
        if kind == events.MESSAGE_NEW:
            room["unread"] += 1
        if mentions_me(message, me) and message["id"] not in mentioned:
            mentioned.append(message["id"])
            mentioned.sort()
        elif not mentions_me(message, me) and message["id"] in mentioned:
            mentioned.remove(message["id"])
    room["mentions"] = len(mentioned)
