"""Message bodies as HTML: a small subset of Markdown and the resolved mentions, sanitized.

No database here: `parse_body` reads a body once; its `mention_text` is what the mention
resolver reads (a mention inside code or a link is text, and notifies no one), and
`render_html` turns it, with the mentions resolved, into the HTML stored with the message
(Message.body_html), so that every page, socket and catch-up reads it instead of
rendering. markdown-it-py parses with raw HTML off (it stays text) and only the subset's
rules on; nh3 then keeps only the allow-listed tags, attributes, classes and URL schemes,
so that a mistake in the first step still reaches no reader. docs/protocol.md,
"Formatting", lists the subset.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape

import nh3
import orjson
from markdown_it import MarkdownIt
from markdown_it.token import Token

from .services.mentions import EVERYONE_WORDS, MENTION_RE

# Links may go to the web and to mail only: no javascript:, data:, vbscript:, file:, and
# no relative URL (it would resolve against this site).
LINK_SCHEMES = ("http", "https", "mailto")
_LINK_PREFIXES = tuple(f"{scheme}:" for scheme in LINK_SCHEMES)
# A fenced block's language becomes class="language-<name>" when it is this simple.
LANGUAGE_RE = re.compile(r"[A-Za-z0-9_+-]{1,32}")
_LANGUAGE_CLASS_RE = re.compile(r"language-[A-Za-z0-9_+-]{1,32}")
# Bare host names become links only under these top-level domains: a file name such as
# views.py or notes.md (two-letter country domains) stays text in a chat about code.
BARE_LINK_DOMAINS = ["com", "org", "net", "edu", "gov", "info", "biz", "io", "dev", "app"]
# A body of plain words (a letter first; letters, digits, spaces and , ; ? ! ' " ( ) .
# after it) is one paragraph of itself: most messages are, and skip the parser (the
# tests hold this to the parser's output). A "." before a letter or digit could make a
# bare link ("example.com"): such a body takes the parser.
_PLAIN_RE = re.compile(r"[^\W\d_](?:[^\W_]|[ ,;?!'\"()]|\.(?![^\W_]))*")
# The HTML must stay within a frame beside its body (CHAT_SEND_FRAME_MAX): a body that
# renders larger, as encoded in JSON, is shown as escaped text instead.
HTML_MAX_BYTES = 24_000

MENTION_CLASS = "mention"
MENTION_ALL_CLASS = "mention mention-all"
LINK_REL = "noopener nofollow ugc"
# A link opens a new tab: the conversation, its socket and what is being typed stay put.
LINK_TARGET = "_blank"

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a", "span",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "*": set(),  # not even nh3's defaults (lang, title)
    "a": {"href"},
    "code": {"class"},
    "ol": {"start"},
    "span": {"class", "data-user-id"},
}


def _link_allowed(url: str) -> bool:
    """Tell whether a link's URL (normalized by markdown-it) may become a link."""
    return url.lower().startswith(_LINK_PREFIXES)


def _render_fence(self, tokens, idx, options, env) -> str:
    """A fenced code block, its language kept as a class when it is a plain name."""
    token = tokens[idx]
    language = token.info.split(maxsplit=1)[0] if token.info.strip() else ""
    code_class = f' class="language-{language}"' if LANGUAGE_RE.fullmatch(language) else ""
    return f"<pre><code{code_class}>{escape(token.content, quote=False)}</code></pre>\n"


def _render_image(self, tokens, idx, options, env) -> str:
    """An image as a link to it: nothing loads from elsewhere when a message is read."""
    token = tokens[idx]
    href = token.attrGet("src") or ""
    text = self.renderInlineAsText(token.children or [], options, env) or href
    return f'<a href="{escape(href)}">{escape(text, quote=False)}</a>'


def _render_mention(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    text = escape(token.content, quote=False)
    user_id = token.meta.get("user_id")
    if user_id is None:
        return f'<span class="{MENTION_ALL_CLASS}">{text}</span>'
    return f'<span class="{MENTION_CLASS}" data-user-id="{int(user_id)}">{text}</span>'


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": True, "breaks": True})
    md.enable(["strikethrough", "linkify"])
    # Not in the subset: headings, rules, indented code (only fences make code), and
    # reference definitions (a body of only "[x]: url" would show nothing). Raw HTML is
    # off already ("html": False); its rules go too, so it is plainly text.
    md.disable(["heading", "lheading", "hr", "code", "reference", "html_block", "html_inline"])
    md.validateLink = _link_allowed
    md.linkify.set({"fuzzy_email": True}).tlds(BARE_LINK_DOMAINS)
    md.add_render_rule("fence", _render_fence)
    md.add_render_rule("image", _render_image)
    md.add_render_rule("mention", _render_mention)
    return md


_MD = _parser()
_NESTING_MAX = _MD.options["maxNesting"] - 1


def _attribute_value(tag: str, attribute: str, value: str) -> str | None:
    """nh3's last word on an allowed attribute's value: keep it, or None to drop it."""
    if attribute == "class":
        if tag == "code":
            return value if _LANGUAGE_CLASS_RE.fullmatch(value) else None
        return value if value in (MENTION_CLASS, MENTION_ALL_CLASS) else None
    if attribute in ("data-user-id", "start"):
        return value if value.isascii() and value.isdigit() and len(value) <= 12 else None
    return value


_CLEANER = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    clean_content_tags={"script", "style"},
    attributes=ALLOWED_ATTRIBUTES,
    attribute_filter=_attribute_value,
    strip_comments=True,
    link_rel=LINK_REL,
    set_tag_attribute_values={"a": {"target": LINK_TARGET}},
    url_schemes=set(LINK_SCHEMES),
    url_relative="deny",
)


