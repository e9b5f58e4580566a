// The page's reactions to frames, with the real stores and socket and recording views.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { Members } from "../chat/members.js";
import { Outbox } from "../chat/outbox.js";
import { RoomClient } from "../chat/room_client.js";
import { RoomSocket } from "../chat/socket.js";
import { syncFrame } from "../chat/protocol.js";
import { GapWatcher, SYNC_RETRY_MS, Timeline } from "../chat/store.js";
import { FakeTimers, FakeWebSocket, MemoryStorage } from "./fakes.js";

const ME = { id: 7, username: "bob", staff: false };
const NOW = Date.parse("2026-03-01T12:00:00Z");

function setup({ savingEdit = false } = {}) {
  FakeWebSocket.made = [];
  const timers = new FakeTimers(NOW);
  const calls = []; // [view, method, ...args] from every fake view
  const record = (name, methods = {}) =>
    new Proxy(methods, {
      get: (target, key) =>
        key in target
          ? target[key]
          : (...args) => {
              calls.push([name, key, ...args]);
            },
    });

  const timeline = new Timeline({ rev: 0 });
  const members = new Members({ me: ME });
  const composerState = { muted: null, closed: null, archived: false };
  const status = { notice: null, sticky: false, state: null, closed: null };
  let client;
  const socket = new RoomSocket({
    url: () => `ws://test/?since=${timeline.rev}`,
    onFrame: (frame) => client.handle(frame),
    onDown: () => client.down(),
    onStop: (code, verdict) => client.stopped(code, verdict),
    WebSocketImpl: FakeWebSocket,
    timers,
    random: () => 0,
  });
  const send = (frame) => socket.send(frame);
  const outbox = new Outbox({
    slug: "general",
    send,
    storage: new MemoryStorage(),
    timers,
    now: timers.now,
  });
  const view = record("view", {
    followingBottom: (change) => ({ result: change(), wasAtBottom: true }),
    apply: (msg) => {
      outbox.settle(msg, ME.id);
      return timeline.apply(msg);
    },
    isAtBottom: () => true,
    hasSavingEdit: () => savingEdit,
  });
  const composer = record("composer", {
    setMuted: (text) => (composerState.muted = text),
    close: (text) => (composerState.closed = text),
    setArchived: (archived) => (composerState.archived = archived),
    update: () => {},
  });
  const statusView = record("status", {
    showNotice: (text, { sticky = false } = {}) => Object.assign(status, { notice: text, sticky }),
    setConnState: (name) => (status.state = name),
    markClosed: (reason) => (status.closed = reason),
  });
  const membersView = record("members");
  client = new RoomClient({
    me: ME,
    limits: { bodyMax: 4000, frameMax: 16384 },
    timeline,
    gaps: new GapWatcher({ timeline, timers, requestSync: (since) => send(syncFrame(since)) }),
    members,
    socket,
    outbox,
    view,
    composer,
    typing: record("typing"),
    rooms: record("rooms"),
    membersView,
    status: statusView,
    goToLogin: () => calls.push(["page", "login"]),
    formatUntil: (iso) => `at ${iso.slice(11, 16)}`,
    timers,
    now: timers.now,
  });

  const ws = () => FakeWebSocket.made.at(-1);
  const receive = (frame) => ws().receive(frame);
  const hello = (me = {}) => {
    ws().open();
    receive({
      type: "hello",
      protocol: 1,
      room: { slug: "general", name: "General", topic: "", private: false, archived: false },
      me: { ...ME, role: "member", muted: false, muted_until: null, ...me },
      online: ["bob"],
      rev: 0,
    });
  };
  socket.connect();
  const called = (name, method) => calls.filter(([n, m]) => n === name && m === method);
  // The `since` of every sync frame the page sent, over every socket.
  const syncsSent = () =>
    FakeWebSocket.made.flatMap((made) =>
      made.sent.filter((frame) => frame.type === "sync").map((frame) => frame.since),
    );
  return {
    timers,
    client,
    outbox,
    members,
    composerState,
    status,
    ws,
    receive,
    hello,
    called,
    syncsSent,
  };
}

