"""The full-text index of message bodies (chat/search/index.py), kept by the database in
the transaction of every write to chat_message, whatever makes it: on SQLite an FTS5
table over chat_message with triggers, on PostgreSQL a partial GIN index of
to_tsvector('chat_search', body) ('simple' with accents folded). Each starts filled with the messages stored (not deleted)."""

from django.db import migrations

SQLITE_CREATE = [
    # External content: the text stays in chat_message.body; the table is the index alone.
    "CREATE VIRTUAL TABLE chat_message_fts USING fts5(body, content='chat_message', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "INSERT INTO chat_message_fts(rowid, body) "
    "SELECT id, body FROM chat_message WHERE deleted_at IS NULL",
    # FTS5 takes a row out by the values it indexed: the old ones, which triggers have.
    "CREATE TRIGGER chat_message_fts_insert AFTER INSERT ON chat_message "
    "WHEN new.deleted_at IS NULL BEGIN "
    "INSERT INTO chat_message_fts(rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER chat_message_fts_delete AFTER DELETE ON chat_message "
    "WHEN old.deleted_at IS NULL BEGIN "
    "INSERT INTO chat_message_fts(chat_message_fts, rowid, body) "
    "VALUES ('delete', old.id, old.body); END",
    "CREATE TRIGGER chat_message_fts_update AFTER UPDATE OF body, deleted_at ON chat_message "
    "BEGIN "
    "INSERT INTO chat_message_fts(chat_message_fts, rowid, body) "
    "SELECT 'delete', old.id, old.body WHERE old.deleted_at IS NULL; "
    "INSERT INTO chat_message_fts(rowid, body) "
    "SELECT new.id, new.body WHERE new.deleted_at IS NULL; END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS chat_message_fts_update",
    "DROP TRIGGER IF EXISTS chat_message_fts_delete",
    "DROP TRIGGER IF EXISTS chat_message_fts_insert",
    "DROP TABLE IF EXISTS chat_message_fts",
]
POSTGRESQL_CREATE = [
    # 'simple' (case folded, no stemming: a chat is many languages) with accents folded
    # first, as SQLite's unicode61 does: "cafe" finds "café". unaccent is a trusted
    # extension: the database's owner may create it.
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE TEXT SEARCH CONFIGURATION chat_search (COPY = pg_catalog.simple)",
    "ALTER TEXT SEARCH CONFIGURATION chat_search "
    "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple",
    "CREATE INDEX message_body_search_idx ON chat_message USING gin "
    "(to_tsvector('chat_search'::regconfig, body)) WHERE deleted_at IS NULL",
]
POSTGRESQL_DROP = [
    "DROP INDEX IF EXISTS message_body_search_idx",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS chat_search",
]


def _run(statements: dict):
    def run(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("chat", "0012_message_excerpt")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_CREATE, "postgresql": POSTGRESQL_CREATE}),
            _run({"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP}),
            elidable=False,
        )
    ]
