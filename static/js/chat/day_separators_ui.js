// day_separators_ui.js: the "Today" / "Yesterday" / "Monday 30 November" rows of the
// timeline, one above the first message of each local day. They live in the list of
// messages as <li class="day-separator">, between the <li data-id> of the messages, and are
// put right around a message whenever one is placed, whatever brought it (the first page,
// an earlier page, a live message, catch-up). A deleted message keeps its place and day.
// At midnight (or when the tab comes back after it) "Today" becomes "Yesterday".

import { dayKey, dayLabel } from "./day_labels.js";

const CLOCK_CHECK_MS = 60 * 1000; // how often to look whether a new day has begun

/** Tell whether an item of the list is a message (not a separator). */
export function isMessageItem(node) {
  return Boolean(node?.dataset?.id);
}

/** The message item above `li`, skipping separators; null at the top. */
export function previousMessageItem(li) {
  let node = li?.previousElementSibling ?? null;
  while (node && !isMessageItem(node)) node = node.previousElementSibling;
  return node;
}

/** The message item below `li`, skipping separators; null at the bottom. */
export function nextMessageItem(li) {
  let node = li?.nextElementSibling ?? null;
  while (node && !isMessageItem(node)) node = node.nextElementSibling;
  return node;
}

export class DaySeparators {
  /**
   * - list: the <ol> of messages; createdAt(li): when the message of an item was written
   *   (an ISO string, or undefined when unknown);
   * - timeZone: undefined for the browser's own; now(): the clock (a Date);
   * - timers, doc: setInterval and the document (visibility), replaceable in tests.
   */
  constructor({
    list,
    createdAt,
    timeZone,
    now = () => new Date(),
    timers = globalThis,
    doc = globalThis.document,
  }) {
    Object.assign(this, { list, createdAt, timeZone, now, timers, doc });
    this.today = dayKey(now(), timeZone);
  }

  /** Follow the clock: a new day relabels every separator. */
  listen() {
    this.timers.setInterval(() => this.checkDay(), CLOCK_CHECK_MS);
    // Timers sleep with the computer and slow down in hidden tabs: look again on return.
    this.doc?.addEventListener("visibilitychange", () => this.checkDay());
  }

  /** Relabel if the day changed since the last look; return whether it did. */
  checkDay() {
    const today = dayKey(this.now(), this.timeZone);
    if (today === this.today) return false;
    this.today = today;
    this.relabel();
    return true;
  }

  relabel() {
    for (const separator of this.list.querySelectorAll(".day-separator")) {
      this.label(separator, separator.dataset.day);
    }
  }

  dayOf(li) {
    return dayKey(this.createdAt(li), this.timeZone);
  }

  /** A message item was put into the list: make the separators above it and below it right. */
  place(li) {
    this.fixAbove(li);
    this.fixAbove(nextMessageItem(li));
  }

  /**
   * Leave exactly one separator right above message `li` when it begins a day (the first
   * message, or the previous one is of another day), and none otherwise.
   */
  fixAbove(li) {
    if (!li) return;
    const separators = []; // between the previous message and li, nearest first
    let node = li.previousElementSibling;
    for (; node && !isMessageItem(node); node = node.previousElementSibling) {
      if (node.classList.contains("day-separator")) separators.push(node);
    }
    const day = this.dayOf(li);
    const startsDay = day !== null && (node === null || this.dayOf(node) !== day);
    const kept = startsDay ? (separators.shift() ?? this.create(li)) : null;
    for (const extra of separators) extra.remove();
    if (kept && kept.dataset.day !== day) this.label(kept, day);
  }

  create(li) {
    const separator = this.doc.createElement("li");
    separator.className = "day-separator";
    const label = this.doc.createElement("time");
    label.className = "day-separator-label";
    separator.append(label);
    li.before(separator);
    return separator;
  }

  label(separator, day) {
    separator.dataset.day = day;
    const label = separator.querySelector(".day-separator-label");
    label.dateTime = day;
    label.textContent = dayLabel(day, this.today);
  }
}
