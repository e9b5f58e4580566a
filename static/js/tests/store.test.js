import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { GAP_WAIT_MS, GapWatcher, SYNC_RETRY_MS, Timeline } from "../chat/store.js";
import { FakeTimers } from "./fakes.js";

function message(id, rev, fields = {}) {
  return {
    id,
    rev,
    room: "general",
    author: { id: 1, username: "alice" },
    body: `message ${id}`,
    created_at: "2026-01-01T12:00:00.000000Z",
    edited_at: null,
    deleted: false,
    client_id: null,
    ...fields,
  };
}

describe("Timeline.apply: one copy per id, the highest rev", () => {
  test("a new id is inserted, a higher rev updates, the same or lower changes nothing", () => {
    const timeline = new Timeline({ rev: 0 });
    assert.equal(timeline.apply(message(1, 1)), "inserted");
    assert.equal(timeline.apply(message(1, 5, { body: "edited" })), "updated");
    assert.equal(timeline.apply(message(1, 5, { body: "repeat" })), "unchanged");
    assert.equal(timeline.apply(message(1, 3, { body: "older" })), "unchanged");
    assert.equal(timeline.get(1).body, "edited");
    assert.equal(timeline.messages.size, 1);
  });

  test("a deletion arriving before the creation is kept over the creation", () => {
    const timeline = new Timeline({ rev: 0 });
    timeline.apply(message(4, 9, { deleted: true, body: "" }));
    assert.equal(timeline.apply(message(4, 7)), "unchanged");
    assert.equal(timeline.get(4).deleted, true);
  });

  test("changes above the loaded window are not held; history pages extend it", () => {
    const timeline = new Timeline({ rev: 10, hasMore: true });
    timeline.apply(message(50, 10), { older: true });
    assert.equal(timeline.oldestId, 50);
    assert.equal(timeline.apply(message(40, 11)), null);
    assert.equal(timeline.get(40), undefined);
    assert.equal(timeline.apply(message(40, 8), { older: true }), "inserted");
    assert.equal(timeline.oldestId, 40);
  });

  test("a change to a message above the window outranks the history page that brings it", () => {
    // The page was fetched before the change and lands after it: its copy is older.
    const timeline = new Timeline({ rev: 10, hasMore: true });
    timeline.apply(message(50, 10), { older: true });
    assert.equal(timeline.apply(message(40, 11, { deleted: true, body: "" })), null);
    assert.equal(timeline.apply(message(40, 12, { deleted: true, body: "" })), null);
    assert.equal(timeline.apply(message(30, 4), { older: true }), "inserted");
    assert.equal(timeline.apply(message(40, 3), { older: true }), "inserted");
    assert.equal(timeline.get(40).rev, 12);
    assert.equal(timeline.get(40).deleted, true);
    assert.equal(timeline.get(30).rev, 4);
    // A page with the newer copy itself keeps it, too.
    timeline.apply(message(20, 20, { body: "edited" }));
    assert.equal(timeline.apply(message(20, 20, { body: "edited" }), { older: true }), "inserted");
    assert.equal(timeline.get(20).body, "edited");
  });

  test("without more history everything older is held", () => {
    const timeline = new Timeline({ rev: 10, hasMore: false });
    timeline.apply(message(50, 10));
    assert.equal(timeline.apply(message(40, 11)), "inserted");
  });
});

describe("Timeline: a window detached from the live end (timeline_window.js)", () => {
  test("below a detached window nothing is drawn; newer pages extend it downwards", () => {
    const timeline = new Timeline({ rev: 10, hasMore: true });
    for (const id of [20, 21, 22]) timeline.apply(message(id, id), { older: true });
    timeline.hasNewer = true;
    assert.equal(timeline.apply(message(30, 30)), null);
    assert.equal(timeline.apply(message(19, 31)), null);
    assert.equal(timeline.apply(message(21, 32, { body: "edited" })), "updated");
    assert.equal(timeline.apply(message(23, 23), { newer: true }), "inserted");
    assert.equal(timeline.newestId, 23);
    assert.deepEqual(
      timeline.heldBelow().map((msg) => msg.id),
      [30],
    );
  });

  test("clearing the window keeps its newest snapshots for the pages that bring them back", () => {
    const timeline = new Timeline({ rev: 10, hasMore: true });
    timeline.apply(message(40, 5), { older: true });
    timeline.apply(message(41, 9, { body: "edited" }), { older: true });
    const epoch = timeline.epoch;
    timeline.clearWindow();
    assert.equal(timeline.epoch, epoch + 1);
    assert.deepEqual([timeline.messages.size, timeline.oldestId, timeline.newestId], [0, null, null]);
    timeline.apply(message(10, 2), { older: true, newer: true });
    timeline.hasNewer = true;
    assert.deepEqual(
      timeline.heldBelow().map((msg) => msg.id),
      [40, 41],
    );
    assert.equal(timeline.apply(message(40, 5), { newer: true }), "inserted");
    assert.equal(timeline.apply(message(41, 6), { newer: true }), "inserted");
    assert.equal(timeline.get(41).body, "edited");
    assert.deepEqual(timeline.heldBelow(), []);
  });
});

