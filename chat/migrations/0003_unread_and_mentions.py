import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery


def backfill(apps, schema_editor):
    """Creation revisions from today's revisions; every member has read what exists.

    Edited messages keep the revision of their last edit: the order of old messages is
    only used against read markers, which start at each room's current revision, so no
    existing message shows as unread after the upgrade.
    """
    Message = apps.get_model("chat", "Message")
    Membership = apps.get_model("chat", "Membership")
    Room = apps.get_model("chat", "Room")
    Message.objects.update(created_rev=F("rev"))
    current = Room.objects.filter(pk=OuterRef("room_id")).values("rev")[:1]
    Membership.objects.update(last_read_rev=Subquery(current))


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("chat", "0002_moderation"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="created_rev",
            field=models.PositiveBigIntegerField(
                editable=False, null=True, verbose_name="created at revision"
            ),
        ),
        migrations.AddField(
            model_name="message",
            name="mention_ids",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.AddField(
            model_name="message",
            name="mention_all",
            field=models.CharField(
                blank=True,
                choices=[("", "no one"), ("room", "@room"), ("here", "@here")],
                default="",
                editable=False,
                max_length=8,
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="message",
            name="created_rev",
            field=models.PositiveBigIntegerField(editable=False, verbose_name="created at revision"),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["room", "created_rev"], name="message_room_created_rev_idx"),
        ),
        migrations.CreateModel(
            name="MessageMention",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[("user", "@name"), ("room", "@room"), ("here", "@here")],
                        default="user",
                        max_length=8,
                    ),
                ),
                (
                    "message",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="mentions",
                        to="chat.message",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="mentions",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["user", "message"], name="mention_user_message_idx")],
                "constraints": [
                    models.UniqueConstraint(fields=("message", "user"), name="mention_unique_message_user")
                ],
            },
        ),
    ]
