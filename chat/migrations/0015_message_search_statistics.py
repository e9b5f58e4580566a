"""PostgreSQL: statistics on the search index's expression, so that the planner knows how
rare a word is. Without them it guessed every word at 0.5% of the messages, and looked
for a rare one by reading the newest messages backwards: seconds on a million messages
instead of a millisecond through the GIN index (bench/RESULTS.md, "Search")."""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE STATISTICS IF NOT EXISTS message_body_search_stats "
            "ON (to_tsvector('chat_search'::regconfig, body)) FROM chat_message"
        )
        schema_editor.execute("ANALYZE chat_message")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP STATISTICS IF EXISTS message_body_search_stats")


class Migration(migrations.Migration):
    dependencies = [("chat", "0014_profile_is_bot")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
