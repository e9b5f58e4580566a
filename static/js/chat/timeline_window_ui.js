// timeline_window_ui.js: what the reader sees of a window detached from the live end
// (timeline_window.js): "Jump to the present" over the timeline, "Load newer messages"
// below the last message (loaded by itself when scrolled near), and the outbox hidden,
// since its messages belong after the live end, not after this stretch of history.

import { h } from "./render.js";

const NEAR_BOTTOM_PX = 120;

export const NEWER_FAILED_TEXT = "Could not load newer messages. Scroll down to try again.";
export const PRESENT_FAILED_TEXT = "Could not load the newest messages; try again.";

export class TimelineWindowView {
  /**
   * - ui: {timeline (the scroller), messages, outbox};
   * - timelineWindow: the TimelineWindow; showNotice(text);
   * - win: the window (frames, the address bar's history).
   */
  constructor({ ui, timelineWindow, showNotice, win = globalThis }) {
    Object.assign(this, { ui, timelineWindow, showNotice, win });
    this.present = h("button", "present-pill", "Jump to the present ↓");
    this.present.type = "button";
    this.present.dataset.js = "jump-to-present";
    this.present.hidden = true;
    this.newer = h("div", "newer-status");
    this.newer.hidden = true;
    this.loadNewerButton = h("button", "btn btn-ghost btn-sm", "Load newer messages");
    this.loadNewerButton.type = "button";
    this.loadNewerButton.dataset.js = "load-newer";
    this.newer.append(this.loadNewerButton);
    this.failed = false; // the last newer page failed: wait for the reader to scroll
  }

  listen() {
    this.ui.timeline.parentElement.append(this.present);
    this.ui.messages.after(this.newer);
    this.present.addEventListener("click", () => this.goToPresent());
    this.loadNewerButton.addEventListener("click", () => this.loadNewer());
    this.ui.timeline.addEventListener("scroll", () => this.onScroll(), { passive: true });
    this.render();
  }

  /** The window moved, or a page is loading: show where it stands. */
  render() {
    const { detached, loadingNewer } = this.timelineWindow;
    this.present.hidden = !detached;
    this.newer.hidden = !detached;
    this.loadNewerButton.disabled = loadingNewer;
    this.loadNewerButton.textContent = loadingNewer ? "Loading…" : "Load newer messages";
    this.ui.outbox.hidden = detached;
    // A window shorter than the pane shows its bottom with nothing to scroll: go on,
    // unless the last page failed (the reader's next scroll asks again).
    if (detached && !loadingNewer && !this.failed) {
      this.win.requestAnimationFrame?.(() => this.failed || this.loadNewerIfNear());
    }
  }

  nearBottom() {
    const t = this.ui.timeline;
    return t.scrollHeight - t.scrollTop - t.clientHeight < NEAR_BOTTOM_PX;
  }

  onScroll() {
    this.failed = false;
    this.loadNewerIfNear();
  }

  loadNewerIfNear() {
    if (this.timelineWindow.detached && this.nearBottom()) this.loadNewer();
  }

  async loadNewer() {
    try {
      this.failed = false;
      await this.timelineWindow.loadNewer();
    } catch {
      this.failed = true;
      this.render();
      this.showNotice(NEWER_FAILED_TEXT);
    }
  }

  async goToPresent() {
    this.present.disabled = true;
    try {
      await this.timelineWindow.goToPresent();
      this.forgetMessageLink();
    } catch {
      this.showNotice(PRESENT_FAILED_TEXT);
    } finally {
      this.present.disabled = false;
    }
  }

  /** A reload shows the present too: the address no longer names the message. */
  forgetMessageLink() {
    const { location, history } = this.win;
    const params = new URLSearchParams(location.search);
    if (!location.hash && !params.has("around")) return;
    params.delete("around");
    const query = params.toString();
    history.replaceState(history.state, "", `${location.pathname}${query ? `?${query}` : ""}`);
  }
}