describe("room.closed", () => {
  for (const [reason, outboxText] of [
    ["banned", "you were banned"],
    ["removed", "you were removed"],
    ["private", "you no longer have access"],
    ["deleted", "the room was deleted"],
  ]) {
    test(`${reason}: the detail stays, the composer closes, the outbox fails, no reconnect`, () => {
      const { timers, outbox, composerState, status, ws, receive, hello } = setup();
      hello();
      const waiting = outbox.queue("sent but never acknowledged");
      outbox.onError(outbox.queue("held"), { code: "server_error" });
      const detail = `Because: ${reason}.`;

      receive({ type: "room.closed", reason, detail });
      ws().serverClose(reason === "deleted" ? 4404 : 4403);

      assert.equal(status.notice, detail);
      assert.equal(status.sticky, true);
      assert.equal(status.state, "closed");
      assert.equal(status.closed, reason);
      assert.equal(composerState.closed, detail);
      for (const entry of outbox.values()) {
        assert.equal(entry.failed, true);
        assert.equal(entry.detail, outboxText);
      }
      assert.equal(waiting.failed, true);
      const sockets = FakeWebSocket.made.length;
      timers.advance(120_000);
      assert.equal(FakeWebSocket.made.length, sockets);
      assert.equal(timers.count, 0); // nothing left to retry
    });
  }

  test("a lost close frame after room.closed still never reconnects", () => {
    const { timers, ws, receive, hello } = setup();
    hello();
    receive({ type: "room.closed", reason: "banned", detail: "You were banned from General." });
    ws().serverClose(1006);
    timers.advance(120_000);
    assert.equal(FakeWebSocket.made.length, 1);
  });

  test("without a detail, a plain sentence", () => {
    const { status, receive, hello } = setup();
    hello();
    receive({ type: "room.closed", reason: "deleted" });
    assert.equal(status.notice, "This room no longer exists.");
  });
});

describe("a final close without room.closed", () => {
  test("4403: no access any more", () => {
    const { timers, outbox, composerState, status, ws, hello } = setup();
    hello();
    const entry = outbox.queue("x");
    ws().serverClose(4403);
    assert.equal(status.notice, "You no longer have access to this room.");
    assert.equal(status.closed, "forbidden");
    assert.equal(composerState.closed, "You no longer have access to this room.");
    assert.equal(entry.detail, "you no longer have access");
    timers.advance(120_000);
    assert.equal(FakeWebSocket.made.length, 1);
  });

  test("4404: the room no longer exists", () => {
    const { outbox, status, ws, hello } = setup();
    hello();
    const entry = outbox.queue("x");
    ws().serverClose(4404);
    assert.equal(status.notice, "This room no longer exists.");
    assert.equal(status.closed, "gone");
    assert.equal(entry.detail, "the room no longer exists");
  });

  test("4429 stops but keeps the outbox for a reload", () => {
    const { outbox, status, ws, hello } = setup();
    hello();
    const entry = outbox.queue("x");
    ws().serverClose(4429);
    assert.equal(status.state, "offline");
    assert.equal(status.closed, null);
    assert.equal(entry.failed, false);
  });
});

describe("mutes", () => {
  test("an error 'muted' fails the send, says until when, and closes the composer", () => {
    const { outbox, composerState, status, receive, hello } = setup();
    hello();
    const entry = outbox.queue("hello?");
    receive({
      type: "error",
      code: "muted",
      detail: "You are muted.",
      client_id: entry.clientId,
      until: "2026-03-01T14:05:00Z",
    });
    assert.equal(entry.failed, true);
    assert.equal(entry.detail, "You are muted in this room (until at 14:05).");
    assert.equal(status.notice, "You are muted in this room (until at 14:05).");
    assert.equal(composerState.muted, "You are muted until at 14:05.");
  });

  test("a refused edit ('muted', no client_id) is no longer shown as saving", () => {
    const { composerState, receive, hello, called } = setup();
    hello();
    receive({ type: "error", code: "muted", detail: "You are muted.", until: null });
    assert.equal(called("view", "clearSaving").length, 1);
    assert.equal(composerState.muted, "You are muted in this room.");
  });

  test("member.updated about me mutes and unmutes the composer live", () => {
    const { composerState, receive, hello } = setup();
    hello();
    const bob = { user: { id: ME.id, username: "bob" }, role: "member" };
    receive({ type: "member.updated", member: { ...bob, muted: true, muted_until: null } });
    assert.equal(composerState.muted, "You are muted in this room.");
    receive({ type: "member.updated", member: { ...bob, muted: false, muted_until: null } });
    assert.equal(composerState.muted, null);
  });

  test("a mute with an end lifts itself when the time comes", () => {
    const { timers, composerState, hello } = setup();
    hello({ muted: true, muted_until: new Date(NOW + 10 * 60_000).toISOString() });
    assert.equal(composerState.muted, "You are muted until at 12:10.");
    timers.advance(10 * 60_000 - 1000);
    assert.notEqual(composerState.muted, null);
    timers.advance(2000);
    assert.equal(composerState.muted, null);
  });

  test("someone else's update leaves my composer alone", () => {
    const { composerState, receive, hello, called } = setup();
    hello();
    receive({
      type: "member.updated",
      member: { user: { id: 99, username: "amy" }, role: "member", muted: true, muted_until: null },
    });
    assert.equal(composerState.muted, null);
    assert.ok(called("members", "render").length > 0);
  });
});

