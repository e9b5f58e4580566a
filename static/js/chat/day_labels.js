// day_labels.js: the calendar side of the timeline: which local day a moment falls on,
// what a day separator says, and which messages share a header. Pure (no DOM, no clock):
// the time zone is a parameter, undefined meaning the browser's own, so that tests can
// pass "Europe/Paris" or "America/Los_Angeles".
//
// Labels are English, like the rest of the UI: "Today", "Yesterday", "Monday 30 November",
// and "Monday 30 November 2025" outside the current year. Times of day and tooltips are
// formatted by render.js with Intl in the browser's locale and time zone.

export const GROUP_WINDOW_MS = 5 * 60 * 1000; // messages by one author this close share a header

const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const DAY_MS = 24 * 60 * 60 * 1000;
const KEY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

// One formatter per time zone: building one is far dearer than using it.
const keyFormats = new Map();

function keyFormat(timeZone) {
  const cacheKey = timeZone ?? "";
  let format = keyFormats.get(cacheKey);
  if (!format) {
    // Numbers only, so the locale matters for nothing but the order of the parts.
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      calendar: "gregory",
      numberingSystem: "latn",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
    });
    keyFormats.set(cacheKey, format);
  }
  return format;
}

function toDate(moment) {
  if (moment === null || moment === undefined || moment === "") return null; // not epoch
  const date = moment instanceof Date ? moment : new Date(moment);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * The day a moment (a Date, an ISO string or milliseconds) falls on in `timeZone`, as
 * "YYYY-MM-DD"; null when the moment is not a valid time.
 */
export function dayKey(moment, timeZone) {
  const date = toDate(moment);
  if (date === null) return null;
  const parts = {};
  for (const { type, value } of keyFormat(timeZone).formatToParts(date)) parts[type] = value;
  return `${parts.year.padStart(4, "0")}-${parts.month}-${parts.day}`;
}

function parseKey(key) {
  const match = KEY_RE.exec(key ?? "");
  if (!match) return null;
  const [year, month, day] = match.slice(1).map(Number);
  return { year, month, day };
}

/** The day `days` after the day `key` ("2026-03-01" and -1 give "2026-02-28"). */
export function addDays(key, days) {
  const parsed = parseKey(key);
  if (!parsed) return null;
  // Calendar arithmetic on the key itself, at UTC noon, where no zone shift can interfere.
  const date = new Date(Date.UTC(parsed.year, parsed.month - 1, parsed.day, 12) + days * DAY_MS);
  return date.toISOString().slice(0, 10);
}

/** What the separator of day `key` says, seen on day `todayKey`. */
export function dayLabel(key, todayKey) {
  const parsed = parseKey(key);
  if (!parsed) return "";
  if (key === todayKey) return "Today";
  if (key === addDays(todayKey, -1)) return "Yesterday";
  const weekday = new Date(Date.UTC(parsed.year, parsed.month - 1, parsed.day)).getUTCDay();
  const label = `${WEEKDAYS[weekday]} ${parsed.day} ${MONTHS[parsed.month - 1]}`;
  return parsed.year === parseKey(todayKey)?.year ? label : `${label} ${parsed.year}`;
}

/**
 * Tell whether `msg` is drawn as a continuation of `before` (the message just above it):
 * same author, a few minutes apart at most, and the same local day, so that a group never
 * spans a day separator. Both are protocol messages ({author: {id}, created_at}).
 */
export function continuesGroup(before, msg, { timeZone, windowMs = GROUP_WINDOW_MS } = {}) {
  if (!before || !msg || before.author?.id !== msg.author?.id) return false;
  const gap = Date.parse(msg.created_at) - Date.parse(before.created_at);
  if (!(gap < windowMs)) return false; // NaN for an unreadable time: no group
  const day = dayKey(msg.created_at, timeZone);
  return day !== null && day === dayKey(before.created_at, timeZone);
}
