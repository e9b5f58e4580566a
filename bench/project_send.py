"""Time `services.message_send` in-process: the project's own cost of storing a message
(access check, revision, mentions, rendering, the row, the event built), without a socket.

Runs the code of the checkout it is run from (`python bench/project_send.py` in a git
worktree of an older commit times that commit), on a fresh SQLite file in a temp dir (in
memory, /dev/shm, where there is one), with the rate limit lifted and the events dropped
once built: delivering them is the socket side's cost, which the fan-out scenarios
measure. Bodies: typical messages, plain, with a mention, and with Markdown
(each kind alone, then all mixed), the same for every commit; and the plain bodies each
carrying one attachment (issue 16), a small PNG uploaded before each send
(services.attachments.attachment_upload: decoded, a thumbnail made, both files stored, in
the temp dir), not counted: the send that claims it is. Prints JSON: microseconds per
send (median, p90, mean) by kind, the median against the plain one's, and the SQL
statements of a send (counted apart, on sends not timed); for the attachment kind, the
upload's own time and statements too.

    .venv/bin/python bench/project_send.py --sends 2000 --rounds 5
    # a commit before attachments (issue 16): the kinds it has
    .venv/bin/python bench/project_send.py --kinds plain,mention,markdown,mixed
"""

import argparse
import io
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
# The plain bodies, each with one picture attached.
BODIES["attachment"] = BODIES["plain"]
ATTACHED = "attachment"
# Sends per kind whose SQL statements are counted (apart from the timed ones).
COUNTED_SENDS = 20


def setup_django(tmp: str) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/send.sqlite3"
    os.environ["MEDIA_ROOT"] = f"{tmp}/media"  # the attachments' files
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myproject.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    settings.CHAT_RATE_MESSAGES = 10**9  # the limit is not what is measured
    settings.CHAT_RATE_UPLOADS = 10**9

    from chat import events

    events.set_transport(_Dropped())


class _Dropped:
    """An events transport that sends nothing."""

    def send(self, event) -> None:
        pass

    async def asend(self, event) -> None:
        pass


def small_png() -> bytes:
    """A picture as people share them, only small: 320 x 200, a few colours."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 200), "#f4f1ea")
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 300, 60), fill="#2f6f9f")
    draw.ellipse((40, 80, 140, 180), fill="#d9822b")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def summary(seconds: list[float]) -> dict:
    micro = sorted(s * 1e6 for s in seconds)
    return {
        "sends": len(micro),
        "median_us": round(statistics.median(micro), 1),
        "p90_us": round(micro[int(len(micro) * 0.9)], 1),
        "mean_us": round(statistics.fmean(micro), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=2000, help="sends per kind and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warm-up", type=int, default=200)
    parser.add_argument(
        "--kinds", default=",".join(BODIES), help=f"comma-separated, of {', '.join(BODIES)}"
    )
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    if unknown := set(kinds) - set(BODIES):
        parser.error(f"unknown kinds {sorted(unknown)}")
    memory = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(dir=memory) as tmp:
        setup_django(tmp)
        from django.contrib.auth.models import User
        from django.core.files.uploadedfile import SimpleUploadedFile
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from chat import services
        from chat.models import Membership, Room

        users = [User.objects.create(username=f"bench{i}") for i in range(4)]
        room = Room.objects.create(name="Bench", slug="bench")
        Membership.objects.bulk_create(Membership(room=room, user=user) for user in users)
        author = users[0]
        picture = small_png() if ATTACHED in kinds else b""
        uploads: list[float] = []

        def upload() -> int:
            """Upload the picture for the author's next message (timed apart, in `uploads`)."""
            from chat.services.attachments import attachment_upload

            began = time.perf_counter()
            _room, access = services.room_open(slug=room.slug, user=author)
            record = attachment_upload(
                room=room,
                access=access,
                user=author,
                upload=SimpleUploadedFile("picture.png", picture, content_type="image/png"),
            )
            uploads.append(time.perf_counter() - began)
            return record["id"]

        def send_all(kind, count) -> list[float]:
            seconds = []
            for body in itertools.islice(itertools.cycle(BODIES[kind]), count):
                extra = {"attachments": [upload()]} if kind == ATTACHED else {}
                began = time.perf_counter()
                services.message_send(room=room, author=author, body=body, **extra)
                seconds.append(time.perf_counter() - began)
            return seconds

        send_all("mixed", args.warm_up)
        if ATTACHED in kinds:
            send_all(ATTACHED, args.warm_up // 10)
        uploads.clear()
        results = {kind: [] for kind in kinds}
        for _ in range(args.rounds):
            for kind in kinds:
                results[kind].extend(send_all(kind, args.sends))
        upload_seconds = list(uploads)

        # The statements of a send, on sends of their own: capturing them costs time.
        statements = {kind: [] for kind in kinds}
        upload_statements = []
        for kind in kinds:
            for body in itertools.islice(itertools.cycle(BODIES[kind]), COUNTED_SENDS):
                extra = {}
                if kind == ATTACHED:
                    with CaptureQueriesContext(connection) as queries:
                        extra = {"attachments": [upload()]}
                    upload_statements.append(len(queries))
                with CaptureQueriesContext(connection) as queries:
                    services.message_send(room=room, author=author, body=body, **extra)
                statements[kind].append(len(queries))
    report = {}
    for kind, seconds in results.items():
        report[kind] = summary(seconds)
        report[kind]["statements"] = statistics.median(statements[kind])
    plain = report.get("plain")
    for kind in kinds:
        if plain and kind != "plain":
            report[kind]["median_to_plain"] = round(
                report[kind]["median_us"] / plain["median_us"], 2
            )
    if ATTACHED in report:
        timed = summary(upload_seconds)
        timed["uploads"] = timed.pop("sends")
        report[ATTACHED]["upload"] = {**timed, "statements": statistics.median(upload_statements)}
    json.dump(report, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
