import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  ALERT_BODY_MAX,
  alertFor,
  alertSettledBy,
  messageText,
  plainExcerpt,
} from "../chat/alerts.js";
import {
  CHANNEL_NAME,
  CLAIM_WAIT_MS,
  DesktopAlerts,
  LOCK_NAME,
  claimsBefore,
  roomMessageUrl,
} from "../chat/desktop_alerts.js";
import { FakeTimers } from "./fakes.js";

const ME = { id: 9, username: "bob", staff: false };
const ALICE = { id: 7, username: "alice" };

// --- building blocks ------------------------------------------------------------------------

function roomState(slug, fields = {}) {
  return {
    slug,
    name: slug[0].toUpperCase() + slug.slice(1),
    topic: "",
    private: false,
    archived: false,
    rev: 10,
    last_read_rev: 10,
    unread: 0,
    mentions: 0,
    unread_mentions: [],
    role: "member",
    notify: { level: "mentions", muted: false, custom: false },
    ...fields,
  };
}

class RoomsStore {
  constructor(rooms) {
    this.map = new Map(rooms.map((room) => [room.slug, room]));
  }

  get(slug) {
    return this.map.get(slug);
  }

  all() {
    return [...this.map.values()];
  }

  onChange() {
    return () => {};
  }
}

function message(id, fields = {}) {
  return {
    id,
    rev: 11,
    room: "general",
    author: ALICE,
    body: "hello @bob",
    created_at: "2026-12-01T12:00:00.000000Z",
    edited_at: null,
    deleted: false,
    client_id: null,
    created_rev: 11,
    mentions: [ME.id],
    mention_all: null,
    ...fields,
  };
}

function messageNew(id, fields = {}) {
  const body = message(id, fields);
  return { type: "message.new", room: body.room, message: body };
}

function announcement(id, fields = {}) {
  return {
    type: "notification.new",
    notification: {
      id,
      kind: "announcement",
      reason: "Announcement",
      room: null,
      message: null,
      actor: { id: 1, username: "root" },
      created_at: "2026-12-01T12:00:00.000000Z",
      read: false,
      text: "Maintenance at noon",
      ...fields,
    },
    unread: 1,
  };
}

function context(fields = {}) {
  return {
    me: ME,
    rooms: new RoomsStore([roomState("general"), roomState("random")]),
    viewing: "random",
    visible: true,
    defaults: { level: "mentions", desktop: true },
    ...fields,
  };
}

function withRoom(fields) {
  return new RoomsStore([roomState("general", fields), roomState("random")]);
}

// --- alertFor ------------------------------------------------------------------------------

describe("alertFor: a message that deserves an alert", () => {
  test("a mention in a room not in view gives the alert's title, body, tag and revision", () => {
    assert.deepEqual(alertFor(messageNew(981), context()), {
      title: "alice in #General",
      body: "hello @bob",
      tag: "981",
      roomSlug: "general",
      messageId: 981,
      rev: 11,
      notificationId: null,
    });
  });

  test("a private room is named the same way, from the room state", () => {
    const rooms = withRoom({ name: "Staff only", private: true });
    assert.equal(alertFor(messageNew(1), context({ rooms })).title, "alice in #Staff only");
  });

  test("the room in view alerts only while the page is hidden or unfocused", () => {
    const inView = { viewing: "general" };
    assert.equal(alertFor(messageNew(1), context({ ...inView, visible: true })), null);
    assert.equal(alertFor(messageNew(1), context({ ...inView, visible: false })).tag, "1");
    assert.equal(alertFor(messageNew(1), context({ viewing: null, visible: true })).tag, "1");
  });
});

