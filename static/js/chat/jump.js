// jump.js: open a room at one message (a link from the inbox, the bell or a desktop
// alert: <room page>#message-<id>; a reply's quote): load earlier pages until it is on
// the page, then bring it into view and mark it for a moment.

export const MAX_PAGES = 40; // 40 pages of 50: far enough back for any notification
const HIGHLIGHT_MS = 2500;

/** The message id a location's hash points at ("#message-981" -> 981), or null. */
export function messageIdFromHash(hash) {
  const match = /^#message-([1-9][0-9]{0,15})$/.exec(hash ?? "");
  return match ? Number(match[1]) : null;
}

export class Jump {
  /** view: TimelineView; timeline: its store; ui: {messages}; win: the window. */
  constructor({ view, timeline, ui, win = globalThis, timers = globalThis }) {
    Object.assign(this, { view, timeline, ui, win, timers });
  }

  listen() {
    this.win.addEventListener("hashchange", () => this.go());
    return this.go();
  }

  element(id) {
    return this.ui.messages.querySelector(`li[data-id="${id}"]`);
  }

  /** Go to the message the hash names; return whether it was found. */
  async go() {
    const id = messageIdFromHash(this.win.location.hash);
    if (id === null) return false;
    return this.goTo(id);
  }

  /** Go to message `id` (a reply's quote names its original); return whether it was found. */
  async goTo(id) {
    for (let page = 0; !this.element(id) && page < MAX_PAGES; page += 1) {
      const oldest = this.timeline.oldestId;
      if (!this.timeline.hasMore || oldest === null || oldest < id) break;
      await this.view.loadEarlier();
      if (this.timeline.oldestId === oldest) break; // nothing came: give up
    }
    const li = this.element(id);
    if (!li) return false;
    li.scrollIntoView({ block: "center" });
    li.classList.add("is-jumped-to");
    this.timers.setTimeout(() => li.classList.remove("is-jumped-to"), HIGHLIGHT_MS);
    return true;
  }
}
