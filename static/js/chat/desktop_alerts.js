// desktop_alerts.js: desktop notifications through the browser's Notification API, one
// per message per browser however many tabs are open, closed again once the message is
// read anywhere. alerts.js decides what deserves an alert; this shows and closes them.
//
// One alert per message: the tabs of a browser elect one alerting tab with a Web Lock
// (LOCK_NAME), held for the tab's life and passed on by the browser when it closes. Where
// Web Locks are missing, every tab that decides an alert is due claims it on a
// BroadcastChannel and the first claim wins (see `claim`). With neither, each tab alerts
// and the `tag` (the message id) lets the operating system keep one alert per message.
//
// Whether the person is looking at the message's room is a question about every tab: the
// tabs tell each other, on the same channel, which room they show and whether they are in
// front, so the alerting tab stays quiet about the room shown in another tab in front.
//
// Permission is asked only from a click on the top bar's button: browsers ignore or
// penalise a prompt that no gesture asked for.

import { alertFor, alertSettledBy } from "./alerts.js";

export const LOCK_NAME = "chat-desktop-alerts";
export const CHANNEL_NAME = "chat-desktop-alerts";
// How long a claiming tab waits for rival claims of the same alert before showing it.
// Messages between tabs of one browser arrive well within it.
export const CLAIM_WAIT_MS = 150;
// How many alert tags the claim bookkeeping remembers (the oldest are forgotten).
const CLAIMS_KEPT = 500;

// The frames after which an open alert may have to close (alerts.alertSettledBy).
const SETTLING_FRAMES = [
  "room.read",
  "message.deleted",
  "room.closed",
  "rooms.removed",
  "notification.removed",
  "notifications.read",
];

/** The room page's URL (chat/urls.py, chat:room_detail), at a message's anchor. */
export function roomMessageUrl(slug, messageId = null) {
  const page = `/rooms/${encodeURIComponent(slug)}/`;
  return messageId === null ? page : `${page}#message-${messageId}`;
}

function randomTabId() {
  return globalThis.crypto?.randomUUID?.() ?? `${Math.random()}`.slice(2);
}

export class DesktopAlerts {
  /**
   * `root`: the top bar's [data-js="desktop-alerts"] element, or null. `Notification`,
   * `locks` (navigator.locks), `BroadcastChannel`, `location`, `window`: the browser's,
   * passed in (null when missing). `setTimeout`, `now` and `tabId` are for the tests.
   */
  constructor({
    tab,
    root = null,
    Notification = null,
    locks = null,
    BroadcastChannel = null,
    location = null,
    window = null,
    setTimeout = (fn, ms) => globalThis.setTimeout(fn, ms),
    now = () => Date.now(),
    tabId = randomTabId(),
  }) {
    this.tab = tab;
    this.root = root;
    this.Notification = Notification;
    this.locks = locks;
    this.BroadcastChannel = BroadcastChannel;
    this.location = location;
    this.window = window;
    this.setTimeout = setTimeout;
    this.now = now;
    this.tabId = String(tabId);

    this.defaults = null; // {level, desktop} once the server said
    this.open = new Map(); // tag -> {alert, notification}
    this.pending = new Map(); // tag -> alert, claimed and waiting for rivals
    this.claims = new Map(); // tag -> [{at, tabId}] claims of other tabs
    this.notificationIds = new Map(); // message id -> id of the notification it made
    this.inFront = null; // {tabId, viewing}: another tab of ours that is in front
    this.mode = "alone"; // "lock" | "claim" | "alone": how alerts are shared out
    this.leader = false;
    this.channel = null;
    this.cleanups = [];
    this.releaseLock = null;
  }

  /** Start: wire the button, join the other tabs, and handle the tab's frames. */
  listen() {
    this.bindButton();
    this.render();
    this.joinChannel();
    this.electLeader();
    this.subscribe("hello", (frame) => this.onHello(frame));
    this.subscribe("preferences.updated", (frame) => this.onPreferences(frame));
    this.subscribe("message.new", (frame) => this.consider(frame));
    this.subscribe("notification.new", (frame) => this.onNotification(frame));
    this.subscribe("view", () => this.shareState());
    for (const type of SETTLING_FRAMES) this.subscribe(type, (frame) => this.settle(frame));
    this.watchFocus();
    return this;
  }

  /** Stop: give up the lock (another tab takes over) and leave the channel. */
  stop() {
    this.post({ kind: "gone", tabId: this.tabId });
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.releaseLock?.();
    this.releaseLock = null;
    this.leader = false;
    this.channel?.close();
    this.channel = null;
  }

