// inbox.js: the user's notifications as every tab holds them (docs/protocol.md, "The
// inbox"). The hello frame brings a snapshot (the newest page and the unread count); the
// inbox events that follow are applied with applyEvent, a port of
// notifications/state.py's apply_event, so that the result is what a fresh fetch would
// answer. The bell, the inbox page and the announcement banner draw from one Inbox.
//
// Pure apart from the Api passed to the methods that talk to the server.

export const NOTIFICATION_NEW = "notification.new";
export const NOTIFICATION_REMOVED = "notification.removed";
export const NOTIFICATIONS_READ = "notifications.read";
// An invitation was answered: its notification, read, with the new status, replaces the one held.
export const NOTIFICATION_UPDATED = "notification.updated";
// A room's name changed (the room's own event, and the listing's): the inbox names rooms
// as they are now, while a notification's reason keeps the name it was written with.
export const ROOM_RENAMED = ["room.updated", "rooms.updated"];
export const INBOX_EVENTS = [
  NOTIFICATION_NEW,
  NOTIFICATION_REMOVED,
  NOTIFICATIONS_READ,
  NOTIFICATION_UPDATED,
  ...ROOM_RENAMED,
];

export const LIST_URL = "/api/notifications/";
export const READ_URL = "/api/notifications/read/";

/**
 * Return the inbox `snapshot` ({notifications: [...], unread: N, ...}) after an event,
 * as notifications/state.py's apply_event does, rule for rule.
 *
 * `unread` is always taken from the event (a client never counts for itself), except
 * from a room's rename, which carries none. Kinds it does not know leave the snapshot
 * as it is (the same object). The snapshot given is never changed.
 */
export function applyEvent(snapshot, kind, data) {
  let notifications = snapshot.notifications;
  if (kind === NOTIFICATION_NEW) {
    const fresh = data.notification;
    // The same notification may arrive twice (two writers raced): keep one, and keep
    // the list newest first even if events arrive out of order.
    const others = notifications.filter((item) => item.id !== fresh.id);
    notifications = [fresh, ...others].sort((a, b) => b.id - a.id);
  } else if (kind === NOTIFICATION_UPDATED) {
    const changed = data.notification;
    notifications = notifications.map((item) => (item.id === changed.id ? changed : item));
  } else if (kind === NOTIFICATION_REMOVED) {
    const gone = new Set(data.ids);
    notifications = notifications.filter((item) => !gone.has(item.id));
  } else if (ROOM_RENAMED.includes(kind)) {
    const { slug, name } = data.room;
    // Only the items whose name changes are new objects, so a listener can tell.
    notifications = notifications.map((item) =>
      item.room !== null && item.room.slug === slug && item.room.name !== name
        ? { ...item, room: { ...item.room, name } }
        : item,
    );
    return { ...snapshot, notifications };
  } else if (kind === NOTIFICATIONS_READ) {
    notifications = notifications.map((item) =>
      isMarked(item.id, data) ? { ...item, read: true } : item,
    );
  } else {
    return snapshot;
  }
  return { ...snapshot, notifications, unread: data.unread };
}

/** Whether a notifications.read event ({ids} or {all, up_to}) marks this notification. */
export function isMarked(notificationId, data) {
  if (data.all) return data.up_to != null && notificationId <= data.up_to; // null: none marked
  return data.ids.includes(notificationId);
}

function sameSnapshot(one, other) {
  return (
    one.unread === other.unread &&
    one.notifications.length === other.notifications.length &&
    one.notifications.every((item, index) => item === other.notifications[index])
  );
}

function emptySnapshot() {
  return { notifications: [], has_more: false, unread: 0 };
}

/**
 * The inbox of one tab. Listeners get a change: {kind: "reset"} after a hello,
 * {kind: <event type>, data} after an inbox event, {kind: "older", notifications}
 * after loadOlder, {kind: "unread"} when an answer corrected the count.
 */
export class Inbox {
  constructor({ listUrl = LIST_URL, readUrl = READ_URL } = {}) {
    this.listUrl = listUrl;
    this.readUrl = readUrl;
    this.snapshot = emptySnapshot();
    this.loaded = false; // no hello yet: the counts are not known
    this.listeners = new Set();
    // Counts the events applied, so that an HTTP answer older than an event that came
    // meanwhile does not put back a stale count.
    this.eventCount = 0;
    this.resets = 0; // a page asked for before a reset may not join the new snapshot
    this.loadingOlder = null;
  }

  /**
   * Follow the tab: every hello replaces the inbox (after a reconnect the snapshot is
   * the truth), every inbox event is applied. Returns a function that stops it.
   */
  listen(tab) {
    const stops = [tab.on("hello", (frame) => this.reset(frame.inbox))];
    for (const kind of INBOX_EVENTS) stops.push(tab.on(kind, (frame) => this.apply(kind, frame)));
    return () => stops.forEach((stop) => stop());
  }