describe("alertFor: what never alerts", () => {
  test("my own message", () => {
    assert.equal(alertFor(messageNew(1, { author: ME }), context()), null);
  });

  test("a deleted message", () => {
    assert.equal(alertFor(messageNew(1, { deleted: true, body: "" }), context()), null);
  });

  test("a message at or before my read marker (created_rev, not the edit's rev)", () => {
    const rooms = withRoom({ last_read_rev: 11 });
    assert.equal(alertFor(messageNew(1), context({ rooms })), null);
    const edited = messageNew(1, { created_rev: 11, rev: 14 });
    assert.equal(alertFor(edited, context({ rooms })), null);
    assert.equal(alertFor(messageNew(1, { created_rev: 12 }), context({ rooms })).rev, 12);
  });

  test("a muted room, whatever its level and even for a mention", () => {
    const rooms = withRoom({ notify: { level: "all", muted: true, custom: true } });
    assert.equal(alertFor(messageNew(1), context({ rooms })), null);
  });

  test("level nothing, even for a mention", () => {
    const rooms = withRoom({ notify: { level: "nothing", muted: false, custom: true } });
    assert.equal(alertFor(messageNew(1, { mention_all: "room" }), context({ rooms })), null);
  });

  test("desktop alerts turned off in the defaults: messages and announcements", () => {
    const off = { defaults: { level: "all", desktop: false }, visible: false };
    assert.equal(alertFor(messageNew(1), context(off)), null);
    assert.equal(alertFor(announcement(5), context(off)), null);
  });

  test("a room that is not in the room list (not a member)", () => {
    assert.equal(alertFor(messageNew(1, { room: "elsewhere" }), context()), null);
  });

  test("frames of other types", () => {
    const frame = { type: "message.updated", room: "general", message: message(1) };
    assert.equal(alertFor(frame, context()), null);
    assert.equal(alertFor({ type: "typing", room: "general" }, context()), null);
  });
});

describe("alertFor: the levels", () => {
  const plain = { mentions: [], mention_all: null, body: "lunch?" };

  test("mentions: only a message that mentions me by name, @room or @here", () => {
    assert.equal(alertFor(messageNew(1, plain), context()), null);
    assert.equal(alertFor(messageNew(1, { ...plain, mentions: [3] }), context()), null);
    assert.notEqual(alertFor(messageNew(1, { ...plain, mentions: [ME.id] }), context()), null);
    assert.notEqual(alertFor(messageNew(1, { ...plain, mention_all: "room" }), context()), null);
    assert.notEqual(alertFor(messageNew(1, { ...plain, mention_all: "here" }), context()), null);
  });

  test("all: every message of someone else", () => {
    const rooms = withRoom({ notify: { level: "all", muted: false, custom: true } });
    assert.equal(alertFor(messageNew(1, plain), context({ rooms })).body, "lunch?");
  });

  test("a room state without notify falls back to the default level", () => {
    const rooms = withRoom({ notify: undefined });
    const all = { level: "all", desktop: true };
    assert.equal(alertFor(messageNew(1, plain), context({ rooms })), null);
    assert.notEqual(alertFor(messageNew(1, plain), context({ rooms, defaults: all })), null);
  });
});

describe("alertFor: the body", () => {
  test("is at most 200 characters, on one line, cut with an ellipsis", () => {
    assert.equal(ALERT_BODY_MAX, 200);
    const long = "word ".repeat(100);
    const { body } = alertFor(messageNew(1, { body: long }), context());
    assert.equal(Array.from(body).length, 200);
    assert.ok(body.endsWith("…"));
    assert.ok(long.startsWith(body.slice(0, -1)));
    assert.equal(plainExcerpt("two\n\nlines\tand  tabs"), "two lines and tabs");
    assert.equal(plainExcerpt("x".repeat(200)), "x".repeat(200));
  });

  test("never cuts an emoji in half", () => {
    const body = plainExcerpt(`${"a".repeat(198)}😀😀😀`);
    assert.equal(body, `${"a".repeat(198)}😀…`);
  });
});

