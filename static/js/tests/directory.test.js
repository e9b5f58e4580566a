// The directory's search state (directory_ui.js) and the leave question (leave_ui.js).

import assert from "node:assert/strict";
import { test } from "node:test";

import { agoText, DirectorySearch, directoryUrl } from "../chat/directory_ui.js";
import { leaveQuestion } from "../chat/leave_ui.js";

test("directoryUrl leaves out what is empty and encodes the rest", () => {
  assert.equal(directoryUrl("/api/rooms/directory/"), "/api/rooms/directory/");
  assert.equal(
    directoryUrl("/api/rooms/directory/", { q: "a&b c", after: "WyJ4Il0" }),
    "/api/rooms/directory/?q=a%26b+c&after=WyJ4Il0",
  );
});

test("an answer to an older search never replaces a newer one", () => {
  const search = new DirectorySearch({ query: "", next: "c1" });
  const first = search.start("boo");
  const second = search.start("book");
  assert.equal(search.answer(first, { rooms: [], next: "old" }), null);
  assert.equal(search.next, null);
  assert.equal(search.answer(second, { rooms: [], next: "c2" }), "replace");
  assert.equal(search.next, "c2");
  // The same words again is no new search.
  assert.equal(search.start(" book "), null);
});

test("load more follows the cursor once at a time, and stops at the end", () => {
  const search = new DirectorySearch({ query: "x", next: "c1" });
  const more = search.more();
  assert.deepEqual(more, { generation: 0, q: "x", after: "c1" });
  assert.equal(search.more(), null); // one is coming
  assert.equal(search.answer(more, { rooms: [], next: null }), "append");
  assert.equal(search.more(), null); // the last page
  // A page that was asked for before a new search started is dropped.
  const stale = new DirectorySearch({ query: "x", next: "c1" });
  const old = stale.more();
  stale.start("y");
  assert.equal(stale.answer(old, { rooms: [], next: "c9" }), null);
  assert.equal(stale.failed(old), false);
});

test("agoText says roughly how long ago", () => {
  const now = Date.parse("2026-12-01T12:00:00Z");
  assert.equal(agoText("2026-12-01T11:59:30Z", now), "just now");
  assert.equal(agoText("2026-12-01T11:55:00Z", now), "5 minutes ago");
  assert.equal(agoText("2026-11-30T12:00:00Z", now), "1 day ago");
  assert.equal(agoText("not a time", now), "");
});

test("leaving a private room warns that coming back needs an invitation", () => {
  assert.match(leaveQuestion("Secret", true), /^Leave Secret\? .*new invitation/);
  assert.match(leaveQuestion("General", false), /join it again/);
});
