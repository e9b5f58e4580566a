"""Template filters for the chat pages."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince

from ..services.mentions import EVERYONE_WORDS, MENTION_RE

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


# --- mentions ------------------------------------------------------------------------
# The same runs as static/js/chat/mentions.js highlightParts and render.js fillBody, so a
# server-rendered message looks as a live one: only mentions the server resolved (the
# message's `mentions` ids, as names of the room's members, and @room / @here when
# `mention_all` is set) are <span class="mention">; "@nobody" stays text.


@register.filter
def mentions_me(message, user) -> bool:
    """Tell whether a message mentions the user: by name, as online (@here), or @room."""
    if message.get("deleted") or message["author"]["id"] == user.pk:
        return False
    return user.pk in (message.get("mentions") or ()) or message.get("mention_all") == "room"


def mention_parts(body: str, *, names: dict[str, int], me: str, mention_all, all_includes_me):
    """Split a body into (text, user id or None, is a mention, is mine) runs.

    `names`: lowercased resolved names -> user id; `me`: the reader's username.
    """
    parts, last, my_name = [], 0, me.lower()
    for match in MENTION_RE.finditer(body):
        found = match.group(1)
        # The longest form that is a mention: "@bob." is bob's when no "bob." is resolved.
        for form in (found, found.rstrip(".-+@")):
            word = form.lower()
            if word in EVERYONE_WORDS:
                if mention_all:
                    parts.append((body[last : match.start()], None, False, False))
                    parts.append((f"@{form}", None, True, bool(all_includes_me)))
                    break
            elif form and word in names:
                parts.append((body[last : match.start()], None, False, False))
                parts.append((f"@{form}", names[word], True, word == my_name))
                break
        else:
            continue
        last = match.start() + 1 + len(form)
    parts.append((body[last:], None, False, False))
    return [part for part in parts if part[0]]


@register.simple_tag
def message_body(message, user, names):
    """Render a message's body as escaped text, its resolved mentions as spans.

    `names` is what mention_names returned for the page. A mention of the user gets
    "mention mention-me"; each span of a person carries data-user-id for room.js.
    """
    me = user.get_username()
    resolved = {}
    for user_id in message.get("mentions") or ():
        name = me if user_id == user.pk else names.get(user_id)
        if name:
            resolved[name.lower()] = user_id
    parts = mention_parts(
        message.get("body") or "",
        names=resolved,
        me=me,
        mention_all=message.get("mention_all"),
        all_includes_me=mentions_me(message, user),
    )
    return format_html_join("", "{}", ((_part_html(*part),) for part in parts))


def _part_html(text, user_id, is_mention, mine):
    if not is_mention:
        return text  # escaped by format_html_join
    classes = "mention mention-me" if mine else "mention"
    if user_id is None:
        return format_html('<span class="{}">{}</span>', classes, text)
    return format_html('<span class="{}" data-user-id="{}">{}</span>', classes, user_id, text)