describe("messageText: what an alert says of a message", () => {
  test("its text without Markdown's markers, every line", () => {
    assert.equal(messageText({ body: "**Lunch** at `noon`?\n> - and _later_" }), "Lunch at noon? and later");
  });

  test("a message of files alone: the file's name, or how many", () => {
    const file = (name) => ({ id: 1, name, size: 10 });
    assert.equal(messageText({ body: "", attachments: [file("cat.png")] }), "📎 cat.png");
    assert.equal(messageText({ body: "", attachments: [file("a"), file("b")] }), "📎 2 files");
    assert.equal(messageText({ body: "look", attachments: [file("a")] }), "look");
    assert.equal(messageText({ body: "" }), "");
  });
});

describe("alertFor: announcements", () => {
  test("alert with the title Announcement while no page is in front", () => {
    assert.deepEqual(alertFor(announcement(5), context({ visible: false })), {
      title: "Announcement",
      body: "Maintenance at noon",
      tag: "announcement-5",
      roomSlug: null,
      messageId: null,
      rev: null,
      notificationId: 5,
    });
  });

  test("not while a page is in front (its banner shows it), nor when read", () => {
    assert.equal(alertFor(announcement(5), context({ visible: true })), null);
    assert.equal(alertFor(announcement(5, { read: true }), context({ visible: false })), null);
  });

  test("other kinds of notification do not alert (their message.new does)", () => {
    const mention = announcement(5, { kind: "mention", message: { id: 1, rev: 11 } });
    assert.equal(alertFor(mention, context({ visible: false })), null);
  });
});

describe("alertSettledBy: when an open alert closes", () => {
  const alert = alertFor(messageNew(981), context());
  const ids = new Map([[981, 41]]);

  test("a read marker at or past the message in its room", () => {
    const read = (slug, lastReadRev) => ({
      type: "room.read",
      room: { slug, rev: 12, last_read_rev: lastReadRev, unread: 0, mentions: 0 },
    });
    assert.equal(alertSettledBy(read("general", 10), alert, ids), false);
    assert.equal(alertSettledBy(read("random", 12), alert, ids), false);
    assert.equal(alertSettledBy(read("general", 11), alert, ids), true);
  });

  test("the message's notification read or withdrawn, one by one or all", () => {
    const frame = (type, data) => ({ type, unread: 0, ...data });
    assert.equal(alertSettledBy(frame("notifications.read", { ids: [40] }), alert, ids), false);
    assert.equal(alertSettledBy(frame("notifications.read", { ids: [41] }), alert, ids), true);
    const all = (upTo) => frame("notifications.read", { all: true, up_to: upTo });
    assert.equal(alertSettledBy(all(40), alert, ids), false);
    assert.equal(alertSettledBy(all(41), alert, ids), true);
    assert.equal(alertSettledBy(frame("notification.removed", { ids: [41] }), alert, ids), true);
    assert.equal(alertSettledBy(frame("notifications.read", { ids: [41] }), alert, new Map()), false);
  });

  test("the message deleted, or the room gone", () => {
    const deleted = (id) => ({ type: "message.deleted", room: "general", message: { id } });
    assert.equal(alertSettledBy(deleted(980), alert, ids), false);
    assert.equal(alertSettledBy(deleted(981), alert, ids), true);
    const closed = { type: "room.closed", room: "general", reason: "removed", detail: "" };
    assert.equal(alertSettledBy(closed, alert, ids), true);
  });

  test("an announcement closes when its notification is read", () => {
    const shown = alertFor(announcement(5), context({ visible: false }));
    const read = { type: "notifications.read", ids: [5], unread: 0 };
    assert.equal(alertSettledBy(read, shown, new Map()), true);
    assert.equal(alertSettledBy({ type: "message.deleted", message: { id: 5 } }, shown), false);
  });
});

// --- fakes for DesktopAlerts ----------------------------------------------------------------

