// status_ui.js: what the page says about itself: the connection pill in the header
// ("Live", "Reconnecting…", "Closed") and the notice under it (errors, why the room is
// closed to us).

const NOTICE_MS = 6000;

const STATE_LABELS = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline",
  closed: "Closed",
};

export class StatusView {
  /** root: #room (its data-connection follows the state, for CSS); ui: the elements. */
  constructor({ root, ui }) {
    this.root = root;
    this.ui = ui; // {connState, notice, noticeText, noticeClose}
    this.noticeTimer = null;
    this.stickyText = null;
  }

  listen() {
    this.ui.noticeClose.addEventListener("click", () => this.hideNotice());
  }

  /**
   * Show a notice. A sticky one (why the room is closed to us) stays, without a close
   * button; a passing one shown over it gives way to it again when it goes.
   */
  showNotice(text, { sticky = false } = {}) {
    clearTimeout(this.noticeTimer);
    if (sticky) this.stickyText = text;
    this.ui.noticeText.textContent = text;
    this.ui.notice.hidden = false;
    this.ui.noticeClose.hidden = sticky;
    this.noticeTimer = sticky ? null : setTimeout(() => this.hideNotice(), NOTICE_MS);
  }

  hideNotice() {
    clearTimeout(this.noticeTimer);
    this.noticeTimer = null;
    if (this.stickyText !== null) this.showNotice(this.stickyText, { sticky: true });
    else this.ui.notice.hidden = true;
  }

  /** The room is lost to us: say why on #room (data-closed), for CSS and tests. */
  markClosed(reason) {
    this.root.dataset.closed = reason;
  }

  setConnState(name) {
    const { connState } = this.ui;
    connState.hidden = false;
    connState.dataset.state = name;
    connState.textContent = STATE_LABELS[name];
    this.root.dataset.connection = name;
  }
}
