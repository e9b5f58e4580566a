"""Reads of reactions: a page's or a catch-up batch's, in one query for all its messages."""

from django.db import connection

from ..models import Reaction
from ..records import REACTION_FIELDS, reactions_of_rows

# As the messages' own (selectors._MESSAGE_SELECT): the ORM compiles the columns and the
# joins once, here; only the list of message ids is written out per call.
_REACTION_SELECT = (
    Reaction.objects.order_by().values_list(*REACTION_FIELDS).query.sql_with_params()[0]
)
_MESSAGE_ID = "{}.{}".format(
    *(connection.ops.quote_name(name) for name in (Reaction._meta.db_table, "message_id"))
)
_REACTION_ID = "{}.{}".format(
    *(connection.ops.quote_name(name) for name in (Reaction._meta.db_table, "id"))
)


def reactions_by_message(message_ids: list[int]) -> dict[int, list[dict]]:
    """Return {message id: its reactions (records.reactions_of_rows)}, in one query."""
    if not message_ids:
        return {}
    placeholders = ", ".join(["%s"] * len(message_ids))
    # Identifiers from the models' metadata; every value is a query parameter.
    sql = f"{_REACTION_SELECT} WHERE {_MESSAGE_ID} IN ({placeholders}) ORDER BY {_REACTION_ID}"
    with connection.cursor() as cursor:
        cursor.execute(sql, message_ids)
        return reactions_of_rows(cursor.fetchall())


def attach_reactions(messages: list[dict]) -> list[dict]:
    """Fill the `reactions` of Message objects read from rows, in one query at most.

    Only a message changed since it was created can have any: every reaction takes a
    revision (services.reactions), so a message whose `rev` is still its `created_rev`
    has none, and a page of such messages costs no query. A deleted message has none.
    """
    changed = [m["id"] for m in messages if m["rev"] != m["created_rev"] and not m["deleted"]]
    by_message = reactions_by_message(changed)
    if by_message:
        for message in messages:
            message["reactions"] = by_message.get(message["id"], [])
    return messages
