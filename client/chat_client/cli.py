"""`chat`: the chat from a terminal. Configured by CHAT_URL (several, comma-separated:
the processes of one deployment, tried in turn) and CHAT_TOKEN.

chat rooms                          the rooms you are a member of
chat tail ROOM [-n N]               the last N messages, then follow the room
chat send ROOM TEXT                 exit 0 only once the server stored it
chat history ROOM [--limit N] [--json]
chat ROOM | chat interactive ROOM   follow the room and send the lines typed
"""

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from .client import Client
from .errors import ApiError, AuthenticationError, ChatError
from .events import (
    Connected,
    Disconnected,
    Event,
    Message,
    MessageDeleted,
    MessageNew,
    MessageUpdated,
    Presence,
    RoomClosed,
    ServerError,
)
from .room import Room

COMMANDS = ("rooms", "tail", "send", "history", "interactive")
# How long `chat interactive` waits, at the end of its input, for the last acknowledgements.
DRAIN_WITHIN = 15.0


class UsageError(Exception):
    """The command line or the environment is wrong."""


def client_from_env(environ: dict[str, str] | None = None) -> Client:
    """Build a client from CHAT_URL (one URL, or several separated by commas) and CHAT_TOKEN."""
    environ = dict(os.environ if environ is None else environ)
    url = environ.get("CHAT_URL", "").strip()
    token = environ.get("CHAT_TOKEN", "").strip()
    if not url:
        raise UsageError("Set CHAT_URL to the chat's address, e.g. http://127.0.0.1:8000.")
    if not token:
        raise UsageError("Set CHAT_TOKEN to an API token (make one on /settings/tokens/).")
    try:
        return Client([one for one in url.split(",") if one.strip()], token=token)
    except ValueError as error:
        raise UsageError(str(error)) from None


def format_message(message: Message, note: str = "") -> str:
    """One line of a message: time, author, body (or what became of it)."""
    clock = message.created_at[11:19] or "--:--:--"
    if message.deleted:
        return f"{clock} {message.author.username} (deleted #{message.id})"
    suffix = f" ({note} #{message.id})" if note else ""
    body = message.body.replace("\n", "\n    ")
    return f"{clock} {message.author.username}{suffix}: {body}"


def print_event(event: Event, out: TextIO, err: TextIO) -> None:
    """Print what a person following the room wants to see of an event."""
    if isinstance(event, MessageNew):
        print(format_message(event.message), file=out, flush=True)
    elif isinstance(event, MessageUpdated):
        print(format_message(event.message, "edited"), file=out, flush=True)
    elif isinstance(event, MessageDeleted):
        print(format_message(event.message), file=out, flush=True)
    elif isinstance(event, Disconnected):
        why = "no answer from the server" if event.dead else f"closed ({event.code})"
        print(f"chat: connection lost: {why}; reconnecting…", file=err, flush=True)
    elif isinstance(event, Connected) and event.reconnect:
        print(f"chat: reconnected to #{event.room}, caught up", file=err, flush=True)
    elif isinstance(event, Presence):
        print(f"chat: {event.user} is {event.status}", file=err, flush=True)
    elif isinstance(event, RoomClosed):
        print(f"chat: {event.detail or event.reason}", file=err, flush=True)
    elif isinstance(event, ServerError):
        print(f"chat: refused: {event.code}: {event.detail}", file=err, flush=True)


# --- commands -------------------------------------------------------------------------


async def cmd_rooms(client: Client, args: argparse.Namespace) -> int:
    for room in await client.rooms():
        unread = f"  ({room['unread']} unread)" if room.get("unread") else ""
        print(f"{room['slug']}\t{room.get('name', '')}{unread}")
    return 0


async def cmd_send(client: Client, args: argparse.Namespace) -> int:
    text = " ".join(args.text)
    message = await client.send(args.room, text)
    print(message.id)
    return 0


async def cmd_history(client: Client, args: argparse.Namespace) -> int:
    newest_first = [message async for message in client.history(args.room, limit=args.limit)]
    messages = list(reversed(newest_first))
    if args.json:
        json.dump([message.raw for message in messages], sys.stdout, ensure_ascii=False, indent=1)
        print()
    else:
        for message in messages:
            print(format_message(message))
    return 0


