"""The search box's language: words, "exact phrases", -exclusions and operators
(docs/protocol.md, "Search"), parsed into a SearchQuery, or refused with a sentence that
says what is wrong."""

import re
from dataclasses import dataclass, field
from datetime import date

from ..errors import Invalid

QUERY_MAX = 500  # characters of a search
TERMS_MAX = 20  # words, phrases and operators in one search

# `from:alice`, `in:general`, `has:link`, `is:mentioned`, `before:2026-12-01`, `after:`.
OPERATORS = ("from", "in", "has", "is", "before", "after")
HAS_VALUES = ("link", "file", "image")
IS_VALUES = ("mentioned",)
# A word that looks like an operator but is a link (https://...) stays a word.
_SCHEMES = frozenset({"http", "https", "ftp", "mailto", "tel", "xmpp", "irc"})

# A token: optionally negated, an operator's name and colon, then a quoted phrase or a
# run of non-space characters.
_TOKEN = re.compile(r'(-?)(?:([A-Za-z]+):)?("([^"]*)"?|\S+)')


_WORD = re.compile(r"\w")


class BadQuery(Invalid):
    """A search that cannot be understood; the detail says why, for people."""

    code = "bad_query"


@dataclass
class SearchQuery:
    words: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    without_words: list[str] = field(default_factory=list)
    without_phrases: list[str] = field(default_factory=list)
    # Usernames and room references (a slug, or @username for a direct conversation).
    authors: list[str] = field(default_factory=list)
    without_authors: list[str] = field(default_factory=list)
    rooms: list[str] = field(default_factory=list)
    without_rooms: list[str] = field(default_factory=list)
    has: set[str] = field(default_factory=set)
    has_not: set[str] = field(default_factory=set)
    mentioned: bool = False
    before: date | None = None  # created before the start of this day (UTC)
    after: date | None = None  # created after the end of this day (UTC)

    @property
    def has_text(self) -> bool:
        """Whether anything must be found in the text (not only excluded from it)."""
        return bool(self.words or self.phrases)

    @property
    def is_empty(self) -> bool:
        return self == SearchQuery()


def parse_query(text) -> SearchQuery:
    """Parse a search; raise BadQuery with a sentence for people when it can't be."""
    if not isinstance(text, str):
        raise BadQuery("'q' must be a string.")
    text = text.strip()
    if len(text) > QUERY_MAX:
        raise BadQuery(f"Searches are limited to {QUERY_MAX} characters.")
    query = SearchQuery()
    tokens = _TOKEN.findall(text)
    if len(tokens) > TERMS_MAX:
        raise BadQuery(f"A search may hold at most {TERMS_MAX} words, phrases and operators.")
    for negated, name, raw, quoted in tokens:
        value = quoted if raw.startswith('"') else raw
        bare = raw[:-1].lower() if raw.endswith(":") and not name else ""
        if bare in OPERATORS:
            raise BadQuery(f"{bare}: needs a value, as in {_EXAMPLES[bare]}.")
        if name and name.lower() in _SCHEMES and not raw.startswith('"'):
            _add_text(query, f"{name}:{raw}", negated=bool(negated), phrase=False)
        elif name:
            _add_operator(query, name.lower(), value.strip(), negated=bool(negated))
        else:
            _add_text(query, value, negated=bool(negated), phrase=raw.startswith('"'))
    if query.before and query.after and query.after >= query.before:
        raise BadQuery("Nothing is both after and before those days: check the dates.")
    return query


def _add_text(query: SearchQuery, value: str, *, negated: bool, phrase: bool) -> None:
    value = " ".join(value.split())
    if not _WORD.search(value):  # punctuation alone finds nothing in either index
        return
    if phrase:
        (query.without_phrases if negated else query.phrases).append(value)
    else:
        (query.without_words if negated else query.words).append(value)


def _add_operator(query: SearchQuery, name: str, value: str, *, negated: bool) -> None:
    if name not in OPERATORS:
        raise BadQuery(
            f"There is no operator {name}:. Use {', '.join(op + ':' for op in OPERATORS)}"
            ' or put the words in quotes ("like: this").'
        )
    if not value:
        raise BadQuery(f"{name}: needs a value, as in {_EXAMPLES[name]}.")
    if name == "from":
        (query.without_authors if negated else query.authors).append(value.lstrip("@"))
    elif name == "in":
        (query.without_rooms if negated else query.rooms).append(value.lstrip("#"))
    elif name == "has":
        value = value.lower()
        if value not in HAS_VALUES:
            raise BadQuery(f"has: takes {', '.join(HAS_VALUES)}, not {value!r}.")
        (query.has_not if negated else query.has).add(value)
    elif name == "is":
        value = value.lower()
        if value not in IS_VALUES or negated:
            raise BadQuery("is: takes mentioned (and cannot be negated).")
        query.mentioned = True
    else:
        if negated:
            raise BadQuery(
                f"{name}: cannot be negated: use {'after' if name == 'before' else 'before'}:."
            )
        day = _day(name, value)
        setattr(query, name, day)


_EXAMPLES = {
    "from": "from:alice",
    "in": "in:general (or in:@alice, a direct conversation)",
    "has": "has:link",
    "is": "is:mentioned",
    "before": "before:2026-12-01",
    "after": "after:2026-11-01",
}


def _day(name: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadQuery(f"{name}: takes a day as YYYY-MM-DD, as in {_EXAMPLES[name]}.") from None
