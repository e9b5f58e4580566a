import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  DaySeparators,
  nextMessageItem,
  previousMessageItem,
} from "../chat/day_separators_ui.js";
import { FakeTimers } from "./fakes.js";

// The little of the DOM that DaySeparators uses: a list of items with siblings.
class FakeNode {
  constructor(tag) {
    this.tag = tag;
    this.parent = null;
    this.children = [];
    this.dataset = {};
    this.className = "";
    this.textContent = "";
    this.classList = { contains: (name) => this.className.split(" ").includes(name) };
  }

  sibling(offset) {
    if (!this.parent) return null;
    const siblings = this.parent.children;
    return siblings[siblings.indexOf(this) + offset] ?? null;
  }

  get previousElementSibling() {
    return this.sibling(-1);
  }

  get nextElementSibling() {
    return this.sibling(1);
  }

  append(...nodes) {
    for (const node of nodes) this.insertAt(this.children.length, node);
  }

  prepend(node) {
    this.insertAt(0, node);
  }

  insertAt(index, node) {
    node.remove();
    node.parent = this;
    this.children.splice(index, 0, node);
  }

  before(node) {
    this.parent.insertAt(this.parent.children.indexOf(this), node);
  }

  after(node) {
    this.parent.insertAt(this.parent.children.indexOf(this) + 1, node);
  }

  remove() {
    if (!this.parent) return;
    this.parent.children.splice(this.parent.children.indexOf(this), 1);
    this.parent = null;
  }

  querySelector(selector) {
    return this.querySelectorAll(selector)[0] ?? null;
  }

  querySelectorAll(selector) {
    const name = selector.replace(/^\./, "");
    const found = [];
    for (const child of this.children) {
      if (child.classList.contains(name)) found.push(child);
      found.push(...child.querySelectorAll(selector));
    }
    return found;
  }
}

const fakeDocument = {
  createElement: (tag) => new FakeNode(tag),
  listeners: {},
  addEventListener(type, fn) {
    this.listeners[type] = fn;
  },
};

/**
 * A list of messages and its separators, in Los Angeles; `created` maps message ids to
 * times. Returns helpers to put messages in and read what the list shows.
 */
function timelineIn(timeZone, { now = "2026-12-01T20:00:00Z" } = {}) {
  const list = new FakeNode("ol");
  const created = new Map();
  const timers = new FakeTimers(Date.parse(now));
  const days = new DaySeparators({
    list,
    createdAt: (li) => created.get(Number(li.dataset.id)),
    timeZone,
    now: () => new Date(timers.now()),
    timers,
    doc: fakeDocument,
  });
  const message = (id, createdAt) => {
    const li = new FakeNode("li");
    li.className = "message";
    li.dataset.id = String(id);
    created.set(id, createdAt);
    return li;
  };
  // As TimelineView.insertInOrder does: after the message with the next smaller id.
  const insert = (id, createdAt) => {
    const li = message(id, createdAt);
    let before = list.children.at(-1) ?? null;
    while (before && (!before.dataset.id || Number(before.dataset.id) > id)) {
      before = before.previousElementSibling;
    }
    if (before) before.after(li);
    else list.prepend(li);
    days.place(li);
    return li;
  };
  // What a reader sees, top to bottom: "[label]" for a separator, the id for a message.
  const label = (li) => li.querySelector(".day-separator-label").textContent;
  const shown = () =>
    list.children.map((li) => (li.dataset.id ? Number(li.dataset.id) : `[${label(li)}]`));
  return { list, days, timers, insert, shown };
}

// Times in Los Angeles (UTC-8 in winter), today being Tuesday 1 December 2026 there.
const LA = "America/Los_Angeles";
const SAT_NOON = "2026-11-28T20:00:00Z";
const SUN_2350 = "2026-11-30T07:50:00Z"; // Sunday 29 November, 23:50
const MON_0001 = "2026-11-30T08:01:00Z"; // Monday 30 November, 00:01
const MON_NOON = "2026-11-30T20:00:00Z";
const TUE_0900 = "2026-12-01T17:00:00Z";
const TUE_1000 = "2026-12-01T18:00:00Z";

