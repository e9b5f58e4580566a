import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { Outbox, RETRY_CAP_MS, SERVER_ERROR_RETRY_MS } from "../chat/outbox.js";
import { FakeTimers, MemoryStorage } from "./fakes.js";

const ME = 7;

function setup({ live = true, storage = new MemoryStorage() } = {}) {
  const timers = new FakeTimers();
  const sent = [];
  const events = [];
  const socket = { live };
  let counter = 0;
  const outbox = new Outbox({
    slug: "general",
    send: (frame) => {
      if (!socket.live) return false;
      sent.push(frame);
      return true;
    },
    storage,
    timers,
    now: timers.now,
    makeClientId: () => `c-${++counter}`,
    onAdd: (entry) => events.push(["add", entry.clientId]),
    onChange: (entry) => events.push(["change", entry.clientId]),
    onRemove: (entry) => events.push(["remove", entry.clientId]),
  });
  const bodies = () => sent.map((frame) => frame.body);
  return { timers, sent, bodies, events, socket, outbox, storage };
}

const ack = (clientId, authorId = ME) => ({
  id: 1,
  rev: 1,
  author: { id: authorId, username: "me" },
  body: "x",
  client_id: clientId,
});

describe("Outbox: sending and acknowledging", () => {
  test("a queued message goes out at once with its client_id", () => {
    const { outbox, sent } = setup();
    const entry = outbox.queue("hello");
    assert.deepEqual(sent, [{ type: "message.send", client_id: entry.clientId, body: "hello" }]);
    assert.equal(entry.failed, false);
    assert.equal(entry.held, false);
  });

  test("message.new with my client_id settles the entry; someone else's does not", () => {
    const { outbox, events } = setup();
    const entry = outbox.queue("hello");
    assert.equal(outbox.settle(ack(entry.clientId, 99), ME), false);
    assert.equal(outbox.settle({ ...ack(entry.clientId), client_id: null }, ME), false);
    assert.equal(outbox.size, 1);
    assert.equal(outbox.settle(ack(entry.clientId), ME), true);
    assert.equal(outbox.size, 0);
    assert.deepEqual(events.at(-1), ["remove", entry.clientId]);
  });

  test("while the socket is down messages wait; hello resends all of them in order", () => {
    const { outbox, socket, bodies } = setup({ live: false });
    outbox.queue("one");
    outbox.queue("two");
    outbox.queue("three");
    assert.deepEqual(bodies(), []);
    socket.live = true;
    outbox.flush();
    assert.deepEqual(bodies(), ["one", "two", "three"]);
  });

  test("a resend after a lost acknowledgement carries the same client_id", () => {
    const { outbox, sent } = setup();
    outbox.queue("hello");
    outbox.flush(); // a reconnect before the ack came
    assert.equal(sent.length, 2);
    assert.equal(sent[0].client_id, sent[1].client_id);
  });
});

describe("Outbox: errors", () => {
  test("final errors fail the entry for good, with the server's words", () => {
    const { outbox, bodies } = setup();
    const entry = outbox.queue("hello");
    outbox.onError(entry, { code: "too_long", detail: "Too long." });
    assert.equal(entry.failed, true);
    assert.equal(entry.detail, "Too long.");
    outbox.flush();
    assert.deepEqual(bodies(), ["hello"]); // never resent
  });

  test("rate_limited holds everything for retry_after, then resends in order", () => {
    const { outbox, bodies, timers } = setup();
    const first = outbox.queue("one");
    outbox.onError(first, { code: "rate_limited", retry_after: 2.5 });
    assert.equal(first.held, true);
    const second = outbox.queue("two"); // written during the hold: waits too
    assert.equal(second.held, true);
    assert.deepEqual(bodies(), ["one"]);
    timers.advance(2499);
    assert.deepEqual(bodies(), ["one"]);
    timers.advance(1);
    assert.deepEqual(bodies(), ["one", "one", "two"]);
    assert.equal(first.failed, false);
  });

  test("a missing or silly retry_after still waits a little", () => {
    const { outbox, bodies, timers } = setup();
    const entry = outbox.queue("one");
    outbox.onError(entry, { code: "rate_limited", retry_after: "soon" });
    timers.advance(999);
    assert.deepEqual(bodies(), ["one"]);
    timers.advance(1);
    assert.deepEqual(bodies(), ["one", "one"]);
  });

  test("server_error retries with a growing wait, capped, reset by an acknowledgement", () => {
    const { outbox, bodies, timers } = setup();
    const entry = outbox.queue("one");
    let expected = 1;
    const waits = [1, 2, 4].map((factor) => SERVER_ERROR_RETRY_MS * factor);
    for (const wait of waits) {
      outbox.onError(entry, { code: "server_error", detail: "down" });
      timers.advance(wait - 1);
      assert.equal(bodies().length, expected);
      timers.advance(1);
      expected += 1;
      assert.equal(bodies().length, expected);
    }
    for (let i = 0; i < 10; i += 1) outbox.onError(entry, { code: "server_error" });
    assert.equal(outbox.holdUntil - timers.now(), RETRY_CAP_MS);
    outbox.settle(ack(entry.clientId), ME);
    assert.equal(outbox.serverErrors, 0);
  });

  test("an unknown error code is retried, not dropped", () => {
    const { outbox, timers, bodies } = setup();
    const entry = outbox.queue("one");
    outbox.onError(entry, { code: "new_in_version_2" });
    assert.equal(entry.failed, false);
    timers.advance(SERVER_ERROR_RETRY_MS);
    assert.deepEqual(bodies(), ["one", "one"]);
  });

  test("muted is final", () => {
    const { outbox } = setup();
    const entry = outbox.queue("one");
    outbox.onError(entry, { code: "muted", detail: "You are muted." });
    assert.equal(entry.failed, true);
  });
});

