"""Template filters for the chat pages."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()

# Number of avatar colour classes in app.css (.avatar-c0 ... .avatar-c7); room.js uses the same.
AVATAR_COLOURS = 8


@register.filter
def protocol_time(value):
    """Turn a protocol time string ("2026-11-21T12:00:00.123456Z") into an aware datetime.

    The protocol's Message objects carry times as strings; templates need datetimes
    for the `date` filter. Anything unparsable gives None rather than an error page.
    """
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


@register.filter
def avatar_colour(username) -> str:
    """Return the avatar colour class of a username, the same one room.js picks.

    The hash runs over UTF-16 code units, as JavaScript's charCodeAt does, so that a
    server-rendered message and a live one get the same colour.
    """
    data = str(username).encode("utf-16-le")
    value = 0
    for index in range(0, len(data), 2):
        value = (value * 31 + int.from_bytes(data[index : index + 2], "little")) % 2**32
    return f"avatar-c{value % AVATAR_COLOURS}"


@register.filter
def ago(value) -> str:
    """Say how long ago a datetime was: "just now" under a minute, else "5 minutes ago"."""
    if not isinstance(value, datetime):
        return ""
    if (timezone.now() - value).total_seconds() < 60:
        return "just now"
    return f"{timesince(value)} ago"
