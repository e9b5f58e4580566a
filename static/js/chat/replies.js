// replies.js: the quote a reply carries (docs/protocol.md, "Replies"): the message's
// `reply_to` is {id, author, excerpt, deleted}, or null. Pure: no DOM, so node tests it.
// replies_ui.js draws quotes and the composer's "Replying to" bar.

// The longest excerpt, in characters; chat/records.py's REPLY_EXCERPT_MAX agrees.
export const REPLY_EXCERPT_MAX = 120;
export const DELETED_TEXT = "Original message deleted";

// Markdown's markers at the start of a line and around words, as chat/records.py strips
// them: an excerpt is plain text. A word character is Python's \w: letters, digits, _.
const LINE_MARKERS = /^(?:\s*(?:>|[-*+]|\d{1,9}[.)]|```+|~~~+)\s*)+/u;
const INLINE_MARKERS = /\*\*|__|~~|`|(?<![\p{L}\p{N}_])[*_]|[*_](?![\p{L}\p{N}_])/gu;
// Python's str.splitlines().
const LINE_BREAKS = /\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/u;

/** The first line of a body with text in it, as plain text, shortened (as the server). */
export function replyExcerpt(body) {
  for (const line of String(body ?? "").split(LINE_BREAKS)) {
    const text = line.replace(LINE_MARKERS, "").replace(INLINE_MARKERS, "").trim();
    if (!text) continue;
    const chars = [...text]; // by code point, so an emoji is never cut in half
    if (chars.length <= REPLY_EXCERPT_MAX) return text;
    return `${chars.slice(0, REPLY_EXCERPT_MAX - 1).join("")}…`;
  }
  return "";
}

/** A whole body as plain text on one line: every line's Markdown markers taken out. */
export function plainText(body) {
  return String(body ?? "")
    .split(LINE_BREAKS)
    .map((line) => line.replace(LINE_MARKERS, "").replace(INLINE_MARKERS, "").trim())
    .filter(Boolean)
    .join(" ");
}

function isUser(value) {
  return Number.isInteger(value?.id) && typeof value.username === "string";
}

/**
 * A well-formed quote from anything (a frame, storage, a data- attribute), or null: the
 * page never trusts a shape it did not check.
 */
export function replyOf(value) {
  if (!value || !Number.isInteger(value.id) || value.id < 1 || !isUser(value.author)) {
    return null;
  }
  const { id, username, display_name: displayName } = value.author;
  return {
    id: value.id,
    author: { id, username, display_name: typeof displayName === "string" ? displayName : "" },
    excerpt: typeof value.excerpt === "string" ? value.excerpt : "",
    deleted: value.deleted === true,
  };
}

/** The quote of a message about to be answered (the composer's bar, the outbox). */
export function quoteOfMessage(msg) {
  return replyOf({ id: msg.id, author: msg.author, excerpt: replyExcerpt(msg.body) });
}

/** What a quote says after its author's name: the excerpt, or that the original went. */
export function quoteText(quote) {
  if (quote.deleted) return DELETED_TEXT;
  return quote.excerpt || "…";
}

/** Whether a message answers one of mine (and is not mine): news for me, as a mention. */
export function repliesToMe(msg, me) {
  const quote = msg?.reply_to;
  if (!quote || quote.deleted || me == null || msg.author?.id === me.id) return false;
  return quote.author?.id === me.id;
}

/**
 * The message `msg` with its quote brought up to date with the original `original` (a
 * snapshot of it just applied: edited, or deleted); `msg` itself when nothing changes.
 */
export function withFreshQuote(msg, original) {
  const quote = msg.reply_to;
  if (!quote || quote.id !== original.id) return msg;
  const fresh = {
    ...quote,
    excerpt: original.deleted ? "" : replyExcerpt(original.body),
    deleted: Boolean(original.deleted),
  };
  if (fresh.excerpt === quote.excerpt && fresh.deleted === quote.deleted) return msg;
  return { ...msg, reply_to: fresh };
}