/** A Notification class for one browser: records what is shown and asked. */
function notificationApi(permission = "granted", answer = "granted") {
  return class FakeNotification {
    static permission = permission;
    static shown = [];
    static asked = 0;

    static requestPermission() {
      FakeNotification.asked += 1;
      FakeNotification.permission = answer;
      return Promise.resolve(answer);
    }

    constructor(title, options = {}) {
      this.title = title;
      this.body = options.body;
      this.tag = options.tag;
      this.closed = false;
      this.onclick = null;
      this.onclose = null;
      FakeNotification.shown.push(this);
    }

    close() {
      if (this.closed) return;
      this.closed = true;
      this.onclose?.();
    }
  };
}

/** navigator.locks for one browser: exclusive locks granted in request order. */
class FakeLockManager {
  constructor() {
    this.held = new Map(); // name -> true
    this.queue = []; // {name, callback, resolve, reject, signal}
  }

  request(name, options, callback) {
    const cb = callback ?? options;
    const signal = callback ? options?.signal : undefined;
    return new Promise((resolve, reject) => {
      const entry = { name, callback: cb, resolve, reject };
      signal?.addEventListener("abort", () => {
        const index = this.queue.indexOf(entry);
        if (index === -1) return;
        this.queue.splice(index, 1);
        reject(new DOMException("aborted", "AbortError"));
      });
      this.queue.push(entry);
      queueMicrotask(() => this.grant());
    });
  }

  grant() {
    for (const entry of [...this.queue]) {
      if (this.held.has(entry.name)) continue;
      this.queue.splice(this.queue.indexOf(entry), 1);
      this.held.set(entry.name, true);
      Promise.resolve(entry.callback()).then((value) => {
        this.held.delete(entry.name);
        entry.resolve(value);
        this.grant();
      });
    }
  }
}

/** BroadcastChannel for one browser: delivers to the other open channels of the name. */
function channelApi() {
  const open = new Set();
  return class FakeBroadcastChannel {
    static sent = [];

    constructor(name) {
      this.name = name;
      this.onmessage = null;
      open.add(this);
    }

    postMessage(data) {
      if (!open.has(this)) throw new DOMException("closed", "InvalidStateError");
      FakeBroadcastChannel.sent.push(data);
      const copy = structuredClone(data);
      for (const other of open) {
        if (other !== this && other.name === this.name) {
          queueMicrotask(() => open.has(other) && other.onmessage?.({ data: copy }));
        }
      }
    }

    close() {
      open.delete(this);
    }
  };
}

/** The part of a Tab that DesktopAlerts uses; the test emits the frames. */
class FakeTab {
  constructor({ viewing = "random", visible = true, rooms } = {}) {
    this.me = ME;
    this.rooms = rooms ?? new RoomsStore([roomState("general"), roomState("random")]);
    this.viewing = viewing;
    this.inFront = visible;
    this.handlers = new Map();
  }

  on(type, fn) {
    const list = this.handlers.get(type) ?? [];
    list.push(fn);
    this.handlers.set(type, list);
    return () => list.splice(list.indexOf(fn), 1);
  }

  emit(frame) {
    for (const fn of [...(this.handlers.get(frame.type) ?? [])]) fn(frame);
  }

  visible() {
    return this.inFront;
  }
}

class FakeElement {
  constructor() {
    this.hidden = true;
    this.listeners = new Map();
  }

  addEventListener(type, fn) {
    this.listeners.set(type, fn);
  }

  removeEventListener(type) {
    this.listeners.delete(type);
  }

  click() {
    this.listeners.get("click")?.();
  }
}

function topBar() {
  const parts = {
    '[data-js="desktop-alerts-enable"]': new FakeElement(),
    '[data-js="desktop-alerts-hint"]': new FakeElement(),
  };
  const root = new FakeElement();
  root.querySelector = (selector) => parts[selector] ?? null;
  root.button = parts['[data-js="desktop-alerts-enable"]'];
  root.hint = parts['[data-js="desktop-alerts-hint"]'];
  return root;
}

