"""Schemas of the search over history (chat/views_search.py)."""

from pydantic import Field

from api.schemas import QueryInt, QueryParameters

from ..selectors.search import SEARCH_PAGE, SEARCH_PAGE_MAX
from .records import Message, Record, Room


class SearchParameters(QueryParameters):
    """What to search for, and which page of the results."""

    # Not checked here: the search language's own errors are bad_query (chat.search.query).
    q: str = Field("", description='The search: words, "phrases" and operators such as from:.')
    before: QueryInt(1) | None = Field(
        None, description="The `next` of the page before: results older than it."
    )
    limit: QueryInt(1) | None = Field(
        None,
        description=f"The page's size: {SEARCH_PAGE} when absent; more than "
        f"{SEARCH_PAGE_MAX} is read as {SEARCH_PAGE_MAX}.",
    )


class SearchResult(Record):
    message: Message
    room: Room
    highlight: str = Field(
        description="The matching part of the body as HTML: the text escaped, each match "
        "in <mark>, nothing else."
    )


class SearchResults(Record):
    results: list[SearchResult] = Field(description="Newest first.")
    next: int | None = Field(description="The `before` of the next page; null on the last.")