describe("rights and the member list", () => {
  test("made a moderator: the messages are redrawn with their delete action", () => {
    const { members, receive, hello, called } = setup();
    hello();
    members.load({ members: [{ user: { id: ME.id, username: "bob" }, role: "member" }] });
    const refreshes = called("members", "refresh").length;
    assert.equal(called("view", "redrawActions").length, 0);
    receive({
      type: "member.updated",
      member: { user: { id: ME.id, username: "bob" }, role: "moderator", muted: false },
    });
    assert.equal(members.me.can_moderate, true);
    assert.equal(called("view", "redrawActions").length, 1);
    // The list again, now with those banned.
    assert.equal(called("members", "refresh").length, refreshes + 1);
  });

  test("hello from a server with roles loads the member list; an older one does not", () => {
    const modern = setup();
    modern.hello();
    assert.equal(modern.called("members", "refresh").length, 1);

    const older = setup();
    older.ws().open();
    older.receive({ type: "hello", me: { ...ME }, online: ["bob"], rev: 0 });
    assert.equal(older.called("members", "refresh").length, 0);
  });

  test("a new author (a reader's first message) reloads the list, once", () => {
    const { members, receive, hello, called } = setup();
    hello();
    members.load({ members: [{ user: { id: ME.id, username: "bob" }, role: "member" }] });
    const before = called("members", "refresh").length;
    receive({ type: "presence", user: "zed", status: "online", online: ["bob", "zed"] });
    assert.equal(called("members", "refresh").length, before);
    const byZed = (id, rev) => ({
      type: "message.new",
      message: { id, rev, author: { id: 9, username: "zed" }, body: "hi", created_at: "" },
    });
    receive(byZed(1, 1));
    receive(byZed(2, 2));
    assert.equal(called("members", "refresh").length, before + 1);
    receive({
      type: "message.new",
      message: { id: 3, rev: 3, author: { id: ME.id, username: "bob" }, body: "", created_at: "" },
    });
    assert.equal(called("members", "refresh").length, before + 1);
  });

  test("rooms.updated and rooms.removed go to the sidebar", () => {
    const { receive, hello, called } = setup();
    hello();
    const room = { slug: "other", name: "Renamed", topic: "", private: true, archived: false };
    receive({ type: "rooms.updated", room });
    receive({ type: "rooms.removed", room: { slug: "other" } });
    assert.deepEqual(called("rooms", "updateSidebar").at(-1), ["rooms", "updateSidebar", room]);
    assert.deepEqual(called("rooms", "removeFromSidebar").at(-1), [
      "rooms",
      "removeFromSidebar",
      { slug: "other" },
    ]);
  });

  test("frames of unknown types are ignored", () => {
    const { client } = setup();
    client.handle({ type: "something.new" });
    client.handle({ type: "constructor" });
    client.handle({ type: "__proto__" });
  });
});

const byAmy = (id, rev) => ({
  id,
  rev,
  room: "general",
  author: { id: 99, username: "amy" },
  body: `message ${id}`,
  created_at: "2026-03-01T11:00:00.000000Z",
  edited_at: null,
  deleted: false,
  client_id: null,
});
const SYNC_REFUSED = {
  type: "error",
  code: "rate_limited",
  detail: "Too many sync and history requests.",
};

