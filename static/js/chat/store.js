// store.js: the room's timeline as data: the messages held, by id, and the revision R
// up to which the page holds every change (docs/protocol.md, "Revisions and catching
// up"). Pure: no DOM, no window; timers are passed in, so node can test it.

export const GAP_WAIT_MS = 1000; // how long a hole in the revisions may stay before asking for sync
export const SYNC_RETRY_MS = 5000; // ask again if a sync request goes unanswered

export class Timeline {
  constructor({ rev = 0, hasMore = false } = {}) {
    this.rev = rev; // R: every revision up to here is held
    this.aheadRevs = new Set(); // revisions seen above R + 1, waiting for the hole to fill
    this.knownRev = rev; // the highest revision known to exist (hello, pong, sync)
    this.messages = new Map(); // id -> the newest snapshot held
    this.oldestId = null; // the top of the loaded window
    this.hasMore = hasMore; // older messages exist above oldestId
  }

  /**
   * Take one message snapshot; return what changed:
   * - "inserted": a message not held before;
   * - "updated": a newer snapshot (higher rev) of a message held;
   * - "unchanged": the same or an older snapshot (a repeat: kept the higher rev);
   * - null: a message above the top of the loaded window, not ours to hold (the history
   *   page that brings it will carry its current state).
   * `older` marks history pages, which extend the window upwards.
   */
  apply(msg, { older = false } = {}) {
    const known = this.messages.get(msg.id);
    if (known) {
      if (msg.rev <= known.rev) return "unchanged";
      this.messages.set(msg.id, msg);
      return "updated";
    }
    if (!older && this.hasMore && this.oldestId !== null && msg.id < this.oldestId) return null;
    this.messages.set(msg.id, msg);
    if (this.oldestId === null || msg.id < this.oldestId) this.oldestId = msg.id;
    return "inserted";
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
    this.requestSync = requestSync; // (since) => void: send {"type": "sync", since}
    this.timers = timers;
    this.timer = null;
  }

  /** Look at the timeline after a change: start waiting for a hole, or stop. */
  watch() {
    if (!this.timeline.isBehind()) this.cancel();
    else if (this.timer === null) this.schedule(GAP_WAIT_MS);
  }

  /** Take an answer: sync frames come one batch at a time; ask for the next at once. */
  answered(frame) {
    this.cancel();
    if (frame.complete) {
      this.watch();
      return;
    }
    this.requestSync(this.timeline.rev);
    // The watchdog covers a lost answer.
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
    if (!this.timeline.isBehind()) return;
    this.requestSync(this.timeline.rev);
    // Without an answer (lost socket, lost frame), ask again later; a new socket's
    // ?since= covers it too.
    this.schedule(SYNC_RETRY_MS);
  }
}
