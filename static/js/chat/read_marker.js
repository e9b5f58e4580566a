// read_marker.js: move my read marker of the room in view as far as I have seen, and no
// further: only while the tab is shown and focused, and only up to the newest message
// actually on screen. The server keeps it forward-only and tells every tab (room.read).

const CHECK_DELAY_MS = 300; // let scrolling settle before deciding what was seen
const AT_BOTTOM_PX = 24;

/**
 * The revision up to which the reader has seen the room: everything the page holds when
 * the timeline is at its bottom, else the creation revision of the newest message
 * entirely on screen (null when none is).
 */
export function seenRev({ atBottom, timelineRev, onScreen }) {
  if (atBottom) return timelineRev;
  let newest = null;
  for (const rev of onScreen) if (Number.isInteger(rev) && (newest === null || rev > newest)) newest = rev;
  return newest;
}

export class ReadMarker {
  /**
   * tab: the Tab; slug: the room in view; timeline: its store; ui: {timeline, messages}
   * (the scroller and the list of messages); win: the window (focus, visibility).
   */
  constructor({ tab, slug, timeline, ui, win = globalThis, timers = globalThis }) {
    Object.assign(this, { tab, slug, timeline, ui, win, timers });
    this.timer = null;
  }

  listen() {
    const soon = () => this.checkSoon();
    this.ui.timeline.addEventListener("scroll", soon, { passive: true });
    this.win.addEventListener("focus", soon);
    this.win.document?.addEventListener("visibilitychange", soon);
    for (const type of ["message.new", "sync", "view"]) {
      this.tab.on(type, (frame) => {
        if (frame.room === this.slug || frame.room?.slug === this.slug) soon();
      });
    }
    this.tab.rooms.onChange((slug) => {
      if (slug === this.slug || slug === null) soon();
    });
  }

  checkSoon() {
    if (this.timer !== null) return;
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      this.check();
    }, CHECK_DELAY_MS);
  }

  /** Mark what is on screen read, if the reader can see it. */
  check() {
    if (!this.tab.visible()) return false;
    const rev = seenRev({
      atBottom: this.atBottom(),
      timelineRev: this.timeline.rev,
      onScreen: this.onScreenRevs(),
    });
    return rev !== null && this.tab.markRead(this.slug, rev);
  }

  atBottom() {
    const t = this.ui.timeline;
    return t.scrollHeight - t.scrollTop - t.clientHeight < AT_BOTTOM_PX;
  }

  onScreenRevs() {
    const box = this.ui.timeline.getBoundingClientRect();
    const revs = [];
    for (const li of this.ui.messages.querySelectorAll("li[data-id]")) {
      const rect = li.getBoundingClientRect();
      if (rect.top >= box.top && rect.bottom <= box.bottom + 1) {
        revs.push(Number(li.dataset.createdRev ?? li.dataset.rev));
      }
    }
    return revs;
  }
}
