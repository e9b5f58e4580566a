"""Keep with every message what a reply to it quotes (Message.excerpt), filled here for
the messages already stored.

Not atomic: each batch commits on its own, so that a large table is never one
transaction, and a run that stops goes on where it stopped.
"""

from django.db import migrations, models, transaction

BATCH = 2000


def fill(apps, schema_editor):
    from chat.records import message_excerpt

    message_model = apps.get_model("chat", "Message")
    last = 0
    while True:
        rows = list(
            message_model.objects.filter(pk__gt=last, deleted_at__isnull=True)
            .order_by("pk")
            .values_list("pk", "body", "attachments_data")[:BATCH]
        )
        if not rows:
            return
        with transaction.atomic():
            message_model.objects.bulk_update(
                [
                    message_model(pk=pk, excerpt=message_excerpt(body, attachments))
                    for pk, body, attachments in rows
                ],
                ["excerpt"],
            )
        last = rows[-1][0]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("chat", "0011_attachments")]

    operations = [
        migrations.AddField(
            model_name="message",
            name="excerpt",
            field=models.CharField(blank=True, default="", editable=False, max_length=120),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