describe("a sync request refused with rate_limited (docs/protocol.md, Limits)", () => {
  test("waits retry_after, then asks again from R, without telling the reader", () => {
    const { timers, status, receive, hello, syncsSent, called } = setup();
    hello();
    receive({ type: "sync", messages: [byAmy(1, 1)], rev: 1, complete: false });
    assert.deepEqual(syncsSent(), [1]);
    receive({ ...SYNC_REFUSED, retry_after: 0.4 });
    timers.advance(399);
    assert.deepEqual(syncsSent(), [1]);
    timers.advance(1);
    assert.deepEqual(syncsSent(), [1, 1]);
    // Not the reader's doing, and no edit of theirs was refused.
    assert.equal(status.notice, null);
    assert.equal(called("view", "clearSaving").length, 0);
    receive({ type: "sync", messages: [byAmy(2, 2)], rev: 2, complete: true });
    timers.advance(60_000);
    assert.deepEqual(syncsSent(), [1, 1]);
  });

  test("a retry_after longer than the watchdog's wait is waited out, not asked into", () => {
    const { timers, receive, hello, syncsSent } = setup();
    hello();
    receive({ type: "sync", messages: [byAmy(1, 1)], rev: 1, complete: false });
    receive({ ...SYNC_REFUSED, retry_after: 12.5 });
    timers.advance(12_499);
    assert.deepEqual(syncsSent(), [1], "asked again before retry_after had passed");
    timers.advance(1);
    assert.deepEqual(syncsSent(), [1, 1]);
  });

  test("refused again: waits again, each time as long as told", () => {
    const { timers, receive, hello, syncsSent } = setup();
    hello();
    receive({ type: "sync", messages: [byAmy(1, 1)], rev: 1, complete: false });
    receive({ ...SYNC_REFUSED, retry_after: 1 });
    timers.advance(1000);
    receive({ ...SYNC_REFUSED, retry_after: 2 });
    timers.advance(1999);
    assert.deepEqual(syncsSent(), [1, 1]);
    timers.advance(1);
    assert.deepEqual(syncsSent(), [1, 1, 1]);
  });

  test("with an edit saving too, it may be the edit's: say so, and still ask again", () => {
    const { timers, status, receive, hello, syncsSent, called } = setup({ savingEdit: true });
    hello();
    receive({ type: "sync", messages: [byAmy(1, 1)], rev: 1, complete: false });
    receive({ ...SYNC_REFUSED, retry_after: 0.2 });
    assert.equal(status.notice, SYNC_REFUSED.detail);
    assert.equal(called("view", "clearSaving").length, 1);
    timers.advance(200);
    assert.deepEqual(syncsSent(), [1, 1]);
  });

  test("a rate_limited edit (no sync waiting) is still the reader's to know", () => {
    const { status, receive, hello, called } = setup();
    hello();
    receive({ type: "error", code: "rate_limited", detail: "Too fast.", retry_after: 1 });
    assert.equal(status.notice, "Too fast.");
    assert.equal(called("view", "clearSaving").length, 1);
  });
});

describe("nothing keeps running once the page has stopped for good", () => {
  test("room.closed while a hole in the revisions was being waited for", () => {
    const { timers, receive, hello, syncsSent } = setup();
    hello();
    receive({ type: "message.new", message: byAmy(3, 3) }); // 1 and 2 missing
    receive({ type: "room.closed", reason: "banned", detail: "You were banned." });
    timers.advance(120_000);
    assert.deepEqual(syncsSent(), []);
    assert.equal(timers.count, 0, "a timer still runs after the room was lost");
  });

  test("a final close (4429) while a sync was unanswered", () => {
    const { timers, receive, hello, ws } = setup();
    hello();
    receive({ type: "message.new", message: byAmy(3, 3) });
    timers.advance(1000); // the sync request goes out
    ws().serverClose(4429);
    timers.advance(SYNC_RETRY_MS * 20);
    assert.equal(timers.count, 0, "a timer still runs after the socket stopped for good");
  });
});

describe("an edit unanswered when the socket drops", () => {
  test("is not left 'saving' for ever: nothing resends edits, so the reader is told", () => {
    const { status, ws, hello, called } = setup({ savingEdit: true });
    hello();
    ws().serverClose(1006);
    assert.equal(called("view", "clearSaving").length, 1);
    assert.match(status.notice ?? "", /edit/i);
  });

  test("without one, a dropped socket says nothing of edits", () => {
    const { status, ws, hello, called } = setup();
    hello();
    ws().serverClose(1006);
    assert.equal(called("view", "clearSaving").length, 0);
    assert.equal(status.notice, null);
  });
});
