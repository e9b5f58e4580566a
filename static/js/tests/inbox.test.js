import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  Inbox,
  applyEvent,
  badgeText,
  notificationLink,
  timeAgo,
} from "../chat/inbox.js";

// A notification as the API gives it, with only what the rules look at varying.
const note = (id, read = false, kind = "mention") => ({
  id,
  kind,
  reason: `reason ${id}`,
  room: { slug: "general", name: "General" },
  message: { id: 100 + id, rev: 100 + id, created_rev: 100 + id },
  actor: { id: 7, username: "alice" },
  created_at: "2026-03-01T12:00:00.000000Z",
  read,
  text: null,
});

// Sequences of events, each step with the inbox expected after it (its ids newest first,
// "r" after those read) and the unread count. The expectations are those of
// notifications/state.py's apply_event (notifications/tests/test_state.py and the
// snapshot-plus-events test of notifications/tests/test_api.py, as bob receives them).
const SEQUENCES = [
  {
    name: "test_state.py: new, duplicate, late, removed, read by ids, read all up to",
    start: { notifications: [note(5), note(3, true), note(2)], unread: 2 },
    steps: [
      ["notification.new", { notification: note(7), unread: 3 }, "7 5 3r 2", 3],
      ["notification.new", { notification: note(7), unread: 3 }, "7 5 3r 2", 3],
      ["notification.new", { notification: note(4), unread: 4 }, "7 5 4 3r 2", 4],
      ["notification.removed", { ids: [5, 99], unread: 3 }, "7 4 3r 2", 3],
      ["notifications.read", { ids: [2], unread: 2 }, "7 4 3r 2r", 2],
      ["notifications.read", { all: true, up_to: 4, unread: 1 }, "7 4r 3r 2r", 1],
      ["something.else", { unread: 9 }, "7 4r 3r 2r", 1],
    ],
  },
  {
    name: "test_api.py: bob's events while mentions come, are edited away and are read",
    // held: the early mention (1), a read welcome (2), an invitation (3)
    start: {
      notifications: [note(3, false, "invitation"), note(2, true, "announcement"), note(1)],
      unread: 2,
    },
    steps: [
      ["notification.new", { notification: note(4), unread: 3 }, "4 3 2r 1", 3],
      [
        "notification.new",
        { notification: note(6, false, "here_mention"), unread: 4 },
        "6 4 3 2r 1",
        4,
      ],
      ["notification.new", { notification: note(8), unread: 5 }, "8 6 4 3 2r 1", 5],
      ["notification.removed", { ids: [4], unread: 4 }, "8 6 3 2r 1", 4],
      ["notifications.read", { ids: [1], unread: 3 }, "8 6 3 2r 1r", 3],
      ["notifications.read", { ids: [6], unread: 2 }, "8 6r 3 2r 1r", 2],
      ["notifications.read", { all: true, up_to: 8, unread: 0 }, "8r 6r 3r 2r 1r", 0],
      ["notification.new", { notification: note(9), unread: 1 }, "9 8r 6r 3r 2r 1r", 1],
    ],
  },
  {
    name: "edges: nothing to mark, out of order, one newer than up_to, unknown ids",
    start: { notifications: [], unread: 0 },
    steps: [
      ["notifications.read", { all: true, up_to: null, unread: 0 }, "", 0],
      ["notification.new", { notification: note(10), unread: 1 }, "10", 1],
      ["notification.new", { notification: note(12), unread: 2 }, "12 10", 2],
      ["notification.new", { notification: note(11), unread: 3 }, "12 11 10", 3],
      ["notifications.read", { all: true, up_to: 11, unread: 1 }, "12 11r 10r", 1],
      ["notifications.read", { ids: [40, 41], unread: 1 }, "12 11r 10r", 1],
      ["notification.removed", { ids: [11, 12], unread: 0 }, "10r", 0],
      ["notification.new", { notification: note(10, true), unread: 0 }, "10r", 0],
    ],
  },
];

