"""Time `services.message_send` in-process: the project's own cost of storing a message
(access check, revision, mentions, rendering, the row, the event built), without a socket.

Runs the code of the checkout it is run from (`python bench/project_send.py` in a git
worktree of an older commit times that commit), on a fresh SQLite file in a temp dir (in
memory, /dev/shm, where there is one), with the rate limit lifted and the events dropped
once built: delivering them is the socket side's cost, which the fan-out scenarios
measure. Bodies: typical messages, plain, with a mention, and with Markdown
(each kind alone, then all mixed), the same for every commit. Prints JSON: microseconds per
send (median, p90, mean) by kind.

    .venv/bin/python bench/project_send.py --sends 2000 --rounds 5
"""

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BODIES = {
    "plain": [
        "sounds good, see you at the meeting then",
        "I pushed the fix, can someone have a look before lunch?",
        "thanks! that was it",
        "Has anyone seen the report from yesterday? I cannot find it anywhere",
    ],
    "mention": [
        "@bench1 can you review this when you have a minute?",
        "thanks @bench2, merged",
    ],
    "markdown": [
        "the **build** is green again, see https://example.com/builds/1234",
        "use `make test` first, then:\n```sh\nmake bench\n```",
        "> is it deployed?\n\nyes, *since this morning*: [notes](https://example.com/notes)",
        "- one\n- two\n- ~~three~~",
    ],
}
BODIES["mixed"] = [*BODIES["plain"] * 3, *BODIES["mention"], *BODIES["markdown"]]


def setup_django(tmp: str) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/send.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myproject.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    settings.CHAT_RATE_MESSAGES = 10**9  # the limit is not what is measured

    from chat import events

    events.set_transport(_Dropped())


class _Dropped:
    """An events transport that sends nothing."""

    def send(self, event) -> None:
        pass

    async def asend(self, event) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=2000, help="sends per kind and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warm-up", type=int, default=200)
    args = parser.parse_args()
    memory = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(dir=memory) as tmp:
        setup_django(tmp)
        from django.contrib.auth.models import User

        from chat import services
        from chat.models import Membership, Room

        users = [User.objects.create(username=f"bench{i}") for i in range(4)]
        room = Room.objects.create(name="Bench", slug="bench")
        Membership.objects.bulk_create(Membership(room=room, user=user) for user in users)
        author = users[0]

        def send_all(bodies, count) -> list[float]:
            seconds = []
            for body in itertools.islice(itertools.cycle(bodies), count):
                began = time.perf_counter()
                services.message_send(room=room, author=author, body=body)
                seconds.append(time.perf_counter() - began)
            return seconds

        send_all(BODIES["mixed"], args.warm_up)
        results = {kind: [] for kind in BODIES}
        for _ in range(args.rounds):
            for kind, bodies in BODIES.items():
                results[kind].extend(send_all(bodies, args.sends))
    report = {}
    for kind, seconds in results.items():
        micro = sorted(s * 1e6 for s in seconds)
        report[kind] = {
            "sends": len(micro),
            "median_us": round(statistics.median(micro), 1),
            "p90_us": round(micro[int(len(micro) * 0.9)], 1),
            "mean_us": round(statistics.fmean(micro), 1),
        }
    json.dump(report, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
