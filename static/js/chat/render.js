// render.js: DOM building blocks of the room page: elements with text (never HTML),
// avatars, times, and one message drawn from a protocol message object (its body from
// the server's HTML through rich_text.js's allow-list). Nothing here runs at import time
// but the time formats, so node can import it too.

import { attachmentsOf } from "./attachments.js";
import { attachmentList } from "./attachments_ui.js";
import { highlightParts } from "./mentions.js";
import { displayName, handle, hasDisplayName } from "./people.js";
import { reactionBar } from "./reactions_ui.js";
import { replyOf } from "./replies.js";
import { replyQuote } from "./replies_ui.js";
import { fillRichText } from "./rich_text.js";

const AVATAR_COLOURS = 8; // .avatar-c0 ... .avatar-c7 in app.css; chat_tags.avatar_colour agrees

/** Create an element with a class and, optionally, text (always as text, never HTML). */
export function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function toInt(value) {
  const number = Number.parseInt(value, 10);
  return Number.isFinite(number) ? number : 0;
}

export function avatarColour(username) {
  let value = 0;
  for (let i = 0; i < username.length; i += 1) {
    value = (Math.imul(value, 31) + username.charCodeAt(i)) >>> 0;
  }
  return `avatar-c${value % AVATAR_COLOURS}`;
}

export function avatar(username) {
  const initial = [...username][0]?.toUpperCase() ?? "?";
  const node = h("span", `avatar ${avatarColour(username)}`, initial);
  node.setAttribute("aria-hidden", "true");
  return node;
}

/**
 * A person's name that opens their profile card (profile_card_ui.js): a button showing
 * the display name, with "@username" in its title. templates/chat/room_detail.html
 * renders the same markup for a message's author.
 */
export function personName(user, className) {
  const button = h("button", `person-name ${className}`, displayName(user));
  button.type = "button";
  button.dataset.profile = user.username;
  button.title = handle(user);
  button.setAttribute("aria-haspopup", "dialog");
  return button;
}

/**
 * A person's name and, when it is a display name, "@username" beside it, so that people
 * can tell who is who and know how to mention them.
 */
export function personNameParts(user, nameClass, handleClass) {
  const parts = [personName(user, nameClass)];
  if (hasDisplayName(user)) parts.push(h("span", `person-handle ${handleClass}`, handle(user)));
  // A program's account says so beside its name (room_detail.html draws the same).
  if (user.bot === true) {
    const badge = h("span", "bot-badge", "bot");
    badge.title = "A bot: an account a program runs";
    parts.push(badge);
  }
  return parts;
}

export function actionButton(action, label) {
  const button = h("button", "message-action", label);
  button.type = "button";
  button.dataset.action = action;
  return button;
}

// --- times ----------------------------------------------------------------------------

const shortTime = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});
const dayAndTime = new Intl.DateTimeFormat(undefined, {
  weekday: "short",
  day: "numeric",
  month: "short",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});
const fullTime = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });

export function fillTime(timeEl, iso) {
  const date = new Date(iso);
  timeEl.dateTime = iso;
  if (Number.isNaN(date.getTime())) return;
  timeEl.textContent = shortTime.format(date);
  timeEl.title = fullTime.format(date);
}

/** A moment ahead in local time: "14:05" today, with the day when it is not today. */
export function formatUntil(iso, now = new Date()) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toDateString() === now.toDateString()
    ? shortTime.format(date)
    : dayAndTime.format(date);
}

// --- messages -------------------------------------------------------------------------

/** Tell whether a message mentions me: by name, as online (@here), or as one of the room. */
export function mentionsMe(msg, me) {
  if (msg.deleted || msg.author.id === me.id) return false;
  return mentionIds(msg).includes(me.id) || msg.mention_all === "room";
}

/** The ids a message mentions (an old server sends none). */
export function mentionIds(msg) {
  return Array.isArray(msg.mentions) ? msg.mentions : [];
}

/**
 * Fill a message body from its HTML (`msg.html`, rendered and sanitized by the server):
 * formatting, links, and mentions as <span class="mention"> ("mention-me" for mine),
 * through rich_text.js's allow-list. Without HTML (a server before formatting, a message
 * stored before it had HTML), the body as text, with the mentions the server resolved:
 * `mentionName(id)` gives a mentioned user's username when it is known; unknown ones
 * stay text.
 */
export function fillBody(node, msg, me, mentionName = () => undefined) {
  if (typeof msg.html === "string" && msg.html !== "") {
    node.classList.add("is-rich");
    return fillRichText(node, msg.html, { myId: me.id, allIncludesMe: mentionsMe(msg, me) });
  }
  const names = [];
  for (const id of mentionIds(msg)) {
    const name = id === me.id ? me.username : mentionName(id);
    if (name) names.push(name);
  }
  const parts = highlightParts(msg.body, {
    mentionedNames: names,
    me: me.username,
    mentionAll: msg.mention_all || null,
    allIncludesMe: mentionsMe(msg, me),
  });
  for (const part of parts) {
    if (!part.mention) node.append(part.text);
    else node.append(h("span", part.me ? "mention mention-me" : "mention", part.text));
  }
  return node;
}

/**
 * Draw one message. `me` is {id, username, staff, can_moderate}: my own messages can be
 * edited, and deleted by me; anyone's by a moderator of the room or staff; anyone's
 * reacted to, its reactions under its body (reactions_ui.js). Its files (thumbnails and
 * cards, attachments_ui.js) come between the two.
 * `mentionName(id)`: the username of a mentioned user, when known (fillBody).
 */
