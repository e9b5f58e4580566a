// inbox_page.js: the /notifications/ page, live. The server renders a page of the inbox
// (newest first, or those before `?before=<id>`) with forms that work without
// JavaScript; this keeps it current from the Inbox store (inbox.js): new notifications
// appear on top, read ones lose their unread style, withdrawn ones disappear, all
// without a reload. The forms then mark read and answer invitations through the API
// instead of a reload.

import { answerFromButton, followNotification, inboxUrls } from "./bell_ui.js";
import {
  NOTIFICATION_REMOVED,
  NOTIFICATIONS_READ,
  isMarked,
  notificationLink,
  roomLabel,
  timeAgo,
} from "./inbox.js";
import { isPendingInvitation } from "./invitations.js";
import { nameWithHandle } from "./people.js";
import { avatarColour, findParts, h } from "./render.js";

// How often the "5 min ago" times are said again.
const TIMES_EVERY_MS = 60_000;

function toId(value) {
  const number = Number.parseInt(value, 10);
  return Number.isFinite(number) ? number : null;
}

export class InboxPage {
  /**
   * root: #inbox, with data-room-url, data-inbox-url, data-before (the page's `before`,
   * empty on the newest page) and data-older (the last id shown when older ones remain).
   */
  constructor({ tab, inbox, root }) {
    this.tab = tab;
    this.inbox = inbox;
    this.root = root;
    this.ui = findParts(root, {
      list: "inbox-list",
      unread: "inbox-unread",
      markAll: "inbox-mark-all",
      empty: "inbox-empty",
      template: "inbox-item-template",
    });
    this.urls = inboxUrls(root);
    // The ids this page shows: below `before`, down to the last one shown when older
    // ones remain (those are the next page's).
    this.upper = toId(root.dataset.before) ?? Number.POSITIVE_INFINITY;
    this.lower = toId(root.dataset.older) ?? 0;
  }

  listen() {
    this.inbox.onChange((change) => this.apply(change));
    this.ui.list.addEventListener("submit", (event) => this.onMarkRead(event));
    this.ui.markAll.addEventListener("submit", (event) => this.onMarkAll(event));
    this.ui.list.addEventListener("click", (event) => this.onLinkClick(event));
    this.ui.list.addEventListener("click", (event) => this.onInvitationClick(event));
    if (this.inbox.loaded) this.apply({ kind: "reset" });
    this.refreshTimes();
    setInterval(() => this.refreshTimes(), TIMES_EVERY_MS);
  }

  /** Say every item's time as the bell does ("5 min ago"), from its datetime. */
  refreshTimes() {
    for (const time of this.ui.list.querySelectorAll('[data-js="item-time"]')) {
      time.textContent = timeAgo(time.dateTime) || time.textContent;
    }
  }

  items() {
    return [...this.ui.list.querySelectorAll(":scope > .inbox-item")];
  }

  itemOf(id) {
    return this.items().find((li) => toId(li.dataset.id) === id) ?? null;
  }

  apply(change) {
    if (!this.inbox.loaded) return; // nothing is known before the hello
    // Events reach the items the store does not hold (an older page) too.
    if (change.kind === NOTIFICATION_REMOVED) {
      for (const id of change.data.ids) this.itemOf(id)?.remove();
    } else if (change.kind === NOTIFICATIONS_READ) {
      for (const li of this.items()) {
        if (isMarked(toId(li.dataset.id), change.data)) this.setRead(li, true);
      }
    }
    this.reconcile();
    this.renderCounts();
  }

  /** Make the items the store knows of agree with it. */
  reconcile() {
    const held = this.inbox.list();
    const byId = new Map(held.map((notification) => [notification.id, notification]));
    // The store holds everything down to its oldest, or everything if nothing is older.
    const oldestHeld = held.length ? held[held.length - 1].id : Number.POSITIVE_INFINITY;
    const storeKnows = (id) => !this.inbox.hasMore() || id >= oldestHeld;
    for (const li of this.items()) {
      const id = toId(li.dataset.id);
      const notification = byId.get(id);
      if (notification) this.update(li, notification);
      else if (storeKnows(id)) li.remove(); // withdrawn while we were away
    }
    const shown = new Set(this.items().map((li) => toId(li.dataset.id)));
    for (const notification of held) {
      const { id } = notification;
      if (id < this.upper && id >= this.lower && !shown.has(id)) this.insert(notification);
    }
  }

  /** Put a notification's item in its place, newest first. */
  insert(notification) {
    const li = this.renderItem(notification);
    const after = this.items().find((item) => toId(item.dataset.id) < notification.id);
    this.ui.list.insertBefore(li, after ?? null);
  }

  /** Show what may change of a notification: read, and its room's name. */
  update(li, notification) {
    this.setRead(li, notification.read);
    this.setInvitation(li, notification);
    const room = li.querySelector('[data-js="item-room"]');
    if (room && notification.room) room.textContent = roomLabel(notification.room);
  }

