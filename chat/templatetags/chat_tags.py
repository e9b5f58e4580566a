"""Template filters for the chat pages."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince

from .. import rendering

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


# --- message bodies ------------------------------------------------------------------
# A message's body is stored as sanitized HTML (chat.rendering), mentions included as
# <span class="mention" data-user-id> (and "mention mention-all" for @room / @here). The
# page shows it as render.js does: with "mention-me" added where the reader is meant.


@register.filter
def mentions_me(message, user) -> bool:
    """Tell whether a message mentions the user: by name, as online (@here), or @room."""
    if message.get("deleted") or message["author"]["id"] == user.pk:
        return False
    return user.pk in (message.get("mentions") or ()) or message.get("mention_all") == "room"


@register.simple_tag
def message_html(message, user):
    """Return a message's stored HTML, the user's mentions in it marked "mention-me".

    Only the column chat.rendering sanitized is marked safe; a message stored before it
    had HTML shows as escaped text. The marks go into tags the renderer wrote: user text
    in the HTML is escaped, so it can't spell them.
    """
    html = message.get("html") or rendering.plain_html(message.get("body") or "")
    if mentions_me(message, user):
        mine = f'<span class="{rendering.MENTION_CLASS}" data-user-id="{int(user.pk)}">'
        everyone = f'<span class="{rendering.MENTION_ALL_CLASS}">'
        html = html.replace(mine, mine.replace('class="mention"', 'class="mention mention-me"'))
        html = html.replace(everyone, f'<span class="{rendering.MENTION_ALL_CLASS} mention-me">')
    return mark_safe(html)  # noqa: S308 (sanitized when stored: chat.rendering)
