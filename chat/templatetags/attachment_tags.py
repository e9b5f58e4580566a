"""Attachments in a server-rendered page: the records as JSON in a data- attribute, which
render.js's messageFromElement reads back (the page runs no inline script)."""

import json

from django import template

register = template.Library()


@register.filter
def attachments_json(attachments: list[dict]) -> str:
    """Return a message's attachments as JSON text (the template escapes it as an attribute)."""
    return json.dumps(attachments, ensure_ascii=False, separators=(",", ":"))