class FakeWindow extends EventTarget {
  constructor() {
    super();
    this.focused = 0;
  }

  focus() {
    this.focused += 1;
  }
}

/** One browser: the APIs its tabs share, and a way to open tabs in it. */
function browser({ permission = "granted", locks = true, channel = true } = {}) {
  const timers = new FakeTimers();
  const shared = {
    Notification: notificationApi(permission),
    locks: locks ? new FakeLockManager() : null,
    BroadcastChannel: channel ? channelApi() : null,
    timers,
  };
  let opened = 0;
  shared.openTab = (tabFields = {}, extra = {}) => {
    opened += 1;
    const tab = new FakeTab(tabFields);
    const window = new FakeWindow();
    const location = { assigned: [], assign: (url) => location.assigned.push(url) };
    const alerts = new DesktopAlerts({
      tab,
      root: extra.root ?? null,
      Notification: shared.Notification,
      locks: shared.locks,
      BroadcastChannel: shared.BroadcastChannel,
      location,
      window,
      setTimeout: timers.setTimeout,
      now: timers.now,
      tabId: extra.tabId ?? `tab-${opened}`,
    }).listen();
    return { tab, window, location, alerts };
  };
  return shared;
}

/** Let every queued promise job and channel delivery run. */
function settle() {
  return new Promise((resolve) => setImmediate(resolve));
}

function toAll(tabs, frame) {
  for (const { tab } of tabs) tab.emit(frame);
}

function roomRead(slug, lastReadRev) {
  return {
    type: "room.read",
    room: { slug, rev: 12, last_read_rev: lastReadRev, unread: 0, mentions: 0, unread_mentions: [] },
  };
}

// --- DesktopAlerts --------------------------------------------------------------------------

