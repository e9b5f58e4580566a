// mentions.js: the rules of @-mentions on the client, pure (no DOM): the token being
// typed at the caret, the people to offer for it, the text once one is picked, whether
// a body says @room or @here, and how a stored message's body splits into text and
// mention runs. The server resolves mentions (chat/services/mentions.py); the token
// rules here are a copy of its MENTION_RE, so both sides read a body the same way.

// A username character as Django allows it: a "word" character (letters and digits of
// any script, and "_", as Python's \w), or one of . @ + -.
const NAME_CHAR = /[\p{L}\p{N}_.@+-]/u;
// The server's MENTION_RE: an "@" that does not continue a word or an address, then
// 1 to 150 username characters.
const MENTION_TOKEN = /(?<![\p{L}\p{N}_.@+-])@([\p{L}\p{N}_.@+-]{1,150})/gu;
const NAME_MAX = 150;
// Trailing characters the server also tries the name without ("@bob." mentions bob).
const TRAILING_PUNCTUATION = /[.\-+@]+$/u;

/** The words that mention everyone; they are never a person's name. */
export const EVERYONE_WORDS = ["room", "here"];
// How many people the popup offers at most (besides @room and @here).
export const CANDIDATES_MAX = 8;

function lower(text) {
  return String(text).toLowerCase();
}

/** Return the name after "@" and the same without trailing punctuation (as the server). */
function nameForms(found) {
  return [found, found.replace(TRAILING_PUNCTUATION, "")].filter(Boolean);
}

/**
 * Find the @-token the caret is in or right after: {start, end, query}, or null.
 * `start` is the index of the "@", `end` the end of the token (it may go on past the
 * caret), `query` what was typed between the "@" and the caret. "a@b" (an address) is
 * no mention: the "@" must start the text or follow a character that is not part of a
 * name (a space, a bracket, a comma...).
 */
export function mentionQuery(text, caret) {
  if (typeof text !== "string" || !Number.isInteger(caret)) return null;
  if (caret < 1 || caret > text.length) return null;
  // Walk by code point, so a letter outside the BMP counts as one character.
  let start = caret;
  while (start > 0) {
    const before = codePointBefore(text, start);
    if (!NAME_CHAR.test(before)) break;
    start -= before.length;
  }
  if (start >= caret || text[start] !== "@") return null;
  let end = caret;
  while (end < text.length) {
    const next = String.fromCodePoint(text.codePointAt(end));
    if (!NAME_CHAR.test(next)) break;
    end += next.length;
  }
  const query = text.slice(start + 1, caret);
  if ([...text.slice(start + 1, end)].length > NAME_MAX) return null;
  return { start, end, query };
}

function codePointBefore(text, index) {
  const low = text.charCodeAt(index - 1);
  if (index >= 2 && low >= 0xdc00 && low <= 0xdfff) {
    const high = text.charCodeAt(index - 2);
    if (high >= 0xd800 && high <= 0xdbff) return text.slice(index - 2, index);
  }
  return text[index - 1];
}

/**
 * The entries to offer for a query, best first: members whose name starts with it, then
 * those whose name contains it (case-insensitive, each group by name), never me nor a
 * member named like @room or @here (the server reads those as everyone); at most
 * CANDIDATES_MAX; then @room and @here when `allowAll` and they start with the query.
 * members: [{user: {id, username}, role}]; me: {id}. Entries: {kind: "user"|"all",
 * username, id, role}.
 */