  subscribe(type, handler) {
    const unsubscribe = this.tab.on(type, handler);
    if (typeof unsubscribe === "function") this.cleanups.push(unsubscribe);
  }

  // --- state from the server --------------------------------------------------------------

  onHello(frame) {
    const defaults = frame.defaults ?? frame.preferences?.defaults;
    if (defaults) this.defaults = { ...defaults };
    for (const notification of frame.inbox?.notifications ?? []) this.remember(notification);
    this.render();
  }

  onPreferences(frame) {
    if (frame.defaults) this.defaults = { ...frame.defaults };
    if (this.defaults?.desktop === false) this.closeAll();
    this.render();
  }

  onNotification(frame) {
    if (frame.notification) this.remember(frame.notification);
    this.consider(frame);
  }

  remember(notification) {
    const messageId = notification.message?.id;
    if (messageId != null) this.notificationIds.set(messageId, notification.id);
  }

  // --- deciding and sharing out -------------------------------------------------------------

  permitted() {
    return this.Notification?.permission === "granted";
  }

  /** What the person is looking at: this tab, else another of ours in front, else nothing. */
  context() {
    const own = { me: this.tab.me, rooms: this.tab.rooms, defaults: this.defaults };
    if (this.tab.visible()) return { ...own, viewing: this.tab.viewing ?? null, visible: true };
    if (this.inFront) return { ...own, viewing: this.inFront.viewing, visible: true };
    return { ...own, viewing: this.tab.viewing ?? null, visible: false };
  }

  consider(frame) {
    if (!this.permitted()) return;
    const alert = alertFor(frame, this.context());
    if (alert === null) return;
    if (this.mode === "lock") {
      if (this.leader) this.show(alert);
    } else if (this.mode === "claim") {
      this.claim(alert);
    } else {
      this.show(alert);
    }
  }

  /**
   * Claim an alert on the channel (no Web Locks): the first claim wins. A tab that has
   * already heard a claim for the tag does not claim. Claims made at about the same time
   * are ordered by the time each tab took when claiming (tabs of one browser share a
   * clock), then, for equal times, by tab id: the lowest wins. Every tab orders the same
   * claims the same way, so exactly one shows the alert.
   */
  claim(alert) {
    if (this.claims.has(alert.tag) || this.pending.has(alert.tag)) return;
    const mine = { at: this.now(), tabId: this.tabId };
    this.pending.set(alert.tag, alert);
    this.post({ kind: "claim", tag: alert.tag, ...mine });
    this.setTimeout(() => {
      if (!this.pending.delete(alert.tag)) return; // settled while waiting
      const rivals = this.claims.get(alert.tag) ?? [];
      if (rivals.some((rival) => claimsBefore(rival, mine))) return;
      this.show(alert);
    }, CLAIM_WAIT_MS);
  }

  noteClaim({ tag, at, tabId }) {
    const known = this.claims.get(tag) ?? [];
    known.push({ at, tabId });
    this.claims.set(tag, known);
    if (this.claims.size > CLAIMS_KEPT) this.claims.delete(this.claims.keys().next().value);
  }

  electLeader() {
    if (typeof this.locks?.request === "function") {
      const abort = typeof AbortController === "function" ? new AbortController() : null;
      let release;
      const held = new Promise((resolve) => {
        release = resolve;
      });
      this.releaseLock = () => {
        abort?.abort();
        release();
      };
      try {
        const granted = this.locks.request(LOCK_NAME, { signal: abort?.signal }, () => {
          this.leader = true;
          return held; // held until stop() or the tab closes
        });
        Promise.resolve(granted).catch(() => {}); // aborted by stop() before it was granted
        this.mode = "lock";
        return;
      } catch {
        // A document without lock access (an opaque origin): share out by claims instead.
      }
    }
    this.mode = this.channel ? "claim" : "alone";
  }

  // --- the other tabs -------------------------------------------------------------------

  joinChannel() {
    if (!this.BroadcastChannel) return;
    try {
      this.channel = new this.BroadcastChannel(CHANNEL_NAME);
    } catch {
      this.channel = null;
      return;
    }
    this.channel.onmessage = (event) => this.onPeer(event.data);
    this.post({ kind: "ask", tabId: this.tabId });
    this.shareState();
  }

  post(data) {
    try {
      this.channel?.postMessage(data);
    } catch {
      // A closed channel: the other tabs no longer hear this one, which is what closing means.
    }
  }

