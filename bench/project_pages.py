"""Time the project's own work for a history page, in one process: `message_page` and
the JSON encoding of its frame, without the socket, daphne and the database thread hop.

Run with the project server's environment (its DATABASE_URL), from the repository root:
reads {"rooms": [{"room", "befores"}, ...], "limit", "warm_up"} as JSON on stdin; the
rooms take turns, one page each. Prints {"rooms": [{"seconds": [one per measured page],
"bad": wrong pages, "frame_bytes": median size of a page's frame, "parts": ...}, ...]}
as JSON. `parts` comes from a second pass over the same pages, each step of
`message_page` timed apart (median microseconds): the rows' query, the records made of
them, the reactions' query (`attach_reactions`), the frame's encoding.
"""

import json
import os
import statistics
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
from chat.records import message_row_data  # noqa: E402


def _turns(rooms: list) -> list[tuple[int, int, int]]:
    """(which room, request number, before): the rooms take turns, the first of a turn
    alternating (as scenario_history._turns)."""
    order = list(range(len(rooms)))
    return [
        (k, i, rooms[k][1][i])
        for i in range(len(rooms[0][1]))
        for k in (order if i % 2 == 0 else order[::-1])
    ]


def timed_pages(rooms: list, limit: int, warm_up: int) -> list[dict]:
    answers = [{"seconds": [], "bad": 0, "frame_bytes": []} for _ in rooms]
    for k, i, before in _turns(rooms):
        began = time.perf_counter()
        page = selectors.message_page(room=rooms[k][0], before=before, limit=limit)
        frame = protocol.encode({"type": "history", **page})
        elapsed = time.perf_counter() - began
        if i >= warm_up:
            answer = answers[k]
            answer["seconds"].append(elapsed)
            answer["frame_bytes"].append(len(frame.encode()))
            messages = page["messages"]
            answer["bad"] += len(messages) != limit or messages[-1]["id"] != before - 1
    for answer in answers:
        answer["frame_bytes"] = statistics.median(answer["frame_bytes"])
    return answers


def timed_parts(rooms: list, limit: int, warm_up: int) -> list[dict] | None:
    """Time message_page's steps apart, as it takes them (None: this checkout's
    selectors have other names)."""
    page_sql = getattr(selectors, "_PAGE_BEFORE_SQL", None)
    attach_reactions = getattr(selectors, "attach_reactions", None)
    if page_sql is None or attach_reactions is None:
        return None
    steps = ("rows_query", "records", "reactions", "encode")
    parts = [{step: [] for step in steps} | {"reaction_queries": 0} for _ in rooms]
    for k, i, before in _turns(rooms):
        room = rooms[k][0]
        t0 = time.perf_counter()
        rows = selectors._rows(page_sql, [room.pk, before, limit + 1])
        t1 = time.perf_counter()
        has_more = len(rows) > limit
        rows = rows[:limit]
        rows.reverse()
        messages = [message_row_data(row, room.slug) for row in rows]
        t2 = time.perf_counter()
        attach_reactions(messages)
        t3 = time.perf_counter()
        protocol.encode({"type": "history", "messages": messages, "has_more": has_more})
        t4 = time.perf_counter()
        if i >= warm_up:
            for step, seconds in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                parts[k][step].append(seconds)
            # attach_reactions queries only for a page with a message changed since sent.
            parts[k]["reaction_queries"] += any(m["rev"] != m["created_rev"] for m in messages)
    for part in parts:
        for step in steps:
            part[step] = round(statistics.median(part[step]) * 1e6, 1)
    return parts


def main() -> None:
    ask = json.load(sys.stdin)
    rooms = [(Room.objects.get(slug=r["room"]), r["befores"]) for r in ask["rooms"]]
    answers = timed_pages(rooms, ask["limit"], ask["warm_up"])
    parts = timed_parts(rooms, ask["limit"], ask["warm_up"])
    for k, answer in enumerate(answers):
        answer["parts"] = None if parts is None else parts[k]
    json.dump({"rooms": answers}, sys.stdout)


if __name__ == "__main__":
    main()
