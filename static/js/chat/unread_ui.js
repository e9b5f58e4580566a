// unread_ui.js: in the room in view, where the new messages start (a "New messages" line
// above the first message that was unread when the room was opened) and a button that
// marks the whole room read. The line stays where it was put, as in other chats, until
// the page is opened again.

export class UnreadView {
  /** tab: the Tab; slug: the room in view; ui: {messages, unreadBar, unreadText, markRead}. */
  constructor({ tab, slug, ui }) {
    Object.assign(this, { tab, slug, ui });
    this.firstUnreadId = undefined; // undefined: not known yet; null: nothing was unread
  }

  listen() {
    this.tab.on("view", (frame) => {
      if (frame.room?.slug !== this.slug) return;
      // The first view of the page places the line; reconnects keep it where it is.
      if (this.firstUnreadId === undefined) this.firstUnreadId = frame.first_unread_id ?? null;
      this.placeLine();
    });
    for (const type of ["sync", "history"]) this.tab.on(type, () => this.placeLine());
    this.tab.rooms.onChange(() => this.drawBar());
    this.ui.markRead?.addEventListener("click", () => this.markAllRead());
    this.drawBar();
  }

  /** Put the line above the first unread message, once it is on the page. */
  placeLine() {
    if (!this.firstUnreadId) return;
    for (const li of this.ui.messages.querySelectorAll(".is-first-unread")) {
      if (li.dataset.id !== String(this.firstUnreadId)) li.classList.remove("is-first-unread");
    }
    const li = this.ui.messages.querySelector(`li[data-id="${this.firstUnreadId}"]`);
    li?.classList.add("is-first-unread");
  }

  drawBar() {
    const room = this.tab.rooms.get(this.slug);
    const unread = room?.unread ?? 0;
    if (!this.ui.unreadBar) return;
    this.ui.unreadBar.hidden = unread <= 0;
    if (unread > 0) {
      this.ui.unreadText.textContent = unread === 1 ? "1 new message" : `${unread} new messages`;
    }
    // Messages arriving later may be drawn before the line's message was: look again.
    this.placeLine();
  }

  markAllRead() {
    const room = this.tab.rooms.get(this.slug);
    if (room) this.tab.markRead(this.slug, room.rev);
  }
}
