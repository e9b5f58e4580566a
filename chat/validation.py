"""The rules that input must follow whichever way it arrives (socket, HTTP, admin)."""

from typing import Any

from django.conf import settings

from .errors import Empty, Invalid, TooLong


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