describe("DesktopAlerts: one alert per message per browser (Web Locks)", () => {
  test("two tabs get the message; the tab holding the lock shows the one alert", async () => {
    const chrome = browser();
    const first = chrome.openTab();
    const second = chrome.openTab();
    await settle();
    assert.equal(first.alerts.leader, true);
    assert.equal(second.alerts.leader, false);

    toAll([first, second], messageNew(981));

    assert.equal(chrome.Notification.shown.length, 1);
    const [shown] = chrome.Notification.shown;
    assert.equal(shown.title, "alice in #General");
    assert.equal(shown.body, "hello @bob");
    assert.equal(shown.tag, "981");
  });

  test("when the alerting tab closes, another takes over", async () => {
    const chrome = browser();
    const first = chrome.openTab();
    const second = chrome.openTab();
    await settle();

    first.alerts.stop();
    await settle();
    assert.equal(second.alerts.leader, true);
    second.tab.emit(messageNew(982));

    assert.deepEqual(
      chrome.Notification.shown.map((n) => n.tag),
      ["982"],
    );
  });

  test("a message read on another tab closes the open alert; an earlier marker does not", async () => {
    const chrome = browser();
    const tabs = [chrome.openTab(), chrome.openTab()];
    await settle();
    toAll(tabs, messageNew(981));
    const [shown] = chrome.Notification.shown;

    // The second tab reads up to just before the message: the server tells every tab.
    toAll(tabs, roomRead("general", 10));
    assert.equal(shown.closed, false);
    toAll(tabs, roomRead("general", 11));
    assert.equal(shown.closed, true);
  });

  test("reading its notification, withdrawing it or deleting the message closes it", async () => {
    const chrome = browser();
    const tabs = [chrome.openTab(), chrome.openTab()];
    await settle();
    const mention = (id, messageId) => ({
      type: "notification.new",
      notification: { id, kind: "mention", room: { slug: "general" }, message: { id: messageId } },
      unread: 1,
    });
    for (const id of [1, 2, 3]) {
      toAll(tabs, messageNew(id));
      toAll(tabs, mention(40 + id, id));
    }
    const [one, two, three] = chrome.Notification.shown;

    toAll(tabs, { type: "notifications.read", ids: [41], unread: 2 });
    toAll(tabs, { type: "notification.removed", ids: [42], unread: 1 });
    assert.deepEqual([one.closed, two.closed, three.closed], [true, true, false]);
    toAll(tabs, { type: "message.deleted", room: "general", message: message(3, { deleted: true }) });
    assert.equal(three.closed, true);
  });

  test("another tab in front showing the room keeps the alerting tab quiet about it", async () => {
    const chrome = browser();
    const hidden = chrome.openTab({ viewing: "random", visible: false });
    const front = chrome.openTab({ viewing: "general", visible: true });
    await settle();
    assert.equal(hidden.alerts.leader, true);

    toAll([hidden, front], messageNew(1));
    assert.equal(chrome.Notification.shown.length, 0);

    // The person leaves the window: the tab that was in front says so.
    front.tab.inFront = false;
    front.window.dispatchEvent(new Event("blur"));
    chrome.timers.advance(0);
    await settle();
    toAll([hidden, front], messageNew(2));
    assert.deepEqual(
      chrome.Notification.shown.map((n) => n.tag),
      ["2"],
    );
  });

  test("clicking the alert focuses the window and opens the room at the message", async () => {
    const chrome = browser();
    const only = chrome.openTab();
    await settle();
    only.tab.emit(messageNew(981));
    const [shown] = chrome.Notification.shown;

    shown.onclick();

    assert.equal(only.window.focused, 1);
    assert.deepEqual(only.location.assigned, ["/rooms/general/#message-981"]);
    assert.equal(shown.closed, true);
    assert.equal(roomMessageUrl("a-b"), "/rooms/a-b/");
  });

  test("turning desktop alerts off closes what is open and shows no more", async () => {
    const chrome = browser();
    const only = chrome.openTab();
    await settle();
    only.tab.emit(messageNew(1));
    only.tab.emit({
      type: "preferences.updated",
      defaults: { level: "mentions", desktop: false },
      rooms: [],
    });
    only.tab.emit(messageNew(2));
    assert.equal(chrome.Notification.shown.length, 1);
    assert.equal(chrome.Notification.shown[0].closed, true);
  });

  test("uses the lock and the channel by their names", async () => {
    const chrome = browser();
    chrome.openTab();
    await settle();
    assert.ok(chrome.locks.held.has(LOCK_NAME));
    assert.equal(CHANNEL_NAME, "chat-desktop-alerts");
  });
});

describe("DesktopAlerts: without Web Locks, the first claim on the channel wins", () => {
  test("two tabs deciding at once: one alert, from the earlier claim", async () => {
    const chrome = browser({ locks: false });
    const tabs = [chrome.openTab({}, { tabId: "b" }), chrome.openTab({}, { tabId: "a" })];
    await settle();
    assert.equal(tabs[0].alerts.mode, "claim");

    tabs[0].tab.emit(messageNew(981));
    chrome.timers.advance(1); // the second tab decides a moment later
    tabs[1].tab.emit(messageNew(981));
    await settle();
    chrome.timers.advance(CLAIM_WAIT_MS);

    assert.equal(chrome.Notification.shown.length, 1);
    assert.ok(tabs[0].alerts.open.has("981"), "the earlier claim shows it");
  });

  test("claims at the same moment: the lower tab id wins", async () => {
    const chrome = browser({ locks: false });
    const tabs = [chrome.openTab({}, { tabId: "b" }), chrome.openTab({}, { tabId: "a" })];
    await settle();

    toAll(tabs, messageNew(981));
    await settle();
    chrome.timers.advance(CLAIM_WAIT_MS);

    assert.equal(chrome.Notification.shown.length, 1);
    assert.ok(tabs[1].alerts.open.has("981"));
    assert.equal(claimsBefore({ at: 1, tabId: "z" }, { at: 2, tabId: "a" }), true);
  });

  test("a tab that heard a claim before deciding does not claim", async () => {
    const chrome = browser({ locks: false });
    const tabs = [chrome.openTab(), chrome.openTab()];
    await settle();
    tabs[0].tab.emit(messageNew(981));
    await settle();
    tabs[1].tab.emit(messageNew(981));
    const claims = chrome.BroadcastChannel.sent.filter((data) => data.kind === "claim");
    assert.equal(claims.length, 1);
    chrome.timers.advance(CLAIM_WAIT_MS);
    assert.equal(chrome.Notification.shown.length, 1);
  });

  test("a message read while the claim waits is not shown", async () => {
    const chrome = browser({ locks: false });
    const only = chrome.openTab();
    await settle();
    only.tab.emit(messageNew(981));
    only.tab.emit(roomRead("general", 11));
    chrome.timers.advance(CLAIM_WAIT_MS);
    assert.equal(chrome.Notification.shown.length, 0);
  });
});