describe("DaySeparators", () => {
  test("put one separator above the first message of each day, live messages appended", () => {
    const { insert, shown } = timelineIn(LA); // at noon on Tuesday 1 December there
    insert(1, SAT_NOON);
    insert(2, SUN_2350);
    insert(3, MON_0001);
    insert(4, MON_NOON);
    insert(5, TUE_0900);
    insert(6, TUE_1000);
    assert.deepEqual(shown(), [
      "[Saturday 28 November]",
      1,
      "[Sunday 29 November]",
      2,
      "[Yesterday]",
      3,
      4,
      "[Today]",
      5,
      6,
    ]);
  });

  test("days are the reader's: in UTC the same messages fall otherwise", () => {
    const { insert, shown } = timelineIn("UTC");
    insert(2, SUN_2350); // Monday 30 November, 07:50 in UTC
    insert(3, MON_0001);
    insert(5, TUE_0900);
    assert.deepEqual(shown(), ["[Yesterday]", 2, 3, "[Today]", 5]);
  });

  test("stay right as earlier pages are put above, newest first or oldest first", () => {
    const { insert, shown } = timelineIn(LA);
    insert(5, TUE_0900);
    insert(6, TUE_1000);
    // An earlier page, applied oldest first, as TimelineView.loadEarlier does.
    insert(2, SUN_2350);
    insert(3, MON_0001);
    insert(4, MON_NOON);
    // And one message older still, on a day already shown at the top.
    insert(1, "2026-11-29T18:00:00Z"); // Sunday 10:00
    assert.deepEqual(shown(), [
      "[Sunday 29 November]",
      1,
      2,
      "[Yesterday]",
      3,
      4,
      "[Today]",
      5,
      6,
    ]);
  });

  test("stay right as catch-up inserts between messages, on any day", () => {
    const { insert, shown } = timelineIn(LA);
    insert(1, SAT_NOON);
    insert(5, TUE_0900);
    insert(3, MON_NOON); // a new day in the middle
    assert.deepEqual(shown(), ["[Saturday 28 November]", 1, "[Yesterday]", 3, "[Today]", 5]);
    insert(2, SAT_NOON); // the day above: no separator of its own
    insert(4, TUE_0900); // the day below: its separator moves up above it
    assert.deepEqual(shown(), [
      "[Saturday 28 November]",
      1,
      2,
      "[Yesterday]",
      3,
      "[Today]",
      4,
      5,
    ]);
  });

  test("a redrawn item (an edit, a deletion) keeps its place and its day", () => {
    const { list, days, insert, shown } = timelineIn(LA);
    insert(1, MON_NOON);
    const old = insert(2, TUE_0900);
    insert(3, TUE_1000);
    const fresh = new FakeNode("li");
    fresh.className = "message is-deleted";
    fresh.dataset.id = "2";
    old.before(fresh);
    old.remove(); // replaceWith, as TimelineView.redraw does
    days.place(fresh);
    assert.deepEqual(shown(), ["[Yesterday]", 1, "[Today]", 2, 3]);
    assert.equal(list.children.filter((li) => !li.dataset.id).length, 2);
  });

  test("a new day relabels: Today becomes Yesterday at midnight, or when the tab returns", () => {
    const { days, timers, insert, shown } = timelineIn(LA);
    days.listen();
    insert(4, MON_NOON);
    insert(5, TUE_0900);
    assert.deepEqual(shown(), ["[Yesterday]", 4, "[Today]", 5]);
    timers.advance(13 * 60 * 60 * 1000); // 12:00 in LA + 13 h: 01:00 on Wednesday
    assert.deepEqual(shown(), ["[Monday 30 November]", 4, "[Yesterday]", 5]);
    // A message of the new day gets its own separator, labelled as of now.
    insert(6, "2026-12-02T08:30:00Z");
    assert.deepEqual(shown(), ["[Monday 30 November]", 4, "[Yesterday]", 5, "[Today]", 6]);
    // A sleeping computer runs no timer: coming back to the tab looks at the clock.
    timers.time += 24 * 60 * 60 * 1000;
    fakeDocument.listeners.visibilitychange();
    assert.deepEqual(shown(), [
      "[Monday 30 November]",
      4,
      "[Tuesday 1 December]",
      5,
      "[Yesterday]",
      6,
    ]);
  });

  test("a separator carries its day, machine-readable", () => {
    const { list, insert } = timelineIn(LA);
    insert(1, SUN_2350);
    const separator = list.children[0];
    assert.equal(separator.dataset.day, "2026-11-29");
    assert.equal(separator.querySelector(".day-separator-label").dateTime, "2026-11-29");
  });

  test("the message items around one skip the separators", () => {
    const { insert } = timelineIn(LA);
    const first = insert(1, MON_NOON);
    const second = insert(2, TUE_0900);
    assert.equal(second.previousElementSibling.className, "day-separator");
    assert.equal(previousMessageItem(second), first);
    assert.equal(nextMessageItem(first), second);
    assert.equal(previousMessageItem(first), null);
    assert.equal(nextMessageItem(second), null);
  });
});
