// timeline_window.js: which stretch of the room's history the page shows (the window),
// and moving it. The window normally reaches the live end: the newest page, live messages
// drawn below it, earlier pages above as the reader scrolls up (timeline_ui.js).
//
// Opening the room at a message that is not on the page (a search result, a notification,
// a reply's quote) loads the page *around* that message (history `around`) instead of
// every page in between. When that page meets the window they make one stretch; when it
// does not, it takes the window's place, which is then *detached* from the live end:
// scrolling up loads older pages as ever, scrolling down loads the pages after it
// (`after`) until one says `has_newer: false`, when the window is live again; "Jump to the
// present" brings the newest page back at once.
//
// While detached, live messages are kept in the store but not drawn (Timeline.apply holds
// what falls below the window, as it holds what falls above it): the revision bookkeeping
// (R, the gaps, catch-up after a reconnect) stays exact without a request of its own, and
// a page fetched before an edit that lands after it still shows the edit. Dropping them
// and relying on the `after` pages would do for new messages, but not for such races.
// Once the window reaches the live end, the messages held below it are drawn after it.
//
// Pure: the store, the view and fetchPage are passed in, so node can test it.

export const PAGE_SIZE = 50;

function pageMessages(page) {
  return Array.isArray(page?.messages) ? page.messages : [];
}

/**
 * Tell whether a page (oldest first) meets the loaded window: some of its messages are at
 * or inside the window's ends, so the two make one stretch with nothing missing between.
 */
export function meetsWindow(timeline, messages) {
  if (!messages.length || timeline.oldestId === null) return false;
  return messages[0].id <= timeline.newestId && messages.at(-1).id >= timeline.oldestId;
}

export class TimelineWindow {
  /**
   * - timeline: the Timeline store (store.js);
   * - view: the TimelineView (apply, clear, keepingPosition, scrollToBottom,
   *   renderHistoryStatus);
   * - fetchPage(params) -> a history page: {around, limit}, {after, limit} or {limit} (the
   *   newest), as GET /api/rooms/<slug>/messages/ answers; rejects with an ApiError;
   * - onChange(): the window was detached, moved or went live (the buttons follow).
   */
  constructor({ timeline, view, fetchPage, onChange = () => {}, pageSize = PAGE_SIZE }) {
    Object.assign(this, { timeline, view, fetchPage, onChange, pageSize });
    this.loadingNewer = false;
    this.moves = 0; // counts showAround and goToPresent: only the latest one lands
    this.inFlight = 0; // moves waiting for their page
  }

  /** Whether the window is away from the live end. */
  get detached() {
    return this.timeline.hasNewer;
  }

  /**
   * Whether the window is about to move: what the page shows meanwhile is on its way out
   * (the read marker waits, rather than count the newest page as seen).
   */
  get moving() {
    return this.inFlight > 0;
  }

  /** Fetch the page of a move, counted in `moving` until it is answered. */
  async movePage(params) {
    this.inFlight += 1;
    try {
      return await this.fetchPage(params);
    } finally {
      this.inFlight -= 1;
    }
  }

  /**
   * Bring message `id` onto the page with its neighbours. Return true once it is in the
   * window; false when it is not one of this room's messages (404), or when another move
   * was asked for meanwhile. Other failures (the network) throw.
   */
  async showAround(id) {
    const move = ++this.moves;
    let page;
    try {
      page = await this.movePage({ around: id, limit: this.pageSize });
    } catch (error) {
      if (error?.status === 404) return false;
      throw error;
    }
    const messages = pageMessages(page);
    if (move !== this.moves || !messages.some((msg) => msg.id === id)) return false;
    if (meetsWindow(this.timeline, messages)) this.join(page, messages);
    else this.replace(page, messages, { hasNewer: Boolean(page.has_newer) });
    return true;
  }

  /** Load the page after the bottom of a detached window (the reader scrolled down to it). */
  async loadNewer() {
    const { timeline } = this;
    if (this.loadingNewer || !timeline.hasNewer || timeline.newestId === null) return false;
    const epoch = timeline.epoch;
    this.loadingNewer = true;
    this.onChange();
    try {
      const page = await this.fetchPage({ after: timeline.newestId, limit: this.pageSize });
      if (epoch !== timeline.epoch) return false; // the window moved meanwhile
      const messages = pageMessages(page);
      const bottom = timeline.newestId;
      for (const msg of messages) this.view.apply(msg, { newer: true });
      if (messages.length && timeline.newestId === bottom) {
        // Asking again would bring the same page: stop here rather than ask for ever.
        throw new Error("The page after the window did not extend it.");
      }
      // An empty page ends it too: asking again would bring the same nothing.
      timeline.hasNewer = Boolean(page.has_newer) && messages.length > 0;
      if (!timeline.hasNewer) this.release();
      return true;
    } finally {
      this.loadingNewer = false;
      this.onChange();
    }
  }

  /** Show the live end again (the newest page), at its bottom. */
  async goToPresent() {
    const move = ++this.moves;
    if (!this.detached) {
      this.view.scrollToBottom();
      return true;
    }
    const page = await this.movePage({ limit: this.pageSize });
    if (move !== this.moves) return false;
    this.replace(page, pageMessages(page), { hasNewer: false });
    this.view.scrollToBottom();
    return true;
  }

  /** Add a page that meets the window to it, keeping what the reader sees in place. */
  join(page, messages) {
    const { timeline, view } = this;
    const top = timeline.oldestId;
    const bottom = timeline.newestId;
    view.keepingPosition(() => {
      for (const msg of messages) {
        view.apply(msg, { older: msg.id < top, newer: msg.id > bottom });
      }
    });
    if (messages[0].id < top) timeline.hasMore = Boolean(page.has_more);
    if (timeline.hasNewer && messages.at(-1).id > bottom) {
      timeline.hasNewer = Boolean(page.has_newer);
      if (!timeline.hasNewer) this.release();
    }
    view.renderHistoryStatus();
    this.onChange();
  }

  /** Show a page in place of the window: detached unless `hasNewer` is false. */
  replace(page, messages, { hasNewer }) {
    const { timeline, view } = this;
    view.clear();
    timeline.clearWindow();
    timeline.hasMore = Boolean(page.has_more);
    timeline.hasNewer = hasNewer;
    for (const msg of messages) view.apply(msg, { older: true, newer: true });
    if (!hasNewer) this.release();
    view.renderHistoryStatus();
    this.onChange();
  }

  /** The window reached the live end: draw what was held below it, in order. */
  release() {
    for (const msg of this.timeline.heldBelow()) this.view.apply(msg);
  }
}