describe("DesktopAlerts: permission, only from the button", () => {
  test("nothing is asked without a click; the button shows while undecided", async () => {
    const chrome = browser({ permission: "default" });
    const root = topBar();
    const only = chrome.openTab({}, { root });
    await settle();
    only.tab.emit(messageNew(1));
    chrome.timers.advance(1_000);

    assert.equal(chrome.Notification.asked, 0);
    assert.equal(chrome.Notification.shown.length, 0);
    assert.equal(root.hidden, false);
    assert.equal(root.button.hidden, false);
    assert.equal(root.hint.hidden, true);
  });

  test("a click asks once; granted, the button goes and alerts show", async () => {
    const chrome = browser({ permission: "default" });
    const root = topBar();
    const only = chrome.openTab({}, { root });
    await settle();

    root.button.click();
    await settle();

    assert.equal(chrome.Notification.asked, 1);
    assert.equal(root.hidden, true);
    assert.equal(root.button.hidden, true);
    only.tab.emit(messageNew(1));
    assert.equal(chrome.Notification.shown.length, 1);
  });

  test("denied: a hint instead of the button", async () => {
    const chrome = browser({ permission: "denied" });
    const root = topBar();
    chrome.openTab({}, { root });
    assert.equal(root.hidden, false);
    assert.equal(root.button.hidden, true);
    assert.equal(root.hint.hidden, false);
  });

  test("granted, or no Notification API: nothing in the top bar", () => {
    const granted = topBar();
    browser().openTab({}, { root: granted });
    assert.equal(granted.hidden, true);

    const missing = topBar();
    missing.hidden = false;
    const tab = new FakeTab();
    new DesktopAlerts({ tab, root: missing, Notification: null }).listen();
    tab.emit(messageNew(1));
    assert.equal(missing.hidden, true);
  });
});

test("a conversation alerts for every message, titled by its author", async () => {
  const { alertFor } = await import("../chat/alerts.js");
  const rooms = new Map([
    ["dm-1", { slug: "dm-1", name: "dm-1", kind: "direct", last_read_rev: 0,
               notify: { level: "mentions", muted: false, custom: false } }],
  ]);
  const frame = {
    type: "message.new", room: "dm-1",
    message: { id: 9, rev: 3, created_rev: 3, room: "dm-1", author: { id: 1, username: "alice" },
               body: "hi", deleted: false, mentions: [], mention_all: null },
  };
  const alert = alertFor(frame, { me: { id: 2 }, rooms, viewing: null, visible: false, defaults: { level: "mentions", desktop: true } });
  assert.equal(alert?.title, "alice (direct message)");
  rooms.get("dm-1").notify = { level: "nothing", muted: false, custom: true };
  assert.equal(alertFor(frame, { me: { id: 2 }, rooms, viewing: null, visible: false, defaults: {} }), null);
});
