"""Replies in a server-rendered page: the quote as JSON in a data- attribute, which
render.js's messageFromElement reads back (the page runs no inline script), and the
quote's words as replies.js's quoteText says them."""

import json

from django import template

register = template.Library()

DELETED_TEXT = "Original message deleted"  # static/js/chat/replies.js agrees


@register.filter
def reply_json(reply_to: dict) -> str:
    """Return a reply's quote as JSON text (the template escapes it as an attribute)."""
    return json.dumps(reply_to, ensure_ascii=False, separators=(",", ":"))


@register.filter
def quote_text(reply_to: dict) -> str:
    """Return what a quote says after its author's name."""
    if reply_to["deleted"]:
        return DELETED_TEXT
    return reply_to["excerpt"] or "…"