def sanitize(html: str) -> str:
    """Keep only the allow-listed tags, attributes and URL schemes of `html`."""
    return _CLEANER.clean(html)


@dataclass
class ParsedBody:
    """A body read once: its tokens (None: plain words), and the text a mention may be in."""

    body: str
    tokens: list[Token] | None
    mention_text: str = field(init=False)

    def __post_init__(self):
        # Runs apart ("\n" between them) so that no run seems to continue another.
        self.mention_text = "\n".join(
            block.children[index].content
            for block in _inline_blocks(self.tokens or [])
            for index in _mentionable(block)
        )


def _inline_blocks(tokens: list[Token]):
    """Yield the tokens that hold a block's inline content (their children)."""
    return (token for token in tokens if token.type == "inline" and token.children)


def _mentionable(block: Token) -> list[int]:
    """Return the indexes of the block's text runs with an "@" outside links: code is a
    token of its own, so these are where mentions may be."""
    indexes, link_depth = [], 0
    for index, child in enumerate(block.children):
        if child.type == "link_open":
            link_depth += 1
        elif child.type == "link_close":
            link_depth -= 1
        elif child.type == "text" and link_depth == 0 and "@" in child.content:
            indexes.append(index)
    return indexes


def parse_body(body: str) -> ParsedBody:
    """Parse a body (already valid: chat.validation.clean_body) for resolving and rendering."""
    if _PLAIN_RE.fullmatch(body):
        return ParsedBody(body, None)
    return ParsedBody(body, _MD.parse(body))


def _mention_form(found: str, names: Mapping[str, int], everyone: bool) -> str | None:
    """The longest form of a name after "@" that is a mention: "@bob." is bob's when no
    "bob." was resolved (the resolver tries both forms too)."""
    for form in (found, found.rstrip(".-+@")):
        word = form.lower()
        if word in EVERYONE_WORDS:
            if everyone:
                return form
        elif form and word in names:
            return form
    return None


def _split_mentions(token: Token, names: Mapping[str, int], everyone: bool) -> list[Token]:
    """Return a text token cut into text and mention tokens."""
    text, parts, last = token.content, [], 0
    for match in MENTION_RE.finditer(text):
        form = _mention_form(match.group(1), names, everyone)
        if form is None:
            continue
        if match.start() > last:
            parts.append(Token("text", "", 0, content=text[last : match.start()]))
        user_id = None if form.lower() in EVERYONE_WORDS else names[form.lower()]
        parts.append(Token("mention", "span", 0, content=f"@{form}", meta={"user_id": user_id}))
        last = match.start() + 1 + len(form)
    if last < len(text):
        parts.append(Token("text", "", 0, content=text[last:]))
    return parts


def render_html(
    parsed: ParsedBody, *, names: Mapping[str, int] | None = None, everyone: str = ""
) -> str:
    """Return the sanitized HTML of a parsed body.

    `names`: the lowercased usernames the message mentions -> their user ids (as
    resolved); `everyone`: "room" or "here" when it mentions everyone ("" otherwise), so
    that @room and @here show as mentions. Other "@words" stay text. The tokens are used
    up: parse again to render again.
    """
    if parsed.tokens is None:
        return f"<p>{parsed.body}</p>"  # nothing in it to escape (_PLAIN_RE)
    if any(token.level >= _NESTING_MAX for token in parsed.tokens):
        # markdown-it drops what lies deeper than its limit: show all of it, as text.
        return plain_html(parsed.body)
    if names or everyone:
        for block in _inline_blocks(parsed.tokens):
            for index in reversed(_mentionable(block)):
                parts = _split_mentions(block.children[index], names or {}, bool(everyone))
                block.children[index : index + 1] = parts
    html = sanitize(_MD.renderer.render(parsed.tokens, _MD.options, {})).strip()
    if len(orjson.dumps(html)) > HTML_MAX_BYTES:
        return plain_html(parsed.body)
    return html


def plain_html(body: str) -> str:
    """Return a body as one paragraph of escaped text, its line breaks kept."""
    return f"<p>{escape(body, quote=False).replace(chr(10), '<br>')}</p>"


def render_body(body: str, *, names: Mapping[str, int] | None = None, everyone: str = "") -> str:
    """Parse and render a body in one step (see `render_html`)."""
    return render_html(parse_body(body), names=names, everyone=everyone)
