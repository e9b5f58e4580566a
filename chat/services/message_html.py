"""Stored HTML of messages already stored: render what has none (or, asked, all of it).

Sending and editing render a message's HTML as they store it (services.messages). This
fills in the others: the messages stored before bodies had HTML (migration 0008 calls it),
and every message again after the rendering rules change (`manage.py render_messages
--all`). It takes no revision and tells no socket: a page shows the new HTML when loaded.
"""

from collections import defaultdict
from collections.abc import Callable

from django.apps import apps as global_apps
from django.db import transaction

from .. import rendering

BATCH_SIZE = 500


def messages_render(
    *,
    apps=global_apps,
    every: bool = False,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Render and store the HTML of the messages without it (all of them with `every`);
    return how many were rendered.

    `apps`: a migration's historical app registry, or the project's. Batches of
    `batch_size` by id, each in a transaction of its own, so that a million messages
    never sit in memory or in one transaction, and an interrupted run goes on where it
    stopped. `progress(count so far)` is called after each batch.
    """
    message_model = apps.get_model("chat", "Message")
    mention_model = apps.get_model("chat", "MessageMention")
    pending = message_model.objects.order_by("pk")
    if not every:
        pending = pending.filter(body_html="")
    done, last_id = 0, 0
    while True:
        rows = list(
            pending.filter(pk__gt=last_id).values_list("pk", "body", "mention_all")[:batch_size]
        )
        if not rows:
            return done
        ids = [row[0] for row in rows]
        # Those named, as resolved when the message was sent or last edited.
        names = defaultdict(dict)
        named = mention_model.objects.filter(message_id__in=ids, kind="user").values_list(
            "message_id", "user_id", "user__username"
        )
        for message_id, user_id, username in named:
            names[message_id][username.lower()] = user_id
        changed = [
            message_model(
                pk=message_id,
                body_html=rendering.render_body(
                    body, names=names.get(message_id), everyone=mention_all
                ),
            )
            for message_id, body, mention_all in rows
        ]
        with transaction.atomic():
            message_model.objects.bulk_update(changed, ["body_html"])
        done += len(rows)
        last_id = ids[-1]
        if progress is not None:
            progress(done)
