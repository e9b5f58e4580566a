// The tab's room states: the port of chat/snapshot.py, and the Tab's routing of frames.

import assert from "node:assert/strict";
import { test } from "node:test";

import { applyFrame, frameSlug, RoomStates } from "../chat/room_states.js";
import { Tab } from "../chat/tab.js";
import { titleText } from "../chat/title.js";
import { countText, badgeLabel } from "../chat/sidebar_ui.js";
import { seenRev } from "../chat/read_marker.js";

const ME = 2;

function room(slug, extra = {}) {
  return {
    slug, name: slug, rev: 10, last_read_rev: 10, unread: 0, mentions: 0,
    unread_mentions: [], role: "member", notify: { level: "mentions", muted: false }, ...extra,
  };
}

function message(id, rev, { author = 1, created = rev, mentions = [], all = null, room: slug = "general", deleted = false } = {}) {
  return {
    id, rev, room: slug, author: { id: author, username: `u${author}` }, body: "x",
    created_rev: created, mentions, mention_all: all, deleted,
  };
}

const newFrame = (msg) => ({ type: "message.new", room: msg.room, message: msg });

test("a message from someone else counts once, mentions apart, mine never", () => {
  let rooms = { general: room("general") };
  rooms = applyFrame(rooms, newFrame(message(1, 11)), ME);
  rooms = applyFrame(rooms, newFrame(message(2, 12, { mentions: [ME] })), ME);
  rooms = applyFrame(rooms, newFrame(message(3, 13, { author: ME })), ME);
  rooms = applyFrame(rooms, newFrame(message(2, 12, { mentions: [ME] })), ME); // a repeat
  assert.deepEqual(
    [rooms.general.rev, rooms.general.unread, rooms.general.mentions, rooms.general.unread_mentions],
    [13, 2, 1, [2]],
  );
});

test("edits add and drop mentions; deletes take a message out of both counts", () => {
  let rooms = { general: room("general") };
  rooms = applyFrame(rooms, newFrame(message(1, 11)), ME);
  const edited = { type: "message.updated", message: message(1, 12, { created: 11, mentions: [ME] }) };
  rooms = applyFrame(rooms, edited, ME);
  assert.deepEqual([rooms.general.unread, rooms.general.mentions], [1, 1]);
  const dropped = { type: "message.updated", message: message(1, 13, { created: 11 }) };
  rooms = applyFrame(rooms, dropped, ME);
  assert.deepEqual([rooms.general.unread, rooms.general.mentions], [1, 0]);
  const deleted = { type: "message.deleted", message: message(1, 14, { created: 11, deleted: true }) };
  rooms = applyFrame(rooms, deleted, ME);
  assert.deepEqual([rooms.general.unread, rooms.general.mentions, rooms.general.rev], [0, 0, 14]);
});

test("@room counts as a mention; a message before the marker never counts", () => {
  let rooms = { general: room("general", { last_read_rev: 20, rev: 20 }) };
  rooms = applyFrame(rooms, newFrame(message(5, 21, { all: "room" })), ME);
  assert.equal(rooms.general.mentions, 1);
  const old = { type: "message.updated", message: message(1, 22, { created: 3, mentions: [ME] }) };
  rooms = applyFrame(rooms, old, ME);
  assert.deepEqual([rooms.general.unread, rooms.general.mentions], [1, 1]);
});

test("room.read takes the server's counts, or marks the room stale when they are older", () => {
  let rooms = { general: room("general", { unread: 3, rev: 15 }) };
  const read = { slug: "general", rev: 15, last_read_rev: 15, unread: 0, mentions: 0, unread_mentions: [] };
  rooms = applyFrame(rooms, { type: "room.read", room: read }, ME);
  assert.deepEqual([rooms.general.unread, rooms.general.last_read_rev, rooms.general.stale], [0, 15, undefined]);
  rooms = applyFrame(rooms, newFrame(message(9, 16)), ME);
  const older = { ...read, rev: 15, last_read_rev: 15, unread: 0 };
  rooms = applyFrame(rooms, { type: "room.read", room: older }, ME);
  assert.equal(rooms.general.stale, true);
});

