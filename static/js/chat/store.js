// store.js: the room's timeline as data: the messages held, by id, and the revision R
// up to which the page holds every change (docs/protocol.md, "Revisions and catching
// up"). Pure: no DOM, no window; timers are passed in, so node can test it.

export const GAP_WAIT_MS = 1000; // how long a hole in the revisions may stay before asking for sync
export const SYNC_RETRY_MS = 5000; // ask again if a sync request goes unanswered
const REFUSED_RETRY_MS = 1000; // after a rate_limited answer without a usable retry_after

export class Timeline {
  constructor({ rev = 0, hasMore = false } = {}) {
    this.rev = rev; // R: every revision up to here is held
    this.aheadRevs = new Set(); // revisions seen above R + 1, waiting for the hole to fill
    this.knownRev = rev; // the highest revision known to exist (hello, pong, sync)
    this.messages = new Map(); // id -> the newest snapshot held
    // id -> the newest snapshot of a message outside the loaded window (above its top, or
    // below its bottom while it is detached), seen live or in a sync, or shown before the
    // window moved: a history page fetched before that change may land after it, and must
    // not bring the older copy back.
    this.outside = new Map();
    this.oldestId = null; // the top of the loaded window
    this.newestId = null; // its bottom
    this.hasMore = hasMore; // older messages exist above oldestId
    // Newer messages exist below newestId: the window is detached from the live end
    // (opened at a message far back, timeline_window.js) until it reaches it again.
    this.hasNewer = false;
    // Counts the times the window was replaced: a page asked for before that belongs to
    // the old window and is dropped when it lands.
    this.epoch = 0;
  }

  /**
   * Take one message snapshot; return what changed:
   * - "inserted": a message not held before;
   * - "updated": a newer snapshot (higher rev) of a message held;
   * - "unchanged": the same or an older snapshot (a repeat: kept the higher rev);
   * - null: a message outside the loaded window (above its top, or below its bottom
   *   while detached), not shown yet (the history page that brings it gets this snapshot
   *   if it is newer than the page's copy).
   * `older` and `newer` mark history pages, which extend the window upwards or downwards.
   * The snapshot held may be newer than `msg`: draw what get(msg.id) returns.
   */
  apply(msg, { older = false, newer = false } = {}) {
    const known = this.messages.get(msg.id);
    if (known) {
      if (msg.rev <= known.rev) return "unchanged";
      this.messages.set(msg.id, msg);
      return "updated";
    }
    const seen = this.outside.get(msg.id);
    if (!older && !newer && this.isOutside(msg.id)) {
      if (!seen || msg.rev > seen.rev) this.outside.set(msg.id, msg);
      return null;
    }
    this.outside.delete(msg.id);
    this.messages.set(msg.id, seen && seen.rev > msg.rev ? seen : msg);
    if (this.oldestId === null || msg.id < this.oldestId) this.oldestId = msg.id;
    if (this.newestId === null || msg.id > this.newestId) this.newestId = msg.id;
    return "inserted";
  }

  /** Tell whether message `id` lies beyond the loaded window, above or below it. */
  isOutside(id) {
    if (this.oldestId === null) return false;
    return (this.hasMore && id < this.oldestId) || (this.hasNewer && id > this.newestId);
  }

  /**
   * Empty the window before another stretch of history takes its place: what it showed
   * is kept outside (a page that brings it back keeps the newest copy), and pages asked
   * for until now will be dropped (`epoch`).
   */
  clearWindow() {
    for (const [id, msg] of this.messages) {
      const seen = this.outside.get(id);
      if (!seen || msg.rev > seen.rev) this.outside.set(id, msg);
    }
    this.messages.clear();
    this.oldestId = null;
    this.newestId = null;
    this.epoch += 1;
  }

  /**
   * The messages held below the window while it was detached (sent meanwhile), oldest
   * first: once it reaches the live end they are drawn after it.
   */
  heldBelow() {
    const below = [...this.outside.values()].filter(
      (msg) => this.newestId === null || msg.id > this.newestId,
    );
    return below.sort((a, b) => a.id - b.id);
  }

