"""Reactions in a server-rendered page: the record as JSON in a data- attribute, which
render.js's messageFromElement reads back (the page runs no inline script)."""

import json

from django import template

register = template.Library()


@register.filter
def reactions_json(reactions: list[dict]) -> str:
    """Return a message's reactions as JSON text (the template escapes it as an attribute)."""
    return json.dumps(reactions, ensure_ascii=False, separators=(",", ":"))