// A room renamed: the inbox shows rooms by their name now; the count stays. Each step
// with the rooms expected after it ("id:room name", "-" for none) and the unread count.
const inRoom = (id, slug, name) => ({ ...note(id), room: slug ? { slug, name } : null });
const RENAMES = {
  start: {
    notifications: [inRoom(3, "general", "General"), inRoom(2, "random", "Random"), inRoom(1)],
    unread: 3,
  },
  steps: [
    [
      "room.updated",
      { room: { slug: "general", name: "Town square", topic: "" } },
      "3:Town square 2:Random 1:-",
      3,
    ],
    [
      "rooms.updated",
      { room: { slug: "random", name: "Off topic", private: false } },
      "3:Town square 2:Off topic 1:-",
      3,
    ],
    [
      "rooms.updated",
      { room: { slug: "elsewhere", name: "Elsewhere" } },
      "3:Town square 2:Off topic 1:-",
      3,
    ],
    ["notifications.read", { ids: [3], unread: 2 }, "3:Town square 2:Off topic 1:-", 2],
    [
      "room.updated",
      { room: { slug: "general", name: "General" } },
      "3:General 2:Off topic 1:-",
      2,
    ],
  ],
};
const rooms = (held) =>
  (held instanceof Inbox ? held.list() : held.notifications)
    .map((item) => `${item.id}:${item.room?.name ?? "-"}`)
    .join(" ");

// A snapshot's or an Inbox's notifications as the fixture writes them: "7 5 3r 2".
const shape = (held) =>
  (held instanceof Inbox ? held.list() : held.notifications)
    .map((item) => `${item.id}${item.read ? "r" : ""}`)
    .join(" ");

describe("applyEvent: the port of notifications/state.py", () => {
  for (const sequence of SEQUENCES) {
    test(sequence.name, () => {
      let held = sequence.start;
      sequence.steps.forEach(([kind, data, expected, unread], index) => {
        held = applyEvent(held, kind, data);
        assert.equal(shape(held), expected, `step ${index + 1} (${kind})`);
        assert.equal(held.unread, unread, `step ${index + 1} (${kind}): unread`);
      });
    });
  }

  test("leaves the snapshot alone; unknown kinds return it as it is", () => {
    const start = { notifications: [note(5), note(3, true)], unread: 1, has_more: true };
    const copy = structuredClone(start);
    const after = applyEvent(start, "notifications.read", { all: true, up_to: 4, unread: 0 });
    assert.deepEqual(start, copy);
    assert.equal(after.has_more, true);
    assert.equal(after.notifications[0], start.notifications[0], "unchanged items are kept");
    assert.equal(applyEvent(start, "room.read", { unread: 9 }), start);
  });

  test("a room's rename renames it in the inbox and leaves the count", () => {
    let held = RENAMES.start;
    RENAMES.steps.forEach(([kind, data, expected, unread], index) => {
      const before = held;
      held = applyEvent(held, kind, data);
      assert.equal(rooms(held), expected, `step ${index + 1} (${kind})`);
      assert.equal(held.unread, unread, `step ${index + 1} (${kind}): unread`);
      assert.notEqual(held, before);
    });
    const renamed = applyEvent(RENAMES.start, ...RENAMES.steps[0].slice(0, 2));
    assert.equal(renamed.notifications[1], RENAMES.start.notifications[1], "others are kept");
  });

  test("a notification's fields travel with it", () => {
    const after = applyEvent({ notifications: [], unread: 0 }, "notification.new", {
      notification: note(3, false, "announcement"),
      unread: 1,
    });
    assert.deepEqual(after.notifications, [note(3, false, "announcement")]);
  });
});

// --- the Inbox store -------------------------------------------------------------------

class FakeTab {
  constructor() {
    this.handlers = new Map();
  }

  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return () => this.handlers.get(type).delete(fn);
  }

  receive(frame) {
    for (const fn of this.handlers.get(frame.type) ?? []) fn(frame);
  }
}

/** An Api stand-in: answers are queued per method; calls are recorded. */
class FakeApi {
  constructor() {
    this.calls = [];
    this.pending = [];
  }

  get(url) {
    return this.request("GET", url);
  }

  post(url, body) {
    return this.request("POST", url, body);
  }