  onPeer(data) {
    if (!data || data.tabId === this.tabId) return;
    if (data.kind === "claim") {
      this.noteClaim(data);
    } else if (data.kind === "ask") {
      this.shareState();
    } else if (data.kind === "state") {
      if (data.visible) this.inFront = { tabId: data.tabId, viewing: data.viewing ?? null };
      else if (this.inFront?.tabId === data.tabId) this.inFront = null;
    } else if (data.kind === "gone") {
      if (this.inFront?.tabId === data.tabId) this.inFront = null;
    }
  }

  shareState() {
    const visible = Boolean(this.tab.visible());
    // Only one window has the focus: if this tab is in front, no other is.
    if (visible) this.inFront = null;
    this.post({ kind: "state", tabId: this.tabId, viewing: this.tab.viewing ?? null, visible });
  }

  watchFocus() {
    const target = this.window;
    if (typeof target?.addEventListener !== "function") return;
    // Read after the event: during a blur the document may still report the focus.
    const changed = () =>
      this.setTimeout(() => {
        this.shareState();
        this.render(); // the permission may have been changed in the site settings
      }, 0);
    const gone = () => this.post({ kind: "gone", tabId: this.tabId });
    const listeners = [
      ["focus", changed],
      ["blur", changed],
      ["visibilitychange", changed],
      ["pagehide", gone],
    ];
    for (const [type, fn] of listeners) target.addEventListener(type, fn);
    this.cleanups.push(() => {
      for (const [type, fn] of listeners) target.removeEventListener(type, fn);
    });
  }

  // --- alerts on screen -----------------------------------------------------------------

  show(alert) {
    let notification;
    try {
      notification = new this.Notification(alert.title, { body: alert.body, tag: alert.tag });
    } catch {
      return; // browsers that allow alerts only from a service worker (Chrome on Android)
    }
    this.open.get(alert.tag)?.notification.close();
    this.open.set(alert.tag, { alert, notification });
    notification.onclick = () => this.goTo(alert, notification);
    notification.onclose = () => {
      if (this.open.get(alert.tag)?.notification === notification) this.open.delete(alert.tag);
    };
  }

  /** Bring this window to the front at the alert's message. */
  goTo(alert, notification) {
    this.window?.focus?.();
    if (alert.roomSlug && this.location) {
      this.location.assign(roomMessageUrl(alert.roomSlug, alert.messageId));
    }
    notification.close();
  }

  /** Close the open alerts (and drop the pending claims) that `frame` has made moot. */
  settle(frame) {
    for (const [tag, alert] of this.pending) {
      if (alertSettledBy(frame, alert, this.notificationIds)) this.pending.delete(tag);
    }
    for (const [tag, { alert, notification }] of this.open) {
      if (!alertSettledBy(frame, alert, this.notificationIds)) continue;
      this.open.delete(tag);
      notification.close();
    }
  }

  closeAll() {
    this.pending.clear();
    for (const { notification } of this.open.values()) notification.close();
    this.open.clear();
  }

  // --- the top bar's button -------------------------------------------------------------

  bindButton() {
    const button = this.root?.querySelector('[data-js="desktop-alerts-enable"]');
    if (!button) return;
    const ask = () => this.askPermission();
    button.addEventListener("click", ask);
    this.cleanups.push(() => button.removeEventListener("click", ask));
  }

  /** Ask the browser for permission: only ever called from the button's click. */
  async askPermission() {
    const api = this.Notification;
    if (typeof api?.requestPermission !== "function") return;
    try {
      // Older Safari answers through a callback instead of a promise.
      await new Promise((resolve) => {
        const answer = api.requestPermission(resolve);
        if (answer && typeof answer.then === "function") answer.then(resolve, resolve);
      });
    } catch {
      // A browser that refuses to ask: the button stays, the hint says nothing new.
    }
    this.render();
  }

  /** Show the button while permission is undecided, the hint once it is denied. */
  render() {
    if (!this.root) return;
    const button = this.root.querySelector('[data-js="desktop-alerts-enable"]');
    const hint = this.root.querySelector('[data-js="desktop-alerts-hint"]');
    const permission = this.Notification ? this.Notification.permission : "unsupported";
    const wanted = this.defaults?.desktop !== false;
    const showButton = wanted && permission === "default";
    const showHint = wanted && permission === "denied";
    if (button) button.hidden = !showButton;
    if (hint) hint.hidden = !showHint;
    this.root.hidden = !(showButton || showHint);
  }
}

/** Whether claim `a` was made before claim `b` (equal times: the lower tab id first). */
export function claimsBefore(a, b) {
  if (a.at !== b.at) return a.at < b.at;
  return String(a.tabId) < String(b.tabId);
}