  setRead(li, read) {
    li.classList.toggle("is-unread", !read);
    const state = li.querySelector('[data-js="item-state"]');
    if (state) state.textContent = read ? "Read:" : "Unread:";
    const form = li.querySelector('[data-js="item-mark"]');
    if (form) form.hidden = read;
  }

  renderCounts() {
    const unread = this.inbox.unreadCount();
    this.ui.unread.textContent = `${unread} unread`;
    this.ui.markAll.hidden = unread === 0;
    this.ui.empty.hidden = this.items().length > 0;
  }

  /** Fill a copy of the page's empty item (the same markup the server renders). */
  renderItem(notification) {
    const li = this.ui.template.content.querySelector(".inbox-item").cloneNode(true);
    const find = (name) => li.querySelector(`[data-js="${name}"]`);
    li.dataset.id = notification.id;
    li.dataset.kind = notification.kind;
    this.setRead(li, notification.read);

    const link = find("item-link");
    link.href = notificationLink(notification, this.urls);
    link.textContent = notification.reason;
    const text = find("item-text");
    text.textContent = notification.text ?? "";
    text.hidden = !notification.text;

    const avatar = find("item-avatar");
    const actor = notification.actor?.username;
    avatar.className = `avatar ${actor ? avatarColour(actor) : "avatar-system"}`;
    avatar.textContent = actor ? [...actor][0].toUpperCase() : "!";
    find("item-actor").textContent = actor ? nameWithHandle(notification.actor) : "";

    const room = find("item-room");
    room.hidden = !notification.room;
    if (notification.room) {
      room.href = this.urls.roomUrl(notification.room.slug);
      room.textContent = roomLabel(notification.room);
    }
    const time = find("item-time");
    time.dateTime = notification.created_at;
    time.textContent = timeAgo(notification.created_at);
    const created = new Date(notification.created_at);
    if (!Number.isNaN(created.getTime())) time.title = created.toLocaleString();
    find("item-id").value = String(notification.id);
    this.setInvitation(li, notification);
    return li;
  }

  /** Show Accept and Decline while an invitation waits for its answer. */
  setInvitation(li, notification) {
    const actions = li.querySelector('[data-js="item-invitation"]');
    if (!actions) return;
    actions.hidden = !isPendingInvitation(notification);
    if (notification.invitation) {
      for (const button of actions.querySelectorAll("button")) {
        button.dataset.invitationId = notification.invitation.id;
      }
      // Filled as the server fills it: the same form whether rendered there or here.
      const field = actions.querySelector('[data-js="item-invitation-id"]');
      if (field) field.value = String(notification.invitation.id);
    }
  }

  async onInvitationClick(event) {
    const button = event.target.closest("button[data-invitation-action]");
    if (!button) return;
    event.preventDefault(); // answered through the API: the form does not post itself
    const li = button.closest(".inbox-item");
    li.querySelector(".inbox-error")?.remove();
    const error = await answerFromButton(button, this.tab.api);
    if (error) {
      const alert = h("p", "inbox-error", error);
      alert.setAttribute("role", "alert");
      button.parentElement.after(alert);
    }
  }

  /** "Mark read" through the API; the form posts itself if that fails. */
  async onMarkRead(event) {
    const form = event.target.closest('[data-js="item-mark"]');
    if (!form) return;
    event.preventDefault();
    const li = form.closest(".inbox-item");
    const id = toId(li.dataset.id);
    form.querySelector("button").disabled = true;
    try {
      await this.inbox.markRead(this.tab.api, [id]);
      const hadFocus = form.contains(document.activeElement);
      this.setRead(li, true); // the server has it; the event will say the same
      if (hadFocus) li.querySelector('[data-js="item-link"]')?.focus(); // the form is gone
    } catch {
      form.submit();
    } finally {
      form.querySelector("button").disabled = false;
    }
  }

  async onMarkAll(event) {
    event.preventDefault();
    const button = this.ui.markAll.querySelector("button");
    button.disabled = true;
    try {
      const answer = await this.inbox.markAllRead(this.tab.api);
      if (answer?.unread === 0) for (const li of this.items()) this.setRead(li, true);
    } catch {
      this.ui.markAll.submit();
    } finally {
      button.disabled = false;
    }
  }

  onLinkClick(event) {
    const link = event.target.closest('a[data-js="item-link"]');
    if (!link) return;
    const id = toId(link.closest(".inbox-item")?.dataset.id);
    const notification = this.inbox.get(id) ?? this.fromItem(link.closest(".inbox-item"), id);
    if (link.pathname === window.location.pathname && !link.hash) {
      // An announcement to everyone leads here: reading it is all there is to do.
      event.preventDefault();
      if (!notification.read) this.inbox.markRead(this.tab.api, [id]).catch(() => {});
      return;
    }
    followNotification({ event, link, notification, inbox: this.inbox, api: this.tab.api });
  }

  /** What an item the store does not hold says of itself: its id and read state. */
  fromItem(li, id) {
    return { id, read: !li.classList.contains("is-unread") };
  }
}
