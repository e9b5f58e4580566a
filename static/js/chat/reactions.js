// reactions.js: a message's reactions as data (docs/protocol.md, "Reactions"): whether
// I reacted, the words of a chip's title ("You, Alice and 3 others reacted with 👍"), the
// emoji rule of the picker's input, and the frames that add and take back a reaction.
// Pure: no DOM, so node can test it.

import { displayName } from "./people.js";

// The picker's emoji, with the words a screen reader says for each.
export const QUICK_EMOJI = [
  ["👍", "thumbs up"], ["👎", "thumbs down"], ["❤️", "red heart"], ["😂", "tears of joy"],
  ["😮", "surprised"], ["😢", "crying"], ["🎉", "party popper"], ["🙏", "folded hands"],
  ["🔥", "fire"], ["👀", "eyes"], ["✅", "check mark"], ["❌", "cross mark"],
  ["😄", "grinning"], ["😍", "heart eyes"], ["🤔", "thinking"], ["😅", "sweat smile"],
  ["🙌", "raised hands"], ["👏", "clapping"], ["💯", "hundred points"], ["🚀", "rocket"],
  ["👋", "waving hand"], ["🤝", "handshake"], ["💡", "light bulb"], ["⭐", "star"],
].map(([emoji, name]) => ({ emoji, name }));

// How many names a chip's title gives before "and N others".
export const TITLE_NAMES_MAX = 10;

// chat/validation.py's clean_emoji, the same rule: one pictograph (with a variation
// selector, a skin tone, tag characters), several joined by ZERO WIDTH JOINERs, a flag
// or a keycap; at most 32 code points.
const PICTOGRAPH =
  "\\u00a9\\u00ae\\u203c\\u2049\\u2122\\u2139\\u2194-\\u2199\\u21a9\\u21aa\\u231a\\u231b" +
  "\\u2328\\u23cf\\u23e9-\\u23f3\\u23f8-\\u23fa\\u24c2\\u25aa\\u25ab\\u25b6\\u25c0" +
  "\\u25fb-\\u25fe\\u2600-\\u27bf\\u2934\\u2935\\u2b05-\\u2b07\\u2b1b\\u2b1c\\u2b50\\u2b55" +
  "\\u3030\\u303d\\u3297\\u3299" +
  "\\u{1f000}-\\u{1f1e5}\\u{1f200}-\\u{1f3fa}\\u{1f400}-\\u{1faff}";
const ELEMENT =
  `[${PICTOGRAPH}][\\ufe0e\\ufe0f]?[\\u{1f3fb}-\\u{1f3ff}]?\\ufe0f?` +
  "(?:[\\u{e0020}-\\u{e007e}]+\\u{e007f})?";
const EMOJI_RE = new RegExp(
  `^(?:[0-9#*]\\ufe0f?\\u20e3|[\\u{1f1e6}-\\u{1f1ff}]{2}|${ELEMENT}(?:\\u200d${ELEMENT})*)$`,
  "u",
);
const EMOJI_MAX = 32; // code points, as Python counts them

/** Tell whether `text` is one emoji the server takes as a reaction. */
export function isEmoji(text) {
  return typeof text === "string" && [...text].length <= EMOJI_MAX && EMOJI_RE.test(text);
}

/** A message's reactions (none from a server before reactions, or on a deleted message). */
export function reactionsOf(msg) {
  return !msg?.deleted && Array.isArray(msg?.reactions) ? msg.reactions : [];
}

/** The ids of everyone who reacted with this emoji (`users` names only the first ones). */
function reactorIds(reaction) {
  if (Array.isArray(reaction.user_ids)) return reaction.user_ids;
  return (reaction.users ?? []).map((user) => user.id);
}

/** Whether the user `meId` is among those who reacted with this emoji. */
export function hasReacted(reaction, meId) {
  return reactorIds(reaction).includes(meId);
}

/** The emoji of a message that the user `meId` reacted with. */
export function myEmoji(msg, meId) {
  return reactionsOf(msg)
    .filter((reaction) => hasReacted(reaction, meId))
    .map((reaction) => reaction.emoji);
}

/** "A", "A and B", "A, B and C". */
function joinNames(names) {
  if (names.length <= 1) return names.join("");
  return `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
}

/**
 * Who reacted, for a chip's title: "You, Alice and 3 others reacted with 👍". "You"
 * comes first; the count is exact even past the names the server sends.
 */
export function reactionTitle(reaction, meId) {
  const names = (reaction.users ?? []).filter((user) => user.id !== meId).map(displayName);
  if (hasReacted(reaction, meId)) names.unshift("You");
  const shown = names.slice(0, TITLE_NAMES_MAX);
  const count = Math.max(reaction.count ?? 0, shown.length);
  const others = count - shown.length;
  if (others > 0) shown.push(others === 1 ? "1 other" : `${others} others`);
  return `${joinNames(shown) || "Nobody"} reacted with ${reaction.emoji}`;
}

/** The frame that adds (`on`) or takes back my `emoji` on message `id`. */
export function reactionFrame(id, emoji, on) {
  return { type: on ? "reaction.add" : "reaction.remove", id, emoji };
}
