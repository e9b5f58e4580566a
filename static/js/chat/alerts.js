// alerts.js: which frames deserve a desktop alert, and what it says. Pure: no DOM, no
// browser API; desktop_alerts.js shows what this returns.
//
// The decision is the client's, made from what the frame and the room state say (as
// Zulip's web client does): the server has already resolved mentions when the message was
// sent, and the room's `notify` carries the effective level (a room's own setting, or the
// user's default).

import { displayName } from "./people.js";
import { plainText, repliesToMe } from "./replies.js";

// The longest body an alert shows, in characters; operating systems clip long ones anyway.
export const ALERT_BODY_MAX = 200;

// The level that applies when a room state carries no `notify` and the defaults are not
// known either: the server's own default (notifications.models).
const FALLBACK_LEVEL = "mentions";

const MENTION_ALL_KINDS = new Set(["room", "here"]);

/**
 * Return the alert a frame deserves, or null.
 *
 * `context`: `me` ({id}), `rooms` (a store with get(slug) -> RoomState), `viewing` (the
 * slug of the room in view, or null), `visible` (the page is shown and focused),
 * `defaults` ({level, desktop}, or null while unknown).
 *
 * The alert: {title, body, tag, roomSlug, messageId, rev, notificationId}. `tag` names
 * the alert for the operating system, which keeps one alert per tag; `rev` is the
 * message's created_rev, so a read marker at or past it means the message was read.
 */
export function alertFor(frame, context) {
  if (context.defaults?.desktop === false) return null;
  if (frame?.type === "message.new") return messageAlert(frame, context);
  if (frame?.type === "notification.new") return announcementAlert(frame, context);
  return null;
}

function messageAlert(frame, { me, rooms, viewing, visible, defaults }) {
  const message = frame.message;
  const slug = frame.room ?? message?.room;
  if (!message || !slug) return null;
  if (message.author?.id === me?.id || message.deleted) return null;
  const room = rooms?.get(slug);
  if (!room) return null; // not (or no longer) a member: nothing to be told about
  const rev = message.created_rev ?? message.rev;
  if (rev <= (room.last_read_rev ?? 0)) return null;
  if (room.notify?.muted) return null;
  const direct = room.kind === "direct";
  // A conversation's every message is for its people (as its inbox notifications are),
  // unless they chose a level of its own.
  const level =
    direct && !room.notify?.custom
      ? "all"
      : (room.notify?.level ?? defaults?.level ?? FALLBACK_LEVEL);
  // "nothing", and any level this client does not know, never alert. A reply to one of
  // mine is news as a mention is (its inbox notification is of kind "reply").
  const forMe = mentionsMe(message, me) || repliesToMe(message, me);
  const wanted = level === "all" || (level === "mentions" && forMe);
  if (!wanted) return null;
  if (visible && viewing === slug) return null; // the person is looking at it
  const author = displayName(message.author) || "Someone";
  return {
    title: direct ? `${author} (direct message)` : `${author} in #${room.name ?? slug}`,
    body: plainExcerpt(messageText(message)),
    tag: String(message.id),
    roomSlug: slug,
    messageId: message.id,
    rev,
    notificationId: null,
  };
}

// An announcement shows in a banner on every page (announcements_ui.js): an alert only
// when no page of ours is in front. It is staff speaking to everyone, so a room's level
// or mute does not silence it; the desktop default does.
function announcementAlert(frame, { visible }) {
  const notification = frame.notification;
  if (notification?.kind !== "announcement" || notification.read) return null;
  if (visible) return null;
  return {
    title: "Announcement",
    body: plainExcerpt(notification.text),
    tag: `announcement-${notification.id}`,
    roomSlug: notification.room?.slug ?? null,
    messageId: null,
    rev: null,
    notificationId: notification.id,
  };
}

/** Whether a message mentions `me`: by name, or everyone with @room or @here. */
export function mentionsMe(message, me) {
  if (MENTION_ALL_KINDS.has(message.mention_all)) return true;
  return Array.isArray(message.mentions) && me != null && message.mentions.includes(me.id);
}

/**
 * What an alert says of a message: its text without Markdown's markers (an alert shows
 * no formatting), or, for a message of files alone, the file's name or how many.
 */
export function messageText(message) {
  const text = plainText(message.body);
  if (text) return text;
  const files = Array.isArray(message.attachments) ? message.attachments : [];
  if (files.length === 1) return `📎 ${files[0]?.name ?? "a file"}`;
  return files.length > 1 ? `📎 ${files.length} files` : "";
}

/** Return at most ALERT_BODY_MAX characters of a plain-text body, on one line. */
export function plainExcerpt(text) {
  const oneLine = String(text ?? "")
    .replace(/\s+/g, " ")
    .trim();
  // By code point, so an emoji is never cut in half.
  const characters = Array.from(oneLine);
  if (characters.length <= ALERT_BODY_MAX) return oneLine;
  return `${characters.slice(0, ALERT_BODY_MAX - 1).join("")}…`;
}

/**
 * Whether `frame` means the alert's message has been read, withdrawn or deleted, so an
 * open alert for it should close. `notificationIds` maps a message id to the id of the
 * notification it made (an inbox read or withdrawal names notifications, not messages).
 */
export function alertSettledBy(frame, alert, notificationIds) {
  const notificationId = alert.notificationId ?? notificationIds?.get(alert.messageId) ?? null;
  switch (frame?.type) {
    case "room.read": {
      const room = frame.room;
      return (
        alert.messageId !== null &&
        room?.slug === alert.roomSlug &&
        (room.last_read_rev ?? -1) >= alert.rev
      );
    }
    case "message.deleted":
      return alert.messageId !== null && frame.message?.id === alert.messageId;
    case "room.closed":
    case "rooms.removed": {
      const slug = typeof frame.room === "string" ? frame.room : frame.room?.slug;
      return alert.messageId !== null && slug === alert.roomSlug;
    }
    case "notification.removed":
      return notificationId !== null && (frame.ids ?? []).includes(notificationId);
    case "notifications.read":
      if (notificationId === null) return false;
      if (frame.all) return frame.up_to != null && notificationId <= frame.up_to;
      return (frame.ids ?? []).includes(notificationId);
    default:
      return false;
  }
}
