// search.js: search results as data (docs/protocol.md, "Search"): a result's highlight
// read through an allow-list, results grouped by room, the links that open a room at a
// message. Pure: no DOM, so node can test it; search_page.js and search_ui.js draw.

const MARK_TAG = /(<\/?mark>)/;
const ENTITY = /&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|(amp|lt|gt|quot|apos));/g;
const NAMED = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Turn the character references an escaped text may hold back into characters. */
export function decodeEntities(text) {
  return String(text).replace(ENTITY, (whole, decimal, hex, name) => {
    if (name) return NAMED[name];
    const code = Number.parseInt(decimal ?? hex, decimal ? 10 : 16);
    return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff)
      ? String.fromCodePoint(code)
      : whole;
  });
}

/**
 * A highlight (the text escaped, each match in <mark>) as [{text, marked}] pieces: the one
 * tag kept is <mark>; anything else that looks like markup stays text. The page puts
 * the pieces in with textContent, never the string itself as HTML.
 */
export function highlightParts(html) {
  const parts = [];
  let marked = false;
  for (const piece of String(html ?? "").split(MARK_TAG)) {
    if (piece === "<mark>" || piece === "</mark>") marked = piece === "<mark>";
    else if (piece) parts.push({ text: decodeEntities(piece), marked });
  }
  return parts;
}

/**
 * Group results by room, in their order: consecutive results of one room make one group
 * [{room, results, continues}]. `after` is the slug of the room of the group shown last
 * (the page before): a first group of that room `continues` it.
 */
export function groupByRoom(results, { after = null } = {}) {
  const groups = [];
  for (const result of results ?? []) {
    const slug = result?.room?.slug;
    if (typeof slug !== "string") continue;
    const last = groups.at(-1);
    if (last && last.room.slug === slug) {
      last.results.push(result);
    } else {
      groups.push({ room: result.room, results: [result], continues: !last && slug === after });
    }
  }
  return groups;
}

/** What a result's room is called: "#name", or a conversation by its other people. */
export function roomTitle(room, directTitle = () => null) {
  if (room?.kind === "direct") return directTitle(room.slug) || "Direct message";
  return String(room?.name ?? "");
}

/** The link that opens the room at a message: the page around it, scrolled to it. */
export function resultUrl(roomPageUrl, messageId) {
  return `${roomPageUrl}?around=${encodeURIComponent(messageId)}#message-${encodeURIComponent(messageId)}`;
}

/** The search API's URL for a search and a page (`before`: the last answer's `next`). */
export function searchApiUrl(apiUrl, { q, before = null, limit = null }) {
  const params = new URLSearchParams({ q });
  if (before !== null && before !== undefined && before !== "") params.set("before", before);
  if (limit) params.set("limit", limit);
  return `${apiUrl}?${params}`;
}

/** Tell whether a key pressed there is someone typing (so "/" is theirs, not ours). */
export function isTypingTarget(target) {
  if (!target) return false;
  if (target.isContentEditable) return true;
  const tag = String(target.tagName ?? "").toLowerCase();
  if (tag === "textarea" || tag === "select") return true;
  if (tag !== "input") return false;
  const kind = String(target.type ?? "text").toLowerCase();
  return !["button", "checkbox", "radio", "submit", "reset", "file", "image", "range", "color"].includes(kind);
}
