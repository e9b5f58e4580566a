"""Django's database sessions, with the session read as one prepared statement.

Every socket's opening loads its session (every HTTP request too): the ORM query took
0.25 ms, most of it compiling the query. Everything else is Django's own SessionStore.
"""

import functools

from django.contrib.sessions.backends import db
from django.db import connections
from django.utils import timezone


@functools.cache
def _session_data_sql(alias: str) -> str:
    model = SessionStore.get_model_class()
    quote = connections[alias].ops.quote_name
    column = {field.name: quote(field.column) for field in model._meta.concrete_fields}
    return (
        f"SELECT {column['session_data']} FROM {quote(model._meta.db_table)}"  # noqa: S608
        f" WHERE {column['session_key']} = %s AND {column['expire_date']} > %s"
    )


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        """Return the unexpired session with this key, or None (and forget the key)."""
        alias = self.model.objects.db
        connection = connections[alias]
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(_session_data_sql(alias), [self.session_key, now])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        fields = ["session_key", "session_data"]
        return self.model.from_db(alias, fields, [self.session_key, row[0]])