  /**
   * The revision up to which a reader at the bottom of the window has seen the room:
   * everything held (R) at the live end; while detached, only up to the newest message
   * of the window (null when it is empty), for what lies below was never on screen.
   */
  revAtBottom() {
    if (!this.hasNewer) return this.rev;
    const newest = this.messages.get(this.newestId);
    return Number.isInteger(newest?.created_rev) ? newest.created_rev : null;
  }

  get(id) {
    return this.messages.get(id);
  }

  /** Note a revision seen live; advance R over every contiguous one. */
  noteRevision(rev) {
    if (rev > this.rev) this.aheadRevs.add(rev);
    this.knownRev = Math.max(this.knownRev, rev);
    this.advance();
  }

  /** Learn that the room has reached `rev` (from hello or pong). */
  noteKnownRevision(rev) {
    if (Number.isInteger(rev) && rev > this.knownRev) this.knownRev = rev;
  }

  /**
   * Take a sync frame: its messages hold the current state of everything up to
   * frame.rev. Return the results of applying each (through `applyOne`, which the page
   * passes to draw them too). An incomplete frame means more exists beyond its rev: the
   * next request asks from R.
   */
  applySync(frame, applyOne = (msg) => this.apply(msg)) {
    const messages = Array.isArray(frame.messages) ? frame.messages : [];
    const results = messages.map(applyOne);
    this.rev = Math.max(this.rev, frame.rev);
    this.advance();
    if (!frame.complete) this.knownRev = Math.max(this.knownRev, frame.rev + 1);
    return results;
  }

  advance() {
    while (this.aheadRevs.delete(this.rev + 1)) this.rev += 1;
    for (const rev of this.aheadRevs) if (rev <= this.rev) this.aheadRevs.delete(rev);
  }

  /** Tell whether some revision up to the highest one known is missing. */
  isBehind() {
    return this.aheadRevs.size > 0 || this.rev < this.knownRev;
  }
}

/**
 * Asks the server for what is missing (sync frames), without asking too eagerly: two
 * server processes may deliver events out of order, so a hole gets GAP_WAIT_MS to fill
 * by itself first; an unanswered request is repeated every SYNC_RETRY_MS.
 */
export class GapWatcher {
  constructor({ timeline, requestSync, timers = globalThis }) {
    this.timeline = timeline;
    // (since) -> bool: send {"type": "sync", since}; false when the socket is not live
    this.requestSync = requestSync;
    this.timers = timers;
    this.timer = null;
    this.asking = false; // a sync request went out on this socket and is unanswered
  }

  /** Look at the timeline after a change: start waiting for a hole, or stop. */
  watch() {
    if (!this.timeline.isBehind()) this.cancel();
    else if (this.timer === null) this.schedule(GAP_WAIT_MS);
  }

  /** Take an answer: sync frames come one batch at a time; ask for the next at once. */
  answered(frame) {
    this.cancel();
    this.asking = false;
    if (frame.complete) {
      this.watch();
      return;
    }
    this.ask();
  }

  /**
   * A request was refused for now (error rate_limited, which names no request): if a
   * sync of ours was waiting for an answer, it is the one, so ask again once
   * `retryAfterSeconds` has passed, neither sooner (refused again) nor only when the
   * watchdog would. Return whether a sync was waiting.
   */
  refused(retryAfterSeconds) {
    if (!this.asking) return false;
    this.asking = false;
    this.cancel();
    const valid = Number.isFinite(retryAfterSeconds) && retryAfterSeconds > 0;
    this.schedule(valid ? retryAfterSeconds * 1000 : REFUSED_RETRY_MS);
    return true;
  }

  /** The socket went away: its unanswered request is lost (the next ?since= covers it). */
  socketLost() {
    this.asking = false;
  }

  /** Ask from R; the watchdog covers a lost answer. */
  ask() {
    // requestSync says false when the socket could not take the frame.
    this.asking = this.requestSync(this.timeline.rev) !== false;
    this.schedule(SYNC_RETRY_MS);
  }

  cancel() {
    this.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  schedule(delayMs) {
    this.timer = this.timers.setTimeout(() => this.fire(), delayMs);
  }

  fire() {
    this.timer = null;
    // Without an answer (lost socket, lost frame), ask again later; a new socket's
    // ?since= covers it too.
    if (this.timeline.isBehind()) this.ask();
  }
}