describe("Timeline revisions: gap detection", () => {
  test("contiguous live revisions advance R", () => {
    const timeline = new Timeline({ rev: 10 });
    timeline.noteRevision(11);
    timeline.noteRevision(12);
    assert.equal(timeline.rev, 12);
    assert.equal(timeline.isBehind(), false);
  });

  test("a hole holds R back until it fills, out of order", () => {
    const timeline = new Timeline({ rev: 10 });
    timeline.noteRevision(12);
    timeline.noteRevision(13);
    assert.equal(timeline.rev, 10);
    assert.equal(timeline.isBehind(), true);
    timeline.noteRevision(11);
    assert.equal(timeline.rev, 13);
    assert.equal(timeline.isBehind(), false);
  });

  test("a repeated old revision changes nothing", () => {
    const timeline = new Timeline({ rev: 10 });
    timeline.noteRevision(7);
    assert.equal(timeline.rev, 10);
    assert.equal(timeline.isBehind(), false);
  });

  test("hello or pong with a higher rev means something was missed", () => {
    const timeline = new Timeline({ rev: 10 });
    timeline.noteKnownRevision(12);
    assert.equal(timeline.isBehind(), true);
    timeline.noteKnownRevision("13"); // not an integer: ignored
    assert.equal(timeline.knownRev, 12);
  });
});

describe("Timeline.applySync: batches", () => {
  test("a complete batch brings R to its rev and clears the holes below", () => {
    const timeline = new Timeline({ rev: 10 });
    timeline.noteRevision(14);
    const results = timeline.applySync({
      messages: [message(1, 11), message(2, 12), message(1, 13, { body: "edit" })],
      rev: 14,
      complete: true,
    });
    assert.deepEqual(results, ["inserted", "inserted", "updated"]);
    assert.equal(timeline.rev, 14);
    assert.equal(timeline.isBehind(), false);
  });

  test("an incomplete batch leaves the client behind, to ask from its rev", () => {
    const timeline = new Timeline({ rev: 0 });
    timeline.applySync({ messages: [message(1, 1), message(2, 2)], rev: 200, complete: false });
    assert.equal(timeline.rev, 200);
    assert.equal(timeline.isBehind(), true);
    timeline.applySync({ messages: [], rev: 237, complete: true });
    assert.equal(timeline.rev, 237);
    assert.equal(timeline.isBehind(), false);
  });

  test("live revisions above the batch still count once the batch lands", () => {
    const timeline = new Timeline({ rev: 10 });
    timeline.noteRevision(16);
    timeline.applySync({ messages: [], rev: 15, complete: true });
    assert.equal(timeline.rev, 16);
  });

  test("the page's own apply sees every message", () => {
    const timeline = new Timeline({ rev: 0 });
    const seen = [];
    timeline.applySync({ messages: [message(1, 1)], rev: 1, complete: true }, (msg) => {
      seen.push(msg.id);
      return timeline.apply(msg);
    });
    assert.deepEqual(seen, [1]);
    assert.equal(timeline.get(1).id, 1);
  });
});

describe("GapWatcher", () => {
  function setup(rev = 10) {
    const timers = new FakeTimers();
    const timeline = new Timeline({ rev });
    const requests = [];
    const gaps = new GapWatcher({
      timeline,
      timers,
      requestSync: (since) => requests.push(since),
    });
    return { timers, timeline, requests, gaps };
  }

  test("a hole that fills by itself within the wait asks nothing", () => {
    const { timers, timeline, requests, gaps } = setup();
    timeline.noteRevision(12);
    gaps.watch();
    timers.advance(GAP_WAIT_MS - 1);
    timeline.noteRevision(11);
    gaps.watch();
    timers.advance(SYNC_RETRY_MS * 3);
    assert.deepEqual(requests, []);
    assert.equal(timers.count, 0);
  });

  test("a hole still open after the wait asks from R, and again until answered", () => {
    const { timers, timeline, requests, gaps } = setup();
    timeline.noteRevision(12);
    gaps.watch();
    gaps.watch(); // a second look does not start a second wait
    timers.advance(GAP_WAIT_MS);
    assert.deepEqual(requests, [10]);
    timers.advance(SYNC_RETRY_MS);
    assert.deepEqual(requests, [10, 10]);
    timeline.applySync({ messages: [], rev: 12, complete: true });
    gaps.answered({ rev: 12, complete: true });
    timers.advance(SYNC_RETRY_MS * 3);
    assert.deepEqual(requests, [10, 10]);
  });

  test("an incomplete answer asks for the next batch at once", () => {
    const { timers, timeline, requests, gaps } = setup(0);
    const frame = { messages: [], rev: 200, complete: false };
    timeline.applySync(frame);
    gaps.answered(frame);
    assert.deepEqual(requests, [200]);
    // Lost answer: the watchdog asks again.
    timers.advance(SYNC_RETRY_MS);
    assert.deepEqual(requests, [200, 200]);
  });

  test("rate_limited with no sync waiting is not the watcher's", () => {
    const { timers, timeline, requests, gaps } = setup();
    assert.equal(gaps.refused(0.5), false);
    timeline.noteRevision(12);
    gaps.watch();
    timers.advance(GAP_WAIT_MS);
    assert.deepEqual(requests, [10]);
    gaps.socketLost(); // that request died with its socket
    assert.equal(gaps.refused(0.5), false);
  });

  test("a refused sync is asked again after retry_after (1 s when it makes no sense)", () => {
    const { timers, timeline, requests, gaps } = setup();
    timeline.noteRevision(12);
    gaps.watch();
    timers.advance(GAP_WAIT_MS);
    assert.equal(gaps.refused(Number.NaN), true);
    assert.equal(gaps.refused(0.5), false); // one refusal per request
    timers.advance(999);
    assert.deepEqual(requests, [10]);
    timers.advance(1);
    assert.deepEqual(requests, [10, 10]);
  });
});
