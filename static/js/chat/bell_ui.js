// bell_ui.js: the bell in the top bar of every page: the unread count on it, and a
// dropdown of the newest notifications, kept live from the Inbox store (inbox.js).
//
// Without JavaScript the bell is a link to the inbox page; here it opens the dropdown
// instead (a disclosure: Enter or Space toggles it, the arrow keys walk it, Escape and a
// click or focus outside close it). Ctrl/Cmd/middle click still opens the page.

import { badgeText, notificationLink, roomLabel, timeAgo } from "./inbox.js";
import { answerInvitation, isPendingInvitation } from "./invitations.js";
import { findParts, h } from "./render.js";

const SHOWN = 10;
// How long a click on a notification waits for "mark read" to reach the server before
// it leaves the page anyway (leaving would cancel the request).
const LEAVE_WAIT_MS = 1500;

/** The Accept and Decline buttons of an invitation waiting for its answer. */
export function invitationButtons(notification) {
  const actions = h("span", "invitation-actions");
  for (const [action, label, style] of [
    ["accept", "Accept", "btn btn-primary btn-sm"],
    ["decline", "Decline", "btn btn-ghost btn-sm"],
  ]) {
    const button = h("button", style, label);
    button.type = "button";
    button.dataset.invitationAction = action;
    button.dataset.invitationId = notification.invitation.id;
    actions.append(button);
  }
  return actions;
}

/**
 * Answer an invitation from one of its buttons; accepting opens the room. Returns the
 * error's text on a refusal (null when done).
 */
export async function answerFromButton(button, api, assign = (url) => window.location.assign(url)) {
  const { invitationAction: action, invitationId: id } = button.dataset;
  button.disabled = true;
  try {
    const answer = await answerInvitation(api, Number(id), action);
    if (action === "accept" && answer?.room?.url) assign(answer.room.url);
    return null;
  } catch (error) {
    button.disabled = false;
    return error.detail || "Could not answer the invitation; try again.";
  }
}

/** A room page's URL from the URL of any room page (the server's pattern, data-room-url). */
export function roomUrlFrom(pattern) {
  return (slug) => pattern.replace(/[^/]+\/$/, `${encodeURIComponent(slug)}/`);
}

function opensElsewhere(event) {
  return event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey;
}

/**
 * Follow a notification's link, marking it read first if it is unread. A plain click
 * waits (a little) for the server before leaving the page; one that opens another tab
 * or window leaves this page alone and does not wait.
 */
export function followNotification({ event, link, notification, inbox, api }) {
  if (!notification || notification.read) return;
  const marking = inbox.markRead(api, [notification.id]).catch(() => {});
  if (opensElsewhere(event)) return;
  event.preventDefault();
  const timeout = new Promise((resolve) => setTimeout(resolve, LEAVE_WAIT_MS));
  Promise.race([marking, timeout]).then(() => window.location.assign(link.href));
}

/** The inbox's URLs from a root's data-inbox-url and data-room-url (bell and page). */
export function inboxUrls(root) {
  return {
    inboxUrl: root.dataset.inboxUrl,
    roomUrl: roomUrlFrom(root.dataset.roomUrl || "/rooms/room/"),
  };
}

export class BellView {
  /** root: [data-js="bell"], with data-inbox-url and data-room-url. */
  constructor({ tab, inbox, root }) {
    this.tab = tab;
    this.inbox = inbox;
    this.root = root;
    this.ui = findParts(root, {
      button: "bell-button",
      count: "bell-count",
      menu: "bell-menu",
      list: "bell-list",
      empty: "bell-empty",
      markAll: "bell-mark-all",
      seeAll: "bell-see-all",
    });
    this.urls = inboxUrls(root);
    this.error = null;
  }

  listen() {
    const { button, markAll, list } = this.ui;
    button.setAttribute("role", "button");
    button.setAttribute("aria-expanded", "false");
    button.addEventListener("click", (event) => {
      if (opensElsewhere(event)) return; // the inbox page, in another tab
      event.preventDefault();
      this.toggle();
    });
    button.addEventListener("keydown", (event) => {
      if (event.key === " ") {
        event.preventDefault(); // a link ignores Space; a button opens on it
        this.toggle();
      } else if (event.key === "ArrowDown") {
        event.preventDefault();
        this.open();
        this.focusables()[0]?.focus();
      }
    });
    this.root.addEventListener("keydown", (event) => this.onKey(event));
    markAll.addEventListener("click", () => this.markAllRead());
    list.addEventListener("click", (event) => this.onItemClick(event));
    document.addEventListener("click", (event) => {
      if (this.isOpen() && !this.root.contains(event.target)) this.close();
    });
    // Tabbing out of the dropdown closes it (a click on its own blank space does not).
    this.root.addEventListener("focusout", (event) => {
      if (event.relatedTarget && !this.root.contains(event.relatedTarget)) this.close();
    });
    this.inbox.onChange(() => this.render());
    this.render();
  }

