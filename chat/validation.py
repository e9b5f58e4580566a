"""The rules that input must follow whichever way it arrives (socket, HTTP, admin)."""

import re
from typing import Any

from django.conf import settings

from .errors import Empty, Invalid, TooLong
from .models import DISPLAY_NAME_MAX, REACTION_EMOJI_MAX

# Joins emoji into one (a family, a flag); other invisible characters can disguise a name.
ZERO_WIDTH_JOINER = "\u200d"


def clean_body(value: Any, *, allow_empty: bool = False) -> str:
    """Validate a message body: a string, stripped, within CHAT_BODY_MAX; not empty
    unless `allow_empty` (a message of files alone)."""
    if not isinstance(value, str):
        raise Invalid("'body' must be a string.")
    body = value.strip()
    if not body and not allow_empty:
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


def clean_attachment_ids(value: Any) -> list[int]:
    """Validate the uploads a message carries: a list of ids, at most CHAT_ATTACHMENTS_MAX."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(
        type(item) is int and 0 < item < 2**63 for item in value
    ):
        raise Invalid("'attachments' must be a list of upload ids.")
    if len(set(value)) > settings.CHAT_ATTACHMENTS_MAX:
        raise TooLong(f"A message carries at most {settings.CHAT_ATTACHMENTS_MAX} files.")
    return list(dict.fromkeys(value))


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


# --- reactions -------------------------------------------------------------------------

# One emoji, as people type or pick one: a pictograph (U+1F000-1FAFF but for the regional
# indicators and the skin tones; the symbols and dingbats at U+2600-27BF; the few older
# ones below that with an emoji form), which may take a variation selector (U+FE0F: as
# emoji; U+FE0E: as text), a skin tone (U+1F3FB-1F3FF) and tag characters ending in
# U+E007F (the flags of England, Scotland and Wales); several of those joined by ZERO
# WIDTH JOINERs (a family, "woman technologist"); or a flag (two regional indicators); or
# a keycap (0-9, # or * and U+20E3). Letters, digits and punctuation alone, spaces,
# controls and anything after the emoji are refused. Unicode's full rule (UTS #51) needs
# its data files; this admits every emoji a keyboard offers and keeps text out, which is
# what a reaction needs. static/js/chat/reactions.js's isEmoji is the same rule.
_PICTOGRAPH = (
    "\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u2199\u21a9\u21aa\u231a\u231b\u2328\u23cf"
    "\u23e9-\u23f3\u23f8-\u23fa\u24c2\u25aa\u25ab\u25b6\u25c0\u25fb-\u25fe\u2600-\u27bf"
    "\u2934\u2935\u2b05-\u2b07\u2b1b\u2b1c\u2b50\u2b55\u3030\u303d\u3297\u3299"
    "\U0001f000-\U0001f1e5\U0001f200-\U0001f3fa\U0001f400-\U0001faff"
)
_EMOJI_ELEMENT = (
    f"[{_PICTOGRAPH}][\ufe0e\ufe0f]?[\U0001f3fb-\U0001f3ff]?\ufe0f?"
    "(?:[\U000e0020-\U000e007e]+\U000e007f)?"
)
_EMOJI_RE = re.compile(
    rf"\A(?:[0-9#*]\ufe0f?\u20e3|[\U0001f1e6-\U0001f1ff]{{2}}"
    rf"|{_EMOJI_ELEMENT}(?:{ZERO_WIDTH_JOINER}{_EMOJI_ELEMENT})*)\Z"
)


def clean_emoji(value: Any) -> str:
    """Validate a reaction's emoji: one emoji (the rule above), at most REACTION_EMOJI_MAX
    code points."""
    if not isinstance(value, str) or not value:
        raise Invalid("'emoji' must be an emoji.")
    if len(value) > REACTION_EMOJI_MAX:
        raise TooLong(f"An emoji is at most {REACTION_EMOJI_MAX} characters.")
    if not _EMOJI_RE.match(value):
        raise Invalid("'emoji' must be one emoji.")
    return value
