"""Render the HTML of the messages stored before bodies had HTML.

Not atomic: each batch of chat.services.message_html commits on its own, so that a
large table is never one transaction, and a run that stops goes on where it stopped
(only messages without HTML are rendered). manage.py render_messages does the same.
"""

from django.db import migrations


def render_stored(apps, schema_editor):
    from chat.services.message_html import messages_render

    messages_render(apps=apps)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("chat", "0007_message_body_html"),
    ]

    operations = [
        migrations.RunPython(render_stored, migrations.RunPython.noop, elidable=True),
    ]
