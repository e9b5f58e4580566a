"""The full-text index of message bodies, one per database, kept by the database itself.

Migration 0012 makes it, so that every write to chat_message keeps it right in the same
transaction, whatever makes the write (a service, the admin, a migration, a bulk load):

- SQLite: an FTS5 table over chat_message (external content: the text stays in
  chat_message.body, the table is only the index), with triggers on insert, delete and
  any change of `body` or `deleted_at`.
- PostgreSQL: a partial GIN index on `to_tsvector('chat_search', body)` (the 'simple'
  configuration with accents folded by unaccent) of the messages not
  deleted; queries use the same expression (chat/search/sql.py).

Only messages not deleted are in it. Both fold case and accents ("cafe" finds "café");
neither stems (a chat is many languages).
"""

from django.db import connection

FTS_TABLE = "chat_message_fts"
PG_INDEX = "message_body_search_idx"


def rebuild() -> int:
    """Make the index again from every message not deleted; return how many it holds."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("INSERT INTO chat_message_fts(chat_message_fts) VALUES ('delete-all')")
            cursor.execute(
                "INSERT INTO chat_message_fts(rowid, body) "
                "SELECT id, body FROM chat_message WHERE deleted_at IS NULL"
            )
        elif connection.vendor == "postgresql":
            cursor.execute("REINDEX INDEX message_body_search_idx")
        cursor.execute("SELECT count(*) FROM chat_message WHERE deleted_at IS NULL")
        return cursor.fetchone()[0]


def size_in_bytes() -> int | None:
    """Return the index's size on disk (None where the database does not tell)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_relation_size('message_body_search_idx')")
            return cursor.fetchone()[0]
        try:
            cursor.execute("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'chat_message_fts%%'")
        except Exception:
            return None
        return cursor.fetchone()[0]