  request(method, url, body) {
    this.calls.push({ method, url, body });
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  /** Answer the oldest request still waiting. */
  answer(data) {
    this.pending.shift().resolve(data);
  }

  fail(error) {
    this.pending.shift().reject(error);
  }
}

const hello = (notifications, unread, hasMore = false) => ({
  type: "hello",
  protocol: 2,
  inbox: { notifications, has_more: hasMore, unread },
});

function followedInbox() {
  const tab = new FakeTab();
  const inbox = new Inbox();
  const stop = inbox.listen(tab);
  const changes = [];
  inbox.onChange((change) => changes.push(change.kind));
  return { tab, inbox, stop, changes };
}

describe("Inbox", () => {
  test("starts empty and takes hello's snapshot", () => {
    const { tab, inbox, changes } = followedInbox();
    assert.equal(inbox.loaded, false);
    assert.equal(inbox.unreadCount(), 0);
    tab.receive(hello([note(2), note(4, true)], 1, true));
    assert.equal(inbox.loaded, true);
    assert.equal(shape(inbox), "4r 2");
    assert.equal(inbox.unreadCount(), 1);
    assert.equal(inbox.hasMore(), true);
    assert.deepEqual(changes, ["reset"]);
  });

  test("every hello replaces everything (a reconnect)", () => {
    const { tab, inbox } = followedInbox();
    tab.receive(hello([note(3), note(2)], 2));
    tab.receive({ type: "notification.new", notification: note(4), unread: 3 });
    tab.receive(hello([note(5), note(4, true)], 1));
    assert.deepEqual(inbox.list().map((item) => item.id), [5, 4]);
    assert.equal(inbox.unreadCount(), 1);
    assert.equal(inbox.hasMore(), false);
  });

  test("applies the events of the tab as the reference does, step by step", () => {
    for (const sequence of SEQUENCES) {
      const { tab, inbox } = followedInbox();
      tab.receive(hello(sequence.start.notifications, sequence.start.unread));
      for (const [kind, data, expected, unread] of sequence.steps) {
        tab.receive({ type: kind, ...data });
        assert.equal(shape(inbox), expected, `${sequence.name}: ${kind}`);
        assert.equal(inbox.unreadCount(), unread);
      }
    }
  });

  test("tells its listeners what changed; unknown kinds change nothing", () => {
    const { tab, inbox, changes } = followedInbox();
    const seen = [];
    const stop = inbox.onChange((change) => seen.push(change));
    tab.receive(hello([], 0));
    tab.receive({ type: "notification.new", notification: note(1), unread: 1 });
    inbox.apply("something.else", { unread: 5 });
    tab.receive({ type: "notifications.read", ids: [1], unread: 0 });
    assert.deepEqual(changes, ["reset", "notification.new", "notifications.read"]);
    assert.deepEqual(seen[2].data, { type: "notifications.read", ids: [1], unread: 0 });
    stop();
    tab.receive({ type: "notification.removed", ids: [1], unread: 0 });
    assert.equal(seen.length, 3);
    assert.equal(inbox.unreadCount(), 0);
  });

  test("renames rooms from the tab's room events; another room's tells no one", () => {
    const { tab, inbox, changes } = followedInbox();
    tab.receive(hello(RENAMES.start.notifications, RENAMES.start.unread));
    for (const [kind, data, expected, unread] of RENAMES.steps) {
      tab.receive({ type: kind, ...data });
      assert.equal(rooms(inbox), expected, kind);
      assert.equal(inbox.unreadCount(), unread);
    }
    assert.deepEqual(changes, [
      "reset",
      "room.updated",
      "rooms.updated",
      "notifications.read",
      "room.updated",
    ]);
    tab.receive({ type: "room.updated", room: { slug: "general", topic: "no name here" } });
    assert.equal(rooms(inbox), "3:General 2:Off topic 1:-");
  });

  test("stops following the tab when asked", () => {
    const { tab, inbox, stop } = followedInbox();
    tab.receive(hello([note(1)], 1));
    stop();
    tab.receive({ type: "notifications.read", ids: [1], unread: 0 });
    tab.receive(hello([], 0));
    assert.equal(inbox.unreadCount(), 1);
  });

  test("newestUnread finds the newest unread of a kind", () => {
    const { tab, inbox } = followedInbox();
    const announcement = (id, read) => note(id, read, "announcement");
    tab.receive(hello([note(9), announcement(8, true), announcement(6), announcement(5)], 3));
    assert.equal(inbox.newestUnread("announcement").id, 6);
    tab.receive({ type: "notifications.read", ids: [6, 5], unread: 1 });
    assert.equal(inbox.newestUnread("announcement"), undefined);
  });
});

describe("Inbox: talking to the server", () => {
  test("loadOlder asks for the page before the oldest held and adds it", async () => {
    const { tab, inbox, changes } = followedInbox();
    const api = new FakeApi();
    tab.receive(hello([note(9), note(8)], 2, true));
    const loading = inbox.loadOlder(api);
    assert.equal(inbox.loadOlder(api), loading, "one request at a time");
    assert.deepEqual(api.calls, [
      { method: "GET", url: "/api/notifications/?before=8", body: undefined },
    ]);
    api.answer({ notifications: [note(8), note(4), note(2, true)], has_more: false, unread: 7 });
    assert.deepEqual((await loading).map((item) => item.id), [4, 2]);
    assert.deepEqual(inbox.list().map((item) => item.id), [9, 8, 4, 2]);
    assert.equal(inbox.hasMore(), false);
    assert.equal(inbox.unreadCount(), 2, "the count stays the events'");
    assert.deepEqual(changes, ["reset", "older"]);
  });

  test("a page asked for before a reconnect's hello is dropped", async () => {
    const { tab, inbox } = followedInbox();
    const api = new FakeApi();
    tab.receive(hello([note(9)], 1, true));
    const loading = inbox.loadOlder(api);
    tab.receive(hello([note(30), note(29)], 2, true));
    api.answer({ notifications: [note(5)], has_more: false, unread: 2 });
    assert.deepEqual(await loading, []);
    assert.deepEqual(inbox.list().map((item) => item.id), [30, 29]);
    assert.equal(inbox.hasMore(), true);
  });

  test("markRead posts the ids; the answer's count shows before the event", async () => {
    const { tab, inbox, changes } = followedInbox();
    const api = new FakeApi();
    tab.receive(hello([note(2), note(1)], 2));
    const marking = inbox.markRead(api, [2]);
    assert.deepEqual(api.calls, [
      { method: "POST", url: "/api/notifications/read/", body: { ids: [2] } },
    ]);
    api.answer({ unread: 1 });
    assert.deepEqual(await marking, { unread: 1 });
    assert.equal(inbox.unreadCount(), 1);
    assert.equal(inbox.get(2).read, false, "the list waits for the event");
    tab.receive({ type: "notifications.read", ids: [2], unread: 1 });
    assert.equal(inbox.get(2).read, true);
    assert.deepEqual(changes, ["reset", "unread", "notifications.read"]);
  });

  test("an answer older than an event that came meanwhile leaves the count alone", async () => {
    const { tab, inbox } = followedInbox();
    const api = new FakeApi();
    tab.receive(hello([note(1)], 1));
    const marking = inbox.markAllRead(api);
    assert.deepEqual(api.calls[0].body, { all: true });
    tab.receive({ type: "notifications.read", all: true, up_to: 1, unread: 0 });
    tab.receive({ type: "notification.new", notification: note(2), unread: 1 });
    api.answer({ unread: 0 });
    await marking;
    assert.equal(inbox.unreadCount(), 1);
    assert.equal(shape(inbox), "2 1r");
  });

  test("a failed request rejects and changes nothing", async () => {
    const { tab, inbox } = followedInbox();
    const api = new FakeApi();
    tab.receive(hello([note(1)], 1));
    const marking = inbox.markRead(api, [1]);
    api.fail(new Error("network"));
    await assert.rejects(marking, /network/);
    assert.equal(inbox.unreadCount(), 1);
    const older = inbox.loadOlder(api);
    api.fail(new Error("network"));
    await assert.rejects(older, /network/);
    const again = inbox.loadOlder(api);
    assert.notEqual(again, older, "a failed load can be tried again");
    api.answer({ notifications: [], has_more: false, unread: 1 });
    await again;
  });
});

describe("how a notification reads", () => {
  const urls = { roomUrl: (slug) => `/rooms/${slug}/`, inboxUrl: "/notifications/" };

  test("links to the message, else the room, else the inbox", () => {
    assert.equal(notificationLink(note(1), urls), "/rooms/general/#message-101");
    assert.equal(notificationLink({ ...note(1), message: null }, urls), "/rooms/general/");
    const everyone = { ...note(1, false, "announcement"), room: null, message: null };
    assert.equal(notificationLink(everyone, urls), "/notifications/");
  });

  test("times ago", () => {
    const now = Date.parse("2026-03-10T12:00:00Z");
    const at = (ms) => new Date(now - ms).toISOString();
    assert.equal(timeAgo(at(30_000), now), "just now");
    assert.equal(timeAgo(at(-5_000), now), "just now", "a clock a little ahead");
    assert.equal(timeAgo(at(5 * 60_000), now), "5 min ago");
    assert.equal(timeAgo(at(3 * 3_600_000), now), "3 h ago");
    assert.equal(timeAgo(at(2 * 86_400_000), now), "2 d ago");
    assert.match(timeAgo("2026-01-04T12:00:00Z", now), /4/);
    assert.equal(timeAgo("not a time", now), "");
  });

  test("the badge: nothing at 0, 99+ above 99", () => {
    assert.equal(badgeText(0), "");
    assert.equal(badgeText(1), "1");
    assert.equal(badgeText(99), "99");
    assert.equal(badgeText(100), "99+");
    assert.equal(badgeText(undefined), "");
  });
});

test("the inbox names a room, or a conversation as such", async () => {
  const { roomLabel } = await import("../chat/inbox.js");
  assert.equal(roomLabel({ slug: "general", name: "General", kind: "room" }), "#General");
  assert.equal(roomLabel({ slug: "dm-1", name: "dm-1", kind: "direct" }), "Direct message");
  assert.equal(roomLabel(null), "");
});
