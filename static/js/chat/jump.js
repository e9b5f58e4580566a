// jump.js: open a room at one message (a search result: <room page>?around=<id>#message-<id>;
// a link from the inbox, the bell or a desktop alert: #message-<id>; a reply's quote):
// when it is not on the page, load the page around it (timeline_window.js), then bring it
// into view and mark it for a moment.

const HIGHLIGHT_MS = 2500;
const ID = /^[1-9][0-9]{0,15}$/;

export const NOT_FOUND_TEXT = "That message is not in this room any more.";
export const LOAD_FAILED_TEXT = "Could not load that message; try again.";

/** The message id a location's hash points at ("#message-981" -> 981), or null. */
export function messageIdFromHash(hash) {
  const match = /^#message-([1-9][0-9]{0,15})$/.exec(hash ?? "");
  return match ? Number(match[1]) : null;
}

/** The message a location opens the room at: its hash, else its ?around=; or null. */
export function messageIdFromLocation(location) {
  const fromHash = messageIdFromHash(location?.hash);
  if (fromHash !== null) return fromHash;
  const around = new URLSearchParams(location?.search ?? "").get("around") ?? "";
  return ID.test(around) ? Number(around) : null;
}

export class Jump {
  /**
   * timelineWindow: the TimelineWindow; ui: {messages}; win: the window;
   * showNotice(text): says why a link's message could not be shown.
   */
  constructor({ timelineWindow, ui, showNotice = () => {}, win = globalThis, timers = globalThis }) {
    Object.assign(this, { timelineWindow, ui, showNotice, win, timers });
  }

  listen() {
    this.win.addEventListener("hashchange", () => this.go());
    return this.go();
  }

  element(id) {
    return this.ui.messages.querySelector(`li[data-id="${id}"]`);
  }

  /** Go to the message the location names; return whether it was found. */
  async go() {
    const id = messageIdFromLocation(this.win.location);
    if (id === null) return false;
    return this.goTo(id, { quiet: false });
  }

  /**
   * Go to message `id` (a reply's quote names its original); return whether it was
   * found. Quiet (the caller says what went wrong) unless `quiet` is false.
   */
  async goTo(id, { quiet = true } = {}) {
    if (!this.element(id)) {
      let shown;
      try {
        shown = await this.timelineWindow.showAround(id);
      } catch {
        if (!quiet) this.showNotice(LOAD_FAILED_TEXT);
        return false;
      }
      if (!shown) {
        if (!quiet && !this.element(id)) this.showNotice(NOT_FOUND_TEXT);
        return false;
      }
    }
    const li = this.element(id);
    if (!li) return false;
    li.scrollIntoView({ block: "center" });
    li.classList.add("is-jumped-to");
    // The element may have been drawn afresh meanwhile: unmark the one shown then.
    this.timers.setTimeout(() => this.element(id)?.classList.remove("is-jumped-to"), HIGHLIGHT_MS);
    return true;
  }
}