  isOpen() {
    return !this.ui.menu.hidden;
  }

  toggle() {
    if (this.isOpen()) this.close();
    else this.open();
  }

  open() {
    this.ui.menu.hidden = false;
    this.ui.button.setAttribute("aria-expanded", "true");
    this.root.classList.add("is-open");
    this.render(); // the times move on while it is closed
  }

  close({ focusButton = false } = {}) {
    if (!this.isOpen()) return;
    this.ui.menu.hidden = true;
    this.ui.button.setAttribute("aria-expanded", "false");
    this.root.classList.remove("is-open");
    this.setError(null);
    if (focusButton) this.ui.button.focus();
  }

  /** The links and buttons of the open dropdown, in order. */
  focusables() {
    return [...this.ui.menu.querySelectorAll("a[href], button:not([hidden]):not(:disabled)")];
  }

  onKey(event) {
    if (!this.isOpen()) return;
    if (event.key === "Escape") {
      event.preventDefault();
      this.close({ focusButton: true });
      return;
    }
    const moves = { ArrowDown: 1, ArrowUp: -1 };
    if (!(event.key in moves) && event.key !== "Home" && event.key !== "End") return;
    if (!this.ui.menu.contains(document.activeElement)) return;
    event.preventDefault();
    const items = this.focusables();
    const at = items.indexOf(document.activeElement);
    let next;
    if (event.key === "Home") next = 0;
    else if (event.key === "End") next = items.length - 1;
    else next = (at + moves[event.key] + items.length) % items.length;
    items[next]?.focus();
  }

  async onItemClick(event) {
    const answer = event.target.closest("button[data-invitation-action]");
    if (answer) {
      this.setError(await answerFromButton(answer, this.tab.api));
      return;
    }
    const link = event.target.closest("a.bell-link");
    if (!link) return;
    const notification = this.inbox.get(Number(link.closest("li").dataset.id));
    if (!opensElsewhere(event)) this.close();
    followNotification({ event, link, notification, inbox: this.inbox, api: this.tab.api });
  }

  async markAllRead() {
    const { markAll } = this.ui;
    markAll.disabled = true;
    this.setError(null);
    try {
      await this.inbox.markAllRead(this.tab.api);
    } catch (error) {
      this.setError(error.detail || "Could not mark them read; try again.");
    } finally {
      markAll.disabled = false;
    }
  }

  setError(text) {
    this.error?.remove();
    this.error = null;
    if (!text) return;
    this.error = h("p", "bell-error", text);
    this.error.setAttribute("role", "alert");
    this.ui.list.before(this.error);
  }

  render() {
    const unread = this.inbox.unreadCount();
    const { count, button, markAll, empty, list } = this.ui;
    count.textContent = badgeText(unread);
    count.hidden = count.textContent === "";
    button.setAttribute(
      "aria-label",
      this.inbox.loaded ? `Notifications, ${unread} unread` : "Notifications",
    );
    this.root.classList.toggle("has-unread", unread > 0);
    markAll.hidden = unread === 0;

    const newest = this.inbox.list().slice(0, SHOWN);
    empty.hidden = newest.length > 0;
    // Redrawing must not lose the keyboard's place in the list.
    const focusedId = document.activeElement?.closest?.(".bell-item")?.dataset.id;
    list.replaceChildren(...newest.map((notification) => this.renderItem(notification)));
    if (focusedId) list.querySelector(`.bell-item[data-id="${focusedId}"] a`)?.focus();
  }

  renderItem(notification) {
    const li = h("li", "bell-item");
    li.dataset.id = notification.id;
    li.dataset.kind = notification.kind;
    li.classList.toggle("is-unread", !notification.read);
    const link = h("a", "bell-link");
    link.href = notificationLink(notification, this.urls);
    const dot = h("span", "bell-dot");
    dot.setAttribute("aria-hidden", "true");
    const main = h("span", "bell-item-main");
    main.append(h("span", "bell-reason", notification.reason));
    if (notification.text) main.append(h("span", "bell-text", notification.text));
    const meta = h("span", "bell-meta");
    if (notification.room) meta.append(h("span", "bell-room", roomLabel(notification.room)));
    const time = h("time", "bell-time", timeAgo(notification.created_at));
    time.dateTime = notification.created_at;
    meta.append(time);
    main.append(meta);
    link.append(dot, main);
    if (!notification.read) link.append(h("span", "visually-hidden", " (unread)"));
    li.append(link);
    if (isPendingInvitation(notification)) li.append(invitationButtons(notification));
    return li;
  }
}
