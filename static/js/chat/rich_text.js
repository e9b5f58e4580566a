// rich_text.js: a message's HTML into the page. The server renders a body's Markdown
// subset and sanitizes it (chat/rendering.py); this module keeps to an allow-list of its
// own all the same (defense in depth): DOMParser reads the HTML into an inert document
// (parsing runs no script and loads nothing), the nodes become plain objects, cleanNodes
// keeps the allowed ones (pure: the node tests hold it), and the page gets new elements
// built one by one with createElement, setAttribute and text nodes. No string from the
// server is ever assigned to innerHTML.

const HTML_NS = "http://www.w3.org/1999/xhtml";

/** What every link carries: no window.opener, no endorsement, a tab of its own. */
export const LINK_REL = "noopener nofollow ugc";
export const LINK_TARGET = "_blank";
const LINK_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);
// A message's HTML nests a few levels; past this, what is left is kept as text.
const DEPTH_MAX = 40;

// The elements kept, with the attributes each may have (values checked by cleanValue).
const ALLOWED = new Map(
  Object.entries({
    p: [],
    br: [],
    strong: [],
    em: [],
    s: [],
    code: ["class"],
    pre: [],
    blockquote: [],
    ul: [],
    ol: ["start"],
    li: [],
    a: ["href"],
    span: ["class", "data-user-id"],
  }),
);
// Elements dropped with all they hold; any other element not allowed leaves its content.
const DROPPED = new Set([
  "#foreign", // SVG, MathML: another namespace
  "script",
  "style",
  "template",
  "iframe",
  "frame",
  "frameset",
  "object",
  "embed",
  "noscript",
  "noembed",
  "noframes",
  "textarea",
  "select",
  "title",
  "head",
  "xmp",
  "plaintext",
]);
const MENTION_CLASSES = new Set(["mention", "mention-all"]);
const LANGUAGE_CLASS = /^language-[A-Za-z0-9_+-]{1,32}$/;
const DIGITS = /^\d{1,12}$/;

/** An absolute http(s) or mailto URL, as the browser will read it; null otherwise. */
export function safeHref(value) {
  let url;
  try {
    url = new URL(String(value)); // a relative URL throws: none is allowed
  } catch {
    return null;
  }
  return LINK_PROTOCOLS.has(url.protocol) ? url.href : null;
}

/** An allowed attribute's value as kept, or null to drop it. */
export function cleanValue(tag, name, value) {
  const text = String(value);
  if (name === "href") return safeHref(text);
  if (name === "start" || name === "data-user-id") return DIGITS.test(text) ? text : null;
  if (name === "class" && tag === "code") return LANGUAGE_CLASS.test(text) ? text : null;
  if (name === "class" && tag === "span") {
    const kept = text.split(/\s+/).filter((token) => MENTION_CLASSES.has(token));
    return kept.length ? [...new Set(kept)].join(" ") : null;
  }
  return null;
}

function cleanElement(node, options, depth) {
  const allowed = ALLOWED.get(node.tag);
  const children = cleanNodes(node.children ?? [], options, depth + 1);
  if (!allowed) return children; // unwrapped: its (clean) content stays
  const attrs = {};
  for (const name of allowed) {
    if (!Object.hasOwn(node.attrs ?? {}, name)) continue;
    const value = cleanValue(node.tag, name, node.attrs[name]);
    if (value !== null) attrs[name] = value;
  }
  if (node.tag === "a") {
    if (!attrs.href) return children; // a link to nowhere allowed is its text
    attrs.rel = LINK_REL;
    attrs.target = LINK_TARGET;
  }
  if (node.tag === "span" && attrs.class) markMine(attrs, options);
  return [{ tag: node.tag, attrs, children }];
}

// "mention-me" is the reader's: a span naming me, or @room / @here when it includes me.
function markMine(attrs, { myId = null, allIncludesMe = false }) {
  const classes = attrs.class.split(" ");
  if (!classes.includes("mention")) return;
  const named = attrs["data-user-id"];
  const mine = classes.includes("mention-all")
    ? allIncludesMe
    : named !== undefined && myId !== null && named === String(myId);
  if (mine) attrs.class = `${attrs.class} mention-me`;
}

/**
 * Keep the allowed parts of plain nodes: {text} or {tag, attrs: {name: value}, children}.
 * Return new plain nodes. Options: myId (my user id) and allIncludesMe (the message's
 * @room / @here is meant for me), for "mention-me".
 */
export function cleanNodes(nodes, options = {}, depth = 0) {
  const kept = [];
  for (const node of nodes) {
    if (node === null || typeof node !== "object") continue;
    if (typeof node.text === "string") {
      kept.push({ text: node.text });
    } else if (typeof node.tag === "string" && !DROPPED.has(node.tag)) {
      if (depth >= DEPTH_MAX) kept.push({ text: textOf(node) });
      else kept.push(...cleanElement(node, options, depth));
    }
  }
  return kept;
}

function textOf(node) {
  if (typeof node.text === "string") return node.text;
  if (DROPPED.has(node.tag)) return "";
  return (node.children ?? []).map(textOf).join("");
}

// --- the DOM side ------------------------------------------------------------------------

/** A parsed DOM node as a plain node (null for comments and the like). */
export function plainFromDom(node) {
  if (node.nodeType === 3) return { text: node.data };
  if (node.nodeType !== 1) return null;
  const tag = node.namespaceURI === HTML_NS ? node.localName : "#foreign";
  const attrs = {};
  for (const attribute of node.attributes) attrs[attribute.name] = attribute.value;
  const children = [...node.childNodes].map(plainFromDom).filter(Boolean);
  return { tag, attrs, children };
}

/** Build a clean plain node as new elements of `doc`. */
export function domFromPlain(doc, node) {
  if (typeof node.text === "string") return doc.createTextNode(node.text);
  const element = doc.createElement(node.tag);
  for (const [name, value] of Object.entries(node.attrs)) element.setAttribute(name, value);
  element.append(...node.children.map((child) => domFromPlain(doc, child)));
  return element;
}

/** Append a message's HTML to `target`, through the allow-list; return `target`. */
export function fillRichText(target, html, options = {}) {
  const parsed = new DOMParser().parseFromString(String(html), "text/html");
  const plain = [...parsed.body.childNodes].map(plainFromDom).filter(Boolean);
  const doc = target.ownerDocument;
  target.append(...cleanNodes(plain, options).map((node) => domFromPlain(doc, node)));
  return target;
}
