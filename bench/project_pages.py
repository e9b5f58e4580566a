"""Time the project's own work for a history page, in one process: `message_page` and
the JSON encoding of its frame, without the socket, daphne and the database thread hop.

Run with the project server's environment (its DATABASE_URL), from the repository root:
reads {"room", "befores", "limit", "warm_up"} as JSON on stdin, prints
{"seconds": [one per measured page], "bad": wrong pages} as JSON.
"""

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myproject.settings")

import django

django.setup()

from chat import selectors  # noqa: E402
from chat.models import Room  # noqa: E402
from chat.realtime import protocol  # noqa: E402


def main() -> None:
    ask = json.load(sys.stdin)
    room = Room.objects.get(slug=ask["room"])
    seconds, bad = [], 0
    for i, before in enumerate(ask["befores"]):
        began = time.perf_counter()
        page = selectors.message_page(room=room, before=before, limit=ask["limit"])
        protocol.encode({"type": "history", **page})
        elapsed = time.perf_counter() - began
        if i >= ask["warm_up"]:
            seconds.append(elapsed)
            messages = page["messages"]
            bad += len(messages) != ask["limit"] or messages[-1]["id"] != before - 1
    json.dump({"seconds": seconds, "bad": bad}, sys.stdout)


if __name__ == "__main__":
    main()
