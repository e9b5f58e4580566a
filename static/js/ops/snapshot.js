// snapshot.js: what the staff dashboard shows of a `snapshot` frame (docs/operations.md,
// "Staff dashboard"): its numbers as text, its table rows, the minutes of its chart, and
// the words for each state of the socket. Pure: no DOM, so node can test it.

import { CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED } from "../chat/protocol.js";

const MINUTE_MS = 60_000;

/** A count as shown: grouped digits, or "unavailable" when its store could not be read. */
export function countText(value) {
  return Number.isFinite(value) ? value.toLocaleString("en") : "unavailable";
}

/** Messages in the window's last minute (the current one, still filling). */
export function thisMinute(perMinute) {
  return perMinute.length ? perMinute[perMinute.length - 1] : 0;
}

/** When the window's minute `index` began (ms since the epoch). */
export function minuteStart(activity, index) {
  return Date.parse(activity.start) + index * MINUTE_MS;
}

/** How long before `nowMs` the moment `iso` was, in words: "now", "4 s ago", "3 min ago". */
export function agoText(iso, nowMs) {
  const seconds = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
  if (!Number.isFinite(seconds)) return "";
  if (seconds < 1) return "now";
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

/** The busiest rooms' rows: name, slug, window total, this minute, and their minutes. */
export function roomRows(activity) {
  return (activity?.rooms ?? []).map((room) => ({
    name: room.name,
    slug: room.slug,
    total: room.total,
    thisMinute: thisMinute(room.per_minute),
    perMinute: room.per_minute,
  }));
}

/** The processes' rows: sockets by protocol (2: tabs, 1: a room each), the heartbeat's age. */
export function processRows(processes, nowMs) {
  return (processes ?? []).map((beat) => ({
    process: beat.process,
    tabs: beat.sockets?.["2"] ?? 0,
    rooms: beat.sockets?.["1"] ?? 0,
    total: beat.sockets_total,
    databaseQueue: beat.database_queue,
    startedAt: beat.started_at,
    heartbeat: agoText(beat.updated_at, nowMs),
  }));
}

/** The moderation actions' rows, newest first; an action with no actor was the system's. */
export function moderationRows(actions) {
  return (actions ?? []).map((action) => ({
    at: action.at,
    actor: action.actor || "system",
    action: action.kind_label || action.kind,
    target: action.target || "",
    room: action.room || "",
    detail: action.detail || "",
    reason: action.reason || "",
  }));
}

/** The line under the chart: direct conversations are counted, never listed. */
export function directText(activity) {
  const direct = activity?.direct ?? 0;
  if (!direct) return "";
  const messages = direct === 1 ? "message" : "messages";
  const count = `${countText(direct)} ${messages}`;
  return `Includes ${count} in direct conversations (not listed by conversation).`;
}

/** The status line for a state of the socket (RoomSocket's, or "closed"). */
export function stateText(state, intervalSeconds) {
  switch (state) {
    case "live":
      return intervalSeconds ? `Live: updated every ${intervalSeconds} s` : "Live";
    case "reconnecting":
      return "Connection lost: reconnecting…";
    case "offline":
      return "Offline: reconnecting when the network is back…";
    default:
      return "Connecting…";
  }
}

/** Why the dashboard stopped for good after its socket closed with `code`. */
export function stoppedText(code) {
  if (code === CLOSE_UNAUTHENTICATED) return "Signed out: sign in again to see the dashboard.";
  if (code === CLOSE_FORBIDDEN) return "Only staff may see this dashboard.";
  return `The dashboard stopped (code ${code}). Reload the page to try again.`;
}