async def _open_with_backlog(client: Client, slug: str, lines: int) -> tuple[Room, set[int]]:
    """Follow a room, then print its last `lines` messages; return the room and the ids
    printed (a message sent between the two may come both ways: it is printed once)."""
    room = client.room(slug)
    await room.start()
    printed: set[int] = set()
    if lines > 0:
        backlog = [message async for message in client.history(slug, limit=lines)]
        for message in reversed(backlog):
            printed.add(message.id)
            print(format_message(message), flush=True)
    return room, printed


async def _follow(room: Room, printed: set[int]) -> None:
    async for event in room:
        if isinstance(event, MessageNew) and event.message.id in printed:
            continue
        print_event(event, sys.stdout, sys.stderr)


async def cmd_tail(client: Client, args: argparse.Namespace) -> int:
    room, printed = await _open_with_backlog(client, args.room, args.lines)
    try:
        print(f"chat: following #{args.room} (Ctrl-C to stop)", file=sys.stderr, flush=True)
        await _follow(room, printed)
    finally:
        await room.close()
    return 0


async def cmd_interactive(client: Client, args: argparse.Namespace) -> int:
    room, printed = await _open_with_backlog(client, args.room, args.lines)
    follower = asyncio.get_running_loop().create_task(_follow(room, printed))
    print(f"chat: in #{args.room}: type a message and Enter; Ctrl-D to leave", file=sys.stderr)
    try:
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                break
            if line.strip():
                room.send_nowait(line.rstrip("\n"))
            if follower.done():
                break
        # The end of the input: wait a while for what is still unacknowledged.
        pending = [entry.done for entry in room.outbox.values()]
        if pending:
            await asyncio.wait(pending, timeout=DRAIN_WITHIN)
        # Let the follower print what arrived with the acknowledgements.
        for _ in range(100):
            if not room.queued_events or follower.done():
                break
            await asyncio.sleep(0.01)
        unsent = len(room.outbox)
        if unsent:
            print(f"chat: {unsent} message(s) were not acknowledged", file=sys.stderr)
            return 1
        return 0
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError, ChatError):
            await follower
        await room.close()


HANDLERS = {
    "rooms": cmd_rooms,
    "send": cmd_send,
    "history": cmd_history,
    "tail": cmd_tail,
    "interactive": cmd_interactive,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chat",
        description="The chat from a terminal (CHAT_URL, CHAT_TOKEN from the environment).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("rooms", help="the rooms you are a member of")
    tail = commands.add_parser("tail", help="print a room's messages as they arrive")
    tail.add_argument("room")
    tail.add_argument("-n", "--lines", type=int, default=10, help="messages to show first")
    send = commands.add_parser("send", help="send a message (exit 0 once stored)")
    send.add_argument("room")
    send.add_argument("text", nargs="+")
    history = commands.add_parser("history", help="a room's last messages")
    history.add_argument("room")
    history.add_argument("--limit", type=int, default=50)
    history.add_argument("--json", action="store_true", help="the message objects, as JSON")
    interactive = commands.add_parser("interactive", help="follow a room and send lines")
    interactive.add_argument("room")
    interactive.add_argument("-n", "--lines", type=int, default=10)
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    argv = list(argv)
    # `chat ROOM` is the interactive mode.
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
        argv = ["interactive", *argv]
    args = build_parser().parse_args(argv)
    if getattr(args, "limit", 1) < 1:
        raise UsageError("--limit must be at least 1.")
    return args


def explain(error: ChatError) -> str:
    """Say what went wrong, for a person."""
    if isinstance(error, AuthenticationError):
        return f"signed out: {error.detail} (make a new token on /settings/tokens/)"
    if isinstance(error, ApiError):
        return f"refused: {error.code}: {error.detail}"
    return str(error)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        client = client_from_env()
    except UsageError as error:
        print(f"chat: {error}", file=sys.stderr)
        return 2
    handler: Any = HANDLERS[args.command]
    try:
        return int(asyncio.run(handler(client, args)))
    except ChatError as error:
        print(f"chat: {explain(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