export function mentionCandidates(query, members, { me = null, allowAll = false } = {}) {
  const wanted = lower(query ?? "");
  const prefix = [];
  const inside = [];
  for (const member of Array.isArray(members) ? members : []) {
    const user = member?.user;
    if (!user || typeof user.username !== "string" || user.username === "") continue;
    if (me && user.id === me.id) continue;
    const name = lower(user.username);
    if (EVERYONE_WORDS.includes(name)) continue;
    const entry = { kind: "user", username: user.username, id: user.id, role: member.role ?? null };
    if (name.startsWith(wanted)) prefix.push(entry);
    else if (name.includes(wanted)) inside.push(entry);
  }
  const byName = (a, b) => {
    const [x, y] = [lower(a.username), lower(b.username)];
    if (x === wanted && y !== wanted) return -1; // an exact match comes first
    if (y === wanted && x !== wanted) return 1;
    return x < y ? -1 : x > y ? 1 : 0;
  };
  const people = [...prefix.sort(byName), ...inside.sort(byName)].slice(0, CANDIDATES_MAX);
  const everyone = allowAll
    ? EVERYONE_WORDS.filter((word) => word.startsWith(wanted)).map((word) => ({
        kind: "all",
        username: word,
        id: null,
        role: null,
      }))
    : [];
  return [...people, ...everyone];
}

/**
 * Replace text[start:end] (the token being typed) with "@username" and a space; return
 * {text, caret}, the caret after the space. A space already there is not doubled.
 */
export function applyMention(text, start, end, username) {
  const after = text.slice(end);
  const spaced = /^\s/u.test(after);
  const inserted = `@${username}${spaced ? "" : " "}`;
  return {
    text: text.slice(0, start) + inserted + after,
    caret: start + inserted.length + (spaced ? 1 : 0),
  };
}

/**
 * Whether a body mentions everyone, read as the server reads it: "room" (which wins over
 * "here"), "here", or null. Case-insensitive; "@room." counts, "@rooms" and "a@room" do not.
 */
export function mentionsAll(body) {
  if (typeof body !== "string" || !body.includes("@")) return null;
  let found = null;
  for (const match of body.matchAll(MENTION_TOKEN)) {
    for (const form of nameForms(match[1])) {
      const word = lower(form);
      if (word === "room") return "room";
      if (word === "here") found = "here";
    }
  }
  return found;
}

/**
 * Split a body into runs for drawing: [{text, mention, me}]. Only mentions the server
 * resolved are runs of their own: @name when `mentionedNames` holds the name (any case),
 * @room / @here when `mentionAll` is set. `me` (my username) marks mine; `allIncludesMe`
 * marks @room / @here as mine too. Everything else stays text, "@nobody" included.
 */
export function highlightParts(
  body,
  { mentionedNames = [], me = "", mentionAll = null, allIncludesMe = false } = {},
) {
  const text = typeof body === "string" ? body : "";
  const names = new Set([...mentionedNames].map(lower));
  const myName = lower(me ?? "");
  const parts = [];
  let last = 0;
  const pushText = (until) => {
    if (until > last) parts.push({ text: text.slice(last, until), mention: false, me: false });
    last = until;
  };
  for (const match of text.matchAll(MENTION_TOKEN)) {
    // The longest form that is a mention: "@bob." is bob's when no "bob." is resolved.
    const form = nameForms(match[1]).find((candidate) => {
      const word = lower(candidate);
      return EVERYONE_WORDS.includes(word) ? mentionAll !== null : names.has(word);
    });
    if (form === undefined) continue;
    const word = lower(form);
    const mine = EVERYONE_WORDS.includes(word) ? allIncludesMe : word === myName;
    pushText(match.index);
    parts.push({ text: `@${form}`, mention: true, me: mine });
    last = match.index + 1 + form.length;
  }
  pushText(text.length);
  return parts;
}

/**
 * Whether @room / @here is mine to say, as the server decides: owners, moderators and
 * staff always (`me.can_moderate`), anyone else in a room of at most `max` members.
 * `memberCount` null (the member list not loaded yet) leaves it to the server.
 */
export function mayMentionAll(me, memberCount, max) {
  if (me?.can_moderate || me?.staff || me?.role === "owner" || me?.role === "moderator") {
    return true;
  }
  if (memberCount === null || !Number.isFinite(max)) return true;
  return memberCount <= max;
}

/** The question asked before a message that notifies everyone is sent. */
export function mentionAllQuestion(kind, roomName, count) {
  const people = count === null ? "" : ` (${count} ${count === 1 ? "person" : "people"})`;
  const whom = kind === "here" ? "everyone online in" : "everyone in";
  return `This notifies ${whom} #${roomName}${people}. Send?`;
}