export function renderMessage(msg, me, mentionName) {
  const own = msg.author.id === me.id;
  const li = h("li", "message");
  li.classList.toggle("is-own", own);
  li.classList.toggle("is-deleted", msg.deleted);
  li.classList.toggle("is-mentioning-me", mentionsMe(msg, me));
  li.dataset.id = msg.id;
  li.dataset.rev = msg.rev;
  // What a read marker is compared with (read_marker.js): when it was written.
  if (Number.isInteger(msg.created_rev)) li.dataset.createdRev = msg.created_rev;
  li.dataset.authorId = msg.author.id;
  li.dataset.author = msg.author.username;
  li.dataset.authorName = msg.author.display_name ?? "";

  const meta = h("div", "message-meta");
  const time = h("time", "message-time");
  fillTime(time, msg.created_at);
  meta.append(...personNameParts(msg.author, "message-author", "message-handle"), time);
  if (msg.edited_at && !msg.deleted) meta.append(h("span", "message-edited", "(edited)"));

  const body = msg.deleted
    ? h("div", "message-body is-deleted", "message deleted")
    : fillBody(h("div", "message-body"), msg, me, mentionName);

  const main = h("div", "message-main");
  main.append(meta);
  // A reply quotes its original above its body (replies_ui.js); a deleted one, nothing.
  const quote = msg.deleted ? null : replyQuote(msg);
  if (quote) main.append(quote);
  main.append(body);
  const files = msg.deleted ? null : attachmentList(msg);
  if (files) main.append(files);
  const reactions = reactionBar(msg, me);
  if (reactions) main.append(reactions);
  li.append(avatar(msg.author.username), main);

  if (!msg.deleted) {
    // Anyone replies (replies_ui.js) and reacts (reactions_ui.js opens the picker); edit
    // and delete as above.
    const actions = h("div", "message-actions");
    const react = actionButton("react", "React");
    react.setAttribute("aria-haspopup", "dialog");
    actions.append(actionButton("reply", "Reply"), react);
    if (own) actions.append(actionButton("edit", "Edit"));
    if (own || me.staff || me.can_moderate) actions.append(actionButton("delete", "Delete"));
    li.append(actions);
  }
  return li;
}

/**
 * Read a server-rendered item back into a protocol message, so that one renderer
 * (renderMessage) draws every message, whatever brought it. The body as typed is in
 * data-body; its HTML is what the page drew (renderMessage cleans it again).
 */
export function messageFromElement(li, slug) {
  const deleted = li.dataset.deleted === "true";
  const mentions = (li.dataset.mentions ?? "").split(",").map(toInt).filter(Boolean);
  const bodyEl = li.querySelector(".message-body");
  return {
    id: toInt(li.dataset.id),
    rev: toInt(li.dataset.rev),
    created_rev: toInt(li.dataset.createdRev) || toInt(li.dataset.rev),
    room: slug,
    author: {
      id: toInt(li.dataset.authorId),
      username: li.dataset.author ?? "",
      display_name: li.dataset.authorName ?? "",
      ...(li.dataset.authorBot === "true" ? { bot: true } : {}),
    },
    body: deleted ? "" : (li.dataset.body ?? bodyEl?.textContent ?? ""),
    html: deleted || li.dataset.body === undefined ? "" : (bodyEl?.innerHTML ?? ""),
    created_at: li.querySelector("time")?.getAttribute("datetime") ?? "",
    edited_at: li.dataset.editedAt || null,
    deleted,
    client_id: li.dataset.clientId || null,
    mentions,
    mention_all: li.dataset.mentionAll || null,
    reactions: reactionsFromElement(li),
    reply_to: deleted ? null : replyFromElement(li),
    attachments: deleted ? [] : attachmentsFromElement(li),
  };
}

/** The files the server wrote into a server-rendered item (data-attachments, JSON). */
function attachmentsFromElement(li) {
  try {
    return attachmentsOf({ attachments: JSON.parse(li.dataset.attachments ?? "[]") });
  } catch {
    return [];
  }
}

/** The quote the server wrote into a server-rendered reply (data-reply-to, JSON), or null. */
function replyFromElement(li) {
  try {
    return replyOf(JSON.parse(li.dataset.replyTo ?? "null"));
  } catch {
    return null;
  }
}

/** The reactions the server wrote into a server-rendered item (data-reactions, JSON). */
function reactionsFromElement(li) {
  try {
    const reactions = JSON.parse(li.dataset.reactions ?? "[]");
    return Array.isArray(reactions) ? reactions : [];
  } catch {
    return [];
  }
}

/**
 * The names the server resolved in a server-rendered item: user id -> the name as the
 * body wrote it (<span class="mention" data-user-id>), so that the item redrawn by
 * renderMessage keeps its mentions before the member list has come.
 */
export function mentionNamesFromElement(li) {
  const names = new Map();
  for (const span of li.querySelectorAll(".message-body .mention[data-user-id]")) {
    const id = toInt(span.dataset.userId);
    if (id) names.set(id, span.textContent.replace(/^@/, ""));
  }
  return names;
}

/**
 * Find a view's elements by their data-js names: {button: "bell-button"} gives
 * {button: <the root's [data-js="bell-button"]>}.
 */
export function findParts(root, names) {
  return Object.fromEntries(
    Object.entries(names).map(([key, name]) => [key, root.querySelector(`[data-js="${name}"]`)]),
  );
}
