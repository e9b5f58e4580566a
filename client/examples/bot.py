"""An example bot: answers `!ping` with `pong`, and `!remind 10m text` with the reminder,
posted in the same room after the delay (s, m or h; at most a day).

    CHAT_URL=http://127.0.0.1:8000 CHAT_TOKEN=chat_... python client/examples/bot.py general

It follows each room named on the command line with chat_client: reconnects, catch-up and
resends are the library's. Reminders live in memory: a restart forgets those not yet due.
"""

import asyncio
import re
import sys
from dataclasses import dataclass

from chat_client import Client, MessageNew, Room
from chat_client.cli import UsageError, client_from_env

USAGE = "Usage: !remind <number><s|m|h> <text>, e.g. !remind 10m stretch (at most 24h)."
UNITS = {"s": 1, "m": 60, "h": 3600}
LONGEST = 24 * 3600
REMIND = re.compile(r"^!remind(?:\s+(?P<delay>\S+))?(?:\s+(?P<text>.+))?$", re.S)
DELAY = re.compile(r"^(?P<amount>\d{1,6})(?P<unit>[smh])$")


@dataclass(frozen=True)
class Reminder:
    seconds: int
    text: str


def parse_delay(value: str) -> int | None:
    """Return a delay such as `10m` in seconds, or None if it is not one (or too long)."""
    match = DELAY.match(value)
    if match is None:
        return None
    seconds = int(match["amount"]) * UNITS[match["unit"]]
    return seconds if 0 < seconds <= LONGEST else None


def answer(body: str) -> str | Reminder | None:
    """Return the bot's answer to a message: a reply, a reminder to set, or None."""
    text = body.strip()
    if text == "!ping":
        return "pong"
    if text != "!remind" and not text.startswith(("!remind ", "!remind\n")):
        return None
    match = REMIND.match(text)
    if match is None or not match["delay"] or not match["text"]:
        return USAGE
    seconds = parse_delay(match["delay"])
    if seconds is None:
        return USAGE
    return Reminder(seconds=seconds, text=match["text"].strip())


class Bot:
    def __init__(self, client: Client) -> None:
        self.client = client
        self._reminders: set[asyncio.Task[None]] = set()

    async def serve(self, slugs: list[str]) -> None:
        """Follow every room until one stops for good (its error is raised then)."""
        async with asyncio.TaskGroup() as group:
            for slug in slugs:
                group.create_task(self.follow(slug))

    async def follow(self, slug: str) -> None:
        async with self.client.room(slug) as room:
            print(f"bot: listening in #{slug}", file=sys.stderr, flush=True)
            async for event in room:
                if not isinstance(event, MessageNew):
                    continue
                message = event.message
                if message.author.id == room.me.get("id"):
                    continue  # never answer itself
                await self.handle(room, message.author.username, message.body)

    async def handle(self, room: Room, author: str, body: str) -> None:
        reply = answer(body)
        if isinstance(reply, Reminder):
            await room.send(f"@{author} okay, I will remind you in {_words(reply.seconds)}.")
            task = asyncio.get_running_loop().create_task(self.remind(room, author, reply))
            self._reminders.add(task)
            task.add_done_callback(self._reminders.discard)
        elif reply is not None:
            await room.send(reply)

    async def remind(self, room: Room, author: str, reminder: Reminder) -> None:
        await asyncio.sleep(reminder.seconds)
        await room.send(f"⏰ @{author}: {reminder.text}")


def _words(seconds: int) -> str:
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds % size == 0 and seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def main(argv: list[str] | None = None) -> int:
    slugs = sys.argv[1:] if argv is None else argv
    if not slugs:
        print("usage: bot.py ROOM [ROOM ...] (CHAT_URL, CHAT_TOKEN set)", file=sys.stderr)
        return 2
    try:
        client = client_from_env()
    except UsageError as error:
        print(f"bot: {error}", file=sys.stderr)
        return 2
    try:
        asyncio.run(Bot(client).serve(slugs))
    except KeyboardInterrupt:
        return 130
    except ExceptionGroup as group:  # a room stopped for good: say why
        for error in group.exceptions:
            print(f"bot: stopped: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
