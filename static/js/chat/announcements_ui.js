// announcements_ui.js: the banner under the top bar that shows the newest unread
// announcement (staff's word to everyone or to a room), on every page, live from the
// Inbox store (inbox.js). Dismissing it marks it read, which clears it on every tab
// through the notifications.read event; the next unread one, if any, takes its place.

import { findParts } from "./render.js";

const ANNOUNCEMENT = "announcement";

export class AnnouncementBanner {
  /** root: [data-js="announcement"], hidden until there is something to show. */
  constructor({ tab, inbox, root }) {
    this.tab = tab;
    this.inbox = inbox;
    this.root = root;
    this.ui = findParts(root, {
      reason: "announcement-reason",
      text: "announcement-text",
      dismiss: "announcement-dismiss",
    });
    // Dismissed here and not yet confirmed by the event: stays out of sight meanwhile.
    this.dismissed = new Set();
  }

  listen() {
    this.inbox.onChange(() => this.render());
    this.ui.dismiss.addEventListener("click", () => this.dismiss());
    this.render();
  }

  /** The newest unread announcement not being dismissed, or undefined. */
  current() {
    return this.inbox
      .list()
      .find((item) => item.kind === ANNOUNCEMENT && !item.read && !this.dismissed.has(item.id));
  }

  render() {
    const announcement = this.current();
    this.root.hidden = !announcement;
    if (!announcement) {
      delete this.root.dataset.id;
      return;
    }
    this.root.dataset.id = announcement.id;
    this.ui.reason.textContent = announcement.reason;
    this.ui.text.textContent = announcement.text ?? "";
    this.ui.text.hidden = !announcement.text;
  }

  async dismiss() {
    const announcement = this.current();
    if (!announcement) return;
    this.dismissed.add(announcement.id);
    this.render();
    try {
      await this.inbox.markRead(this.tab.api, [announcement.id]);
    } catch {
      // Not read after all: show it again, so that it can be dismissed again.
      this.dismissed.delete(announcement.id);
      this.render();
    }
  }
}