test("rooms come and go: joined, closed, removed, banned; role and settings follow", () => {
  let rooms = { general: room("general") };
  rooms = applyFrame(rooms, { type: "room.joined", room: room("random") }, ME);
  assert.deepEqual(Object.keys(rooms).sort(), ["general", "random"]);
  rooms = applyFrame(rooms, { type: "member.updated", room: "random", member: { user: { id: ME }, role: "moderator" } }, ME);
  assert.equal(rooms.random.role, "moderator");
  const notify = { level: "all", muted: true, custom: true };
  rooms = applyFrame(rooms, { type: "preferences.updated", rooms: [{ slug: "random", notify }] }, ME);
  assert.deepEqual(rooms.random.notify, notify);
  rooms = applyFrame(rooms, { type: "room.updated", room: { slug: "random", name: "Random!", private: true } }, ME);
  assert.deepEqual([rooms.random.name, rooms.random.private], ["Random!", true]);
  rooms = applyFrame(rooms, { type: "room.closed", room: "random", reason: "banned" }, ME);
  rooms = applyFrame(rooms, { type: "member.removed", room: "general", user: { id: ME }, reason: "removed" }, ME);
  assert.deepEqual(rooms, {});
});

test("applyFrame leaves its input alone and passes unknown frames by", () => {
  const rooms = { general: room("general") };
  const copy = structuredClone(rooms);
  applyFrame(rooms, newFrame(message(1, 11)), ME);
  assert.deepEqual(rooms, copy);
  assert.equal(applyFrame(rooms, { type: "typing" }, ME), rooms);
});

test("the title's total leaves muted rooms out", () => {
  const states = new RoomStates({ me: { id: ME } });
  states.reset([room("a", { unread: 2 }), room("b", { unread: 5, notify: { level: "all", muted: true } })]);
  assert.equal(states.totalUnread(), 2);
  assert.equal(titleText(2, "#a"), "(2) #a");
  assert.equal(titleText(0, "#a"), "#a");
  assert.equal(titleText(1500, "#a"), "(999+) #a");
});

test("badges: 99+ past 99, words for screen readers", () => {
  assert.deepEqual([countText(0), countText(7), countText(100)], ["", "7", "99+"]);
  assert.equal(badgeLabel({ unread: 3, mentions: 1 }), "3 unread, 1 mentioning you");
});

test("what was seen: all at the bottom, else the newest message on screen", () => {
  assert.equal(seenRev({ atBottom: true, timelineRev: 40, onScreen: [] }), 40);
  assert.equal(seenRev({ atBottom: false, timelineRev: 40, onScreen: [30, 33, 31] }), 33);
  assert.equal(seenRev({ atBottom: false, timelineRev: 40, onScreen: [] }), null);
});

test("frameSlug finds the room of every kind of frame", () => {
  assert.equal(frameSlug({ room: "a" }), "a");
  assert.equal(frameSlug({ room: { slug: "b" } }), "b");
  assert.equal(frameSlug({ message: { room: "c" } }), "c");
  assert.equal(frameSlug({ type: "notification.new" }), null);
});

// --- the Tab -------------------------------------------------------------------------

class FakeSocket {
  constructor(handlers) {
    this.handlers = handlers;
    this.sent = [];
    this.live = false;
  }
  connect() {}
  markLive() { this.live = true; }
  send(frame) {
    if (!this.live) return false;
    this.sent.push(frame);
    return true;
  }
}

function makeTab() {
  let socket;
  const tab = new Tab({
    me: { id: ME, username: "bob" },
    api: null,
    roomsUrl: "",
    makeSocket: (handlers) => (socket = new FakeSocket(handlers)),
    doc: { visibilityState: "visible", hasFocus: () => true },
  });
  return { tab, socket: () => socket };
}

function fakeClient() {
  const client = { frames: [], sidebar: [], downs: 0 };
  client.handle = (frame) => client.frames.push(frame);
  client.handleSidebar = (frame) => client.sidebar.push(frame);
  client.down = () => (client.downs += 1);
  return client;
}

test("after every hello the tab views its room again from the page's revision", () => {
  const { tab, socket } = makeTab();
  const client = fakeClient();
  let rev = 5;
  tab.view("general", { client, since: () => rev });
  tab.handle({ type: "hello", rooms: [room("general")] });
  assert.deepEqual(socket().sent, [{ type: "view", room: "general", since: 5 }]);
  rev = 9;
  tab.handle({ type: "hello", rooms: [room("general")] });
  assert.deepEqual(socket().sent.at(-1), { type: "view", room: "general", since: 9 });
  // view answers reach the room client as its hello.
  tab.handle({ type: "view", room: { slug: "general", name: "General" }, rev: 9 });
  assert.equal(client.frames.at(-1).type, "hello");
});

