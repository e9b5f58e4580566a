"""The rules that input must follow whichever way it arrives (socket, HTTP, admin)."""

from typing import Any

from django.conf import settings

from .errors import Empty, Invalid, TooLong
from .models import DISPLAY_NAME_MAX

# Joins emoji into one (a family, a flag); other invisible characters can disguise a name.
ZERO_WIDTH_JOINER = "\u200d"


def clean_body(value: Any) -> str:
    """Validate a message body: a string, stripped, not empty, within CHAT_BODY_MAX."""
    if not isinstance(value, str):
        raise Invalid("'body' must be a string.")
    body = value.strip()
    if not body:
        raise Empty("The message is empty.")
    if len(body) > settings.CHAT_BODY_MAX:
        raise TooLong(f"Messages are limited to {settings.CHAT_BODY_MAX} characters.")
    if "\x00" in body:
        raise Invalid("The message contains a NUL character.")
    try:
        # JSON escapes such as "\ud800" decode to lone surrogates, which no database
        # stores and no WebSocket text frame can carry.
        body.encode()
    except UnicodeEncodeError:
        raise Invalid("The message is not valid Unicode.") from None
    return body


def clean_display_name(value: Any) -> str:
    """Validate a display name: a string of printable characters, stripped, within
    DISPLAY_NAME_MAX; empty means none (the username shows)."""
    if not isinstance(value, str):
        raise Invalid("'display_name' must be a string.")
    # Inner runs of spaces (or tabs, or line breaks) become one space.
    name = " ".join(value.split())
    if len(name) > DISPLAY_NAME_MAX:
        raise TooLong(f"Display names are limited to {DISPLAY_NAME_MAX} characters.")
    if any(not (char.isprintable() or char == ZERO_WIDTH_JOINER) for char in name):
        raise Invalid("A display name can't contain control or invisible characters.")
    return name