describe("Outbox: the room lost (room.closed, 4403, 4404)", () => {
  test("close fails everything waiting, held ones included, and nothing retries", () => {
    const { outbox, bodies, timers, socket } = setup();
    const held = outbox.queue("one");
    outbox.onError(held, { code: "server_error" });
    const sending = outbox.queue("two");
    const failed = outbox.queue("three");
    outbox.onError(failed, { code: "empty", detail: "The message is empty." });
    const sentBefore = bodies().length;

    outbox.close("you were removed");

    assert.equal(held.failed, true);
    assert.equal(held.held, false);
    assert.equal(held.detail, "you were removed");
    assert.equal(sending.failed, true);
    assert.equal(failed.detail, "The message is empty."); // already failed: its reason stays
    assert.equal(timers.count, 0);
    timers.advance(RETRY_CAP_MS * 2);
    socket.live = true;
    outbox.flush();
    assert.equal(bodies().length, sentBefore);
  });

  test("a message written after the room is lost fails at once", () => {
    const { outbox, bodies } = setup();
    outbox.close("you were banned");
    const late = outbox.queue("too late");
    assert.equal(late.failed, true);
    assert.equal(late.detail, "you were banned");
    assert.deepEqual(bodies(), []);
  });
});

describe("Outbox: surviving a reload", () => {
  test("entries are saved and restored, failed ones as failed", () => {
    const storage = new MemoryStorage();
    const before = setup({ storage });
    before.outbox.queue("one");
    const failed = before.outbox.queue("two");
    before.outbox.onError(failed, { code: "too_long", detail: "Too long." });

    const after = setup({ storage, live: false });
    after.outbox.restore(new Set());
    const entries = after.outbox.values();
    assert.deepEqual(
      entries.map((e) => [e.body, e.failed, e.detail]),
      [
        ["one", false, ""],
        ["two", true, "Too long."],
      ],
    );
  });

  test("what the server already shows is not restored", () => {
    const storage = new MemoryStorage();
    const before = setup({ storage });
    const stored = before.outbox.queue("one");
    before.outbox.queue("two");
    const after = setup({ storage });
    after.outbox.restore(new Set([stored.clientId]));
    assert.deepEqual(
      after.outbox.values().map((e) => e.body),
      ["two"],
    );
  });

  test("garbage in storage is ignored; an empty outbox leaves nothing behind", () => {
    const storage = new MemoryStorage();
    storage.setItem("rooms.outbox.v1.general", "{not json");
    const { outbox } = setup({ storage });
    outbox.restore(new Set());
    assert.equal(outbox.size, 0);
    const entry = outbox.queue("x");
    outbox.remove(entry);
    assert.equal(storage.getItem("rooms.outbox.v1.general"), null);
  });

  test("a storage that throws does not break sending", () => {
    const throwing = {
      getItem() {
        throw new Error("denied");
      },
      setItem() {
        throw new Error("full");
      },
      removeItem() {
        throw new Error("denied");
      },
    };
    const { outbox, bodies } = setup({ storage: throwing });
    outbox.restore(new Set());
    outbox.queue("still sent");
    assert.deepEqual(bodies(), ["still sent"]);
  });
});

describe("Outbox: files sent with a message", () => {
  const CAT = {
    id: 7,
    name: "cat.png",
    size: 48213,
    content_type: "image/png",
    url: "/files/7/cat.png",
    image: true,
    width: 1200,
    height: 800,
    thumbnail: { url: "/files/7/thumbnail/", width: 400, height: 267 },
  };
  const NOTES = { ...CAT, id: 8, name: "notes.txt", url: "/files/8/notes.txt", image: false };

  test("the ids go with the message, and every resend names the same ones", () => {
    const { outbox, sent } = setup();
    const entry = outbox.queue("look", null, [CAT, NOTES]);
    outbox.flush(); // a reconnect before the acknowledgement
    assert.deepEqual(sent, [
      { type: "message.send", client_id: entry.clientId, body: "look", attachments: [7, 8] },
      { type: "message.send", client_id: entry.clientId, body: "look", attachments: [7, 8] },
    ]);
    assert.deepEqual(
      entry.attachments.map((record) => record.name),
      ["cat.png", "notes.txt"],
    );
  });

  test("a message of files alone goes with an empty body; bad records are dropped", () => {
    const { outbox, sent } = setup();
    outbox.queue("", null, [CAT, { id: "x" }]);
    assert.deepEqual(sent[0].attachments, [7]);
    assert.equal(sent[0].body, "");
  });

  test("without files the frame has no attachments field", () => {
    const { outbox, sent } = setup();
    outbox.queue("plain");
    assert.equal("attachments" in sent[0], false);
  });

  test("the files survive a reload with the message, and go again with it", () => {
    const storage = new MemoryStorage();
    const before = setup({ storage, live: false });
    before.outbox.queue("", null, [CAT]);
    const after = setup({ storage });
    after.outbox.restore(new Set());
    const [entry] = after.outbox.values();
    assert.deepEqual(entry.attachments, [CAT]);
    after.outbox.flush();
    assert.deepEqual(after.sent.at(-1).attachments, [7]);
  });
});