test("frames of the room in view reach its client; others only move the counts", () => {
  const { tab } = makeTab();
  const client = fakeClient();
  tab.view("general", { client, since: () => 0 });
  tab.handle({ type: "hello", rooms: [room("general"), room("random")] });
  tab.handle(newFrame(message(1, 11)));
  tab.handle(newFrame(message(2, 11, { room: "random" })));
  tab.handle({ type: "typing", room: "random", user: "x", active: true });
  tab.handle({ type: "rooms.updated", room: { slug: "lobby", name: "Lobby" } });
  assert.deepEqual(client.frames.map((f) => f.message?.id ?? f.type), [1]);
  assert.deepEqual(client.sidebar.map((f) => f.type), ["rooms.updated"]);
  assert.deepEqual([tab.rooms.get("general").unread, tab.rooms.get("random").unread], [1, 1]);
});

test("room commands name the room in view; none go out before hello or without a view", () => {
  const { tab, socket } = makeTab();
  assert.equal(tab.send({ type: "message.send", body: "x" }), false);
  tab.handle({ type: "hello", rooms: [room("general")] });
  assert.equal(tab.send({ type: "message.send", body: "x" }), false);
  tab.view("general", { client: fakeClient(), since: () => 0 });
  assert.equal(tab.send({ type: "message.send", body: "x", client_id: "c" }), true);
  assert.deepEqual(socket().sent.at(-1), { type: "message.send", body: "x", client_id: "c", room: "general" });
});

test("markRead moves only forward, for a room of mine", () => {
  const { tab, socket } = makeTab();
  tab.handle({ type: "hello", rooms: [room("general")] });
  assert.equal(tab.markRead("general", 10), false);
  assert.equal(tab.markRead("nowhere", 50), false);
  assert.equal(tab.markRead("general", 12), true);
  assert.deepEqual(socket().sent.at(-1), { type: "read", room: "general", rev: 12 });
});

test("a room lost while in view stops its client from hearing more", () => {
  const { tab } = makeTab();
  const client = fakeClient();
  tab.view("general", { client, since: () => 0 });
  tab.handle({ type: "hello", rooms: [room("general")] });
  tab.handle({ type: "room.closed", room: "general", reason: "banned" });
  assert.equal(client.frames.at(-1).type, "room.closed");
  tab.roomSocket().finish("room.closed");
  tab.handle(newFrame(message(3, 12)));
  assert.equal(client.frames.at(-1).type, "room.closed");
  assert.equal(tab.viewing, null);
});

test("a link names one message by its hash", async () => {
  const { messageIdFromHash } = await import("../chat/jump.js");
  assert.equal(messageIdFromHash("#message-981"), 981);
  for (const bad of ["", "#message-", "#message-0", "#message-12a", "#m-1", null]) {
    assert.equal(messageIdFromHash(bad), null);
  }
});

test("the room's setting selects its own level, or the default", async () => {
  const { selectedLevel } = await import("../chat/room_prefs_ui.js");
  assert.equal(selectedLevel({ level: "all", muted: false, custom: true }), "all");
  assert.equal(selectedLevel({ level: "mentions", muted: true, custom: false }), "default");
  assert.equal(selectedLevel(undefined), "default");
});

test("a hello too large for one frame brings its rooms in rooms frames", () => {
  const { tab } = makeTab();
  tab.handle({ type: "hello", rooms: [], rooms_complete: false });
  tab.handle({ type: "rooms", rooms: [room("a")], complete: false });
  tab.handle({ type: "rooms", rooms: [room("b", { unread: 2 })], complete: true });
  assert.deepEqual(tab.rooms.all().map((r) => r.slug), ["a", "b"]);
  assert.equal(tab.rooms.totalUnread(), 2);
});

test("a conversation follows its people's new display names; other rooms ignore them", () => {
  const bob = { id: 9, username: "bob", display_name: "" };
  let rooms = { "dm-1": { ...room("dm-1"), kind: "direct", members: [bob] }, general: room("general") };
  const renamed = { ...bob, display_name: "Bob B." };
  rooms = applyFrame(rooms, { type: "member.updated", room: "dm-1", member: { user: renamed, role: "member" } }, ME);
  rooms = applyFrame(rooms, { type: "member.updated", room: "general", member: { user: renamed, role: "member" } }, ME);
  assert.deepEqual(rooms["dm-1"].members, [renamed]);
  assert.equal(rooms["dm-1"].role, room("dm-1").role);
  assert.equal(rooms.general.members, undefined);
});
