"""The search's SQL, one builder per database over the same parsed query: which messages
match (newest first, keyset-paged) and a highlighted snippet of each.

Every value the searcher gave is a query parameter; what is written into the SQL is this
module's own text and placeholders.
"""

import re
from dataclasses import dataclass

from django.db import connection

from .query import SearchQuery

# Around matched words in a snippet, from the database; highlight() turns them into
# <mark>. Private-use characters: no one types them.
MARK_START, MARK_END = "\ue000", "\ue001"
SNIPPET_WORDS = 24
_PREFIX_WORD = re.compile(r"\A(\w+)\*\Z")


@dataclass
class Filters:
    """What narrows a search beside its text: already resolved to ids."""

    room_ids: list[int]
    author_ids: list[int]
    without_author_ids: list[int]
    mentioned_user_id: int | None
    created_before: object  # datetime | None
    created_from: object
    before_id: int | None


def _fts5_string(text: str) -> str:
    """Quote a word or a phrase for FTS5: a string, whose own quotes are doubled."""
    return '"' + text.replace('"', '""') + '"'


def _fts5_match(words: list[str], phrases: list[str]) -> list[str]:
    terms = []
    for word in words:
        prefix = _PREFIX_WORD.match(word)
        terms.append(f"{_fts5_string(prefix.group(1))}*" if prefix else _fts5_string(word))
    return terms + [_fts5_string(phrase) for phrase in phrases]


def _common_where(query: SearchQuery, filters: Filters) -> tuple[list[str], list]:
    """The conditions both databases share, on chat_message as m."""
    where = ["m.deleted_at IS NULL"]
    params: list = []
    where.append(f"m.room_id IN ({', '.join(['%s'] * len(filters.room_ids))})")
    params += filters.room_ids
    if filters.author_ids:
        where.append(f"m.author_id IN ({', '.join(['%s'] * len(filters.author_ids))})")
        params += filters.author_ids
    if filters.without_author_ids:
        where.append(f"m.author_id NOT IN ({', '.join(['%s'] * len(filters.without_author_ids))})")
        params += filters.without_author_ids
    for kind, negated in [(kind, False) for kind in sorted(query.has)] + [
        (kind, True) for kind in sorted(query.has_not)
    ]:
        condition, value = _HAS[kind]
        where.append(f"NOT ({condition})" if negated else condition)
        params.append(value)
    if filters.mentioned_user_id is not None:
        # IN, not a correlated EXISTS: SQLite would test every message of the rooms.
        where.append(
            "m.id IN (SELECT mm.message_id FROM chat_messagemention mm WHERE mm.user_id = %s)"
        )
        params.append(filters.mentioned_user_id)
    if filters.created_before is not None:
        where.append("m.created_at < %s")
        params.append(filters.created_before)
    if filters.created_from is not None:
        where.append("m.created_at >= %s")
        params.append(filters.created_from)
    if filters.before_id is not None:
        where.append("m.id < %s")
        params.append(filters.before_id)
    return where, params


# has:… as a condition on the message row and its parameter. A link is an <a> its HTML
# has (a mention is a <span>); files are in its attachments' JSON.
_HAS = {
    "link": ("m.body_html LIKE %s", "%<a href=%"),
    "file": ("m.attachments_data != %s", ""),
    "image": ("m.attachments_data LIKE %s", '%"image":true%'),
}


def matching_sql(query: SearchQuery, filters: Filters, limit: int) -> tuple[str, list]:
    """Return the SQL of (message id, snippet) of the matches, newest first, and its
    parameters. The snippet is None when the search has no words to find."""
    if connection.vendor == "postgresql":
        return _postgresql(query, filters, limit)
    return _sqlite(query, filters, limit)


def _sqlite(query: SearchQuery, filters: Filters, limit: int) -> tuple[str, list]:
    where, params = _common_where(query, filters)
    excluded = _fts5_match(query.without_words, query.without_phrases)
    if query.has_text:
        match = " ".join(_fts5_match(query.words, query.phrases))
        if excluded:
            match = f"({match}) NOT ({' OR '.join(excluded)})"
        sql = (
            "SELECT m.id, snippet(chat_message_fts, 0, %s, %s, '…', %s) "
            "FROM chat_message_fts JOIN chat_message m ON m.id = chat_message_fts.rowid "
            f"WHERE chat_message_fts MATCH %s AND {' AND '.join(where)} "
            "ORDER BY chat_message_fts.rowid DESC LIMIT %s"
        )
        return sql, [MARK_START, MARK_END, SNIPPET_WORDS, match, *params, limit]
    if excluded:
        where.append(
            "m.id NOT IN (SELECT rowid FROM chat_message_fts WHERE chat_message_fts MATCH %s)"
        )
        params.append(" OR ".join(excluded))
    return _without_text(where), [*params, limit]


def _without_text(where: list[str]) -> str:
    """The SQL of a search with no words to find: its conditions on the rows alone."""
    conditions = " AND ".join(where)
    return f"SELECT m.id, NULL FROM chat_message m WHERE {conditions} ORDER BY m.id DESC LIMIT %s"


def _tsquery(words: list[str], phrases: list[str]) -> tuple[list[str], list]:
    """Each word and phrase as a tsquery of the index's configuration (migration 0013)."""
    parts, params = [], []
    for word in words:
        prefix = _PREFIX_WORD.match(word)
        if prefix:
            # to_tsquery's own syntax: the word alone (\w+, nothing to escape), as a prefix.
            parts.append("to_tsquery('chat_search'::regconfig, %s)")
            params.append(f"{prefix.group(1).lower()}:*")
        else:
            parts.append("plainto_tsquery('chat_search'::regconfig, %s)")
            params.append(word)
    for phrase in phrases:
        parts.append("phraseto_tsquery('chat_search'::regconfig, %s)")
        params.append(phrase)
    return parts, params


_TSVECTOR = "to_tsvector('chat_search'::regconfig, m.body)"  # the index's expression, exactly


def _postgresql(query: SearchQuery, filters: Filters, limit: int) -> tuple[str, list]:
    where, params = _common_where(query, filters)
    found, found_params = _tsquery(query.words, query.phrases)
    excluded, excluded_params = _tsquery(query.without_words, query.without_phrases)
    if excluded:
        where.append(f"NOT ({_TSVECTOR} @@ ({' || '.join(excluded)}))")
        params += excluded_params
    if not found:
        return _without_text(where), [*params, limit]
    tsquery = " && ".join(found)
    # One stretch of the body around the first match, whole words, its punctuation kept
    # (fragments would drop it). Text that looks like an HTML tag is left out of it.
    options = f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords={SNIPPET_WORDS}, MinWords=8"
    # The page's ids first; the headlines, which cost, only for them.
    sql = (
        "SELECT page.id, ts_headline('chat_search'::regconfig, page.body, page.q, %s) FROM ("
        f"SELECT m.id, m.body, q.q FROM chat_message m, (SELECT {tsquery} AS q) q "
        f"WHERE {_TSVECTOR} @@ q.q AND {' AND '.join(where)} "
        "ORDER BY m.id DESC LIMIT %s) page ORDER BY page.id DESC"
    )
    return sql, [options, *found_params, *params, limit]