  /** Replace everything with a snapshot ({notifications, has_more, unread}). */
  reset(inbox) {
    this.snapshot = {
      notifications: [...(inbox?.notifications ?? [])].sort((a, b) => b.id - a.id),
      has_more: Boolean(inbox?.has_more),
      unread: inbox?.unread ?? 0,
    };
    this.loaded = true;
    this.resets += 1;
    this.eventCount += 1;
    this.emit({ kind: "reset" });
  }

  /** Apply an inbox event (the frame's fields are its data). */
  apply(kind, data) {
    if (ROOM_RENAMED.includes(kind) && typeof data.room?.name !== "string") return;
    const before = this.snapshot;
    const after = applyEvent(before, kind, data);
    if (after === before || sameSnapshot(after, before)) return; // a rename of another room
    this.snapshot = after;
    this.eventCount += 1;
    this.emit({ kind, data });
  }

  onChange(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(change) {
    for (const fn of [...this.listeners]) fn(change);
  }

  unreadCount() {
    return this.snapshot.unread;
  }

  /** The notifications held, newest first. */
  list() {
    return this.snapshot.notifications;
  }

  /** Whether the server has notifications older than the oldest held. */
  hasMore() {
    return this.snapshot.has_more;
  }

  get(notificationId) {
    return this.snapshot.notifications.find((item) => item.id === notificationId);
  }

  /** The newest unread notification of a kind, or undefined. */
  newestUnread(kind) {
    return this.snapshot.notifications.find((item) => item.kind === kind && !item.read);
  }

  /**
   * Fetch the page older than the oldest held and add it; returns the notifications
   * added. One request at a time: a second call waits for the first.
   */
  loadOlder(api) {
    this.loadingOlder ??= this.fetchOlder(api).finally(() => {
      this.loadingOlder = null;
    });
    return this.loadingOlder;
  }

  async fetchOlder(api) {
    const held = this.snapshot.notifications;
    const oldest = held.length ? held[held.length - 1].id : null;
    const url = oldest === null ? this.listUrl : `${this.listUrl}?before=${oldest}`;
    const resetsBefore = this.resets;
    const answer = await api.get(url);
    if (this.resets !== resetsBefore) return [];
    const known = new Set(this.snapshot.notifications.map((item) => item.id));
    const added = (answer?.notifications ?? []).filter((item) => !known.has(item.id));
    this.snapshot = {
      ...this.snapshot,
      notifications: [...this.snapshot.notifications, ...added].sort((a, b) => b.id - a.id),
      has_more: Boolean(answer?.has_more),
    };
    this.emit({ kind: "older", notifications: added });
    return added;
  }

  /** Mark notifications read; the notifications.read event that follows shows it. */
  markRead(api, ids) {
    return this.postRead(api, { ids: [...ids] });
  }

  /** Mark every notification read, as the server has them now. */
  markAllRead(api) {
    return this.postRead(api, { all: true });
  }

  async postRead(api, body) {
    const eventsBefore = this.eventCount;
    const answer = await api.post(this.readUrl, body);
    // The event changes the list; the answer's count shows at once unless an event
    // came meanwhile, which is as new as the answer or newer.
    if (this.eventCount === eventsBefore && Number.isInteger(answer?.unread)) {
      if (answer.unread !== this.snapshot.unread) {
        this.snapshot = { ...this.snapshot, unread: answer.unread };
        this.emit({ kind: "unread" });
      }
    }
    return answer;
  }
}

// --- how a notification reads ------------------------------------------------------------

/**
 * Where a notification leads: the message in its room (`<room page>#message-<id>`), the
 * room, or, for one with neither, the inbox page. roomUrl(slug) gives a room's page.
 */
export function notificationLink(notification, { roomUrl, inboxUrl }) {
  const slug = notification.room?.slug;
  // The room of an invitation not accepted may not be open to its invitee.
  const invitation = notification.invitation;
  if (!slug || (invitation && invitation.status !== "accepted")) return inboxUrl;
  const page = roomUrl(slug);
  return notification.message ? `${page}#message-${notification.message.id}` : page;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const shortDate = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });

/** How long ago a time was, shortly: "just now", "5 min ago", "3 h ago", "2 d ago", "4 Mar". */
export function timeAgo(iso, now = Date.now()) {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return "";
  const elapsed = Math.max(0, now - time);
  if (elapsed < MINUTE) return "just now";
  if (elapsed < HOUR) return `${Math.floor(elapsed / MINUTE)} min ago`;
  if (elapsed < DAY) return `${Math.floor(elapsed / HOUR)} h ago`;
  if (elapsed < 7 * DAY) return `${Math.floor(elapsed / DAY)} d ago`;
  return shortDate.format(new Date(time));
}

/** The count a badge shows: nothing at 0, "99+" above 99. */
export function badgeText(unread) {
  if (!(unread > 0)) return "";
  return unread > 99 ? "99+" : String(unread);
}

/** How the inbox names a notification's room: "#General", or a conversation as such. */
export function roomLabel(room) {
  if (!room) return "";
  return room.kind === "direct" ? "Direct message" : `#${room.name}`;
}
