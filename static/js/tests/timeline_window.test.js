import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { Timeline } from "../chat/store.js";
import { meetsWindow, TimelineWindow } from "../chat/timeline_window.js";

// A room's messages: ids 1..300, message i at rev i (created then).
function message(id, rev = id, fields = {}) {
  return { id, rev, created_rev: id, author: { id: 1, username: "alice" }, body: `m${id}`, ...fields };
}
const ROOM = Array.from({ length: 300 }, (_, i) => message(i + 1));

/** What the server answers for a history page of ROOM (chat.selectors.history_page). */
function historyPage(room, { around, after, before, limit = 50 }) {
  if (around !== undefined) {
    const at = room.findIndex((m) => m.id === around);
    if (at < 0) throw Object.assign(new Error("not found"), { status: 404 });
    const olderCount = Math.floor((limit + 1) / 2);
    const start = Math.max(0, at + 1 - olderCount);
    const end = Math.min(room.length, at + 1 + (limit - olderCount));
    return { messages: room.slice(start, end), has_more: start > 0, has_newer: end < room.length };
  }
  if (after !== undefined) {
    const newer = room.filter((m) => m.id > after);
    return { messages: newer.slice(0, limit), has_newer: newer.length > limit };
  }
  const older = before === undefined ? room : room.filter((m) => m.id < before);
  return { messages: older.slice(-limit), has_more: older.length > limit };
}

/** The TimelineView's part the window uses: it draws what the store inserts. */
class FakeView {
  constructor(timeline) {
    this.timeline = timeline;
    this.drawn = new Set();
    this.scrolledToBottom = 0;
  }

  apply(msg, options) {
    const result = this.timeline.apply(msg, options);
    if (result === "inserted") this.drawn.add(msg.id);
    return result;
  }

  clear() {
    this.drawn.clear();
  }

  keepingPosition(change) {
    change();
  }

  scrollToBottom() {
    this.scrolledToBottom += 1;
  }

  renderHistoryStatus() {}

  ids() {
    return [...this.drawn].sort((a, b) => a - b);
  }
}

/** A page showing the room's newest 50 messages, live, as room.js starts it. */
function livePage({ room = ROOM, fetchPage } = {}) {
  const timeline = new Timeline({ rev: room.at(-1).rev, hasMore: true });
  const view = new FakeView(timeline);
  for (const msg of room.slice(-50)) view.apply(msg, { older: true });
  const asked = [];
  const changes = [];
  const timelineWindow = new TimelineWindow({
    timeline,
    view,
    fetchPage:
      fetchPage ??
      (async (params) => {
        asked.push(params);
        return historyPage(room, params);
      }),
    onChange: () => changes.push(timeline.hasNewer),
  });
  return { timeline, view, timelineWindow, asked, changes };
}

const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("opening the room at a message far back", () => {
  test("the page around it takes the window's place, detached from the live end", async () => {
    const { timeline, view, timelineWindow, asked, changes } = livePage();
    assert.equal(await timelineWindow.showAround(40), true);
    assert.deepEqual(asked, [{ around: 40, limit: 50 }]);
    assert.deepEqual(view.ids(), range(16, 65)); // its neighbours above and below
    assert.equal(timelineWindow.detached, true);
    assert.deepEqual([timeline.oldestId, timeline.newestId], [16, 65]);
    assert.equal(timeline.hasMore, true);
    assert.deepEqual(changes, [true]);
  });

  test("a page that meets the window joins it, which stays live", async () => {
    const { timeline, view, timelineWindow } = livePage();
    assert.equal(await timelineWindow.showAround(260), true); // 25 above the first shown
    assert.deepEqual(view.ids(), range(236, 300));
    assert.equal(timelineWindow.detached, false);
    assert.equal(timeline.oldestId, 236);
    assert.equal(timeline.hasMore, true);
  });

  test("a message that is not the room's: false, and the window stays as it was", async () => {
    const { view, timelineWindow } = livePage();
    assert.equal(await timelineWindow.showAround(9999), false);
    assert.deepEqual(view.ids(), range(251, 300));
    assert.equal(timelineWindow.detached, false);
  });

  test("only the latest of two moves lands", async () => {
    const answers = [];
    const { view, timelineWindow } = livePage({
      fetchPage: (params) => new Promise((resolve) => answers.push(() => resolve(historyPage(ROOM, params)))),
    });
    const first = timelineWindow.showAround(40);
    const second = timelineWindow.showAround(120);
    answers[1]();
    answers[0]();
    assert.deepEqual([await first, await second], [false, true]);
    assert.deepEqual([view.ids()[0], view.ids().at(-1)], [96, 145]);
  });
});

describe("a detached window", () => {
  test("live messages are kept, not drawn, and come after the last newer page", async () => {
    const room = ROOM.slice();
    const { timeline, view, timelineWindow } = livePage({ room });
    await timelineWindow.showAround(40);
    const live = message(301);
    room.push(live);
    assert.equal(view.apply(live), null); // below the window: not in the wrong place
    timeline.noteRevision(301);
    assert.equal(timeline.rev, 301); // the revisions go on exactly
    assert.equal(view.drawn.has(301), false);
    // Scrolling down: the pages after the window, until the live end.
    let pages = 0;
    while (timelineWindow.detached) {
      await timelineWindow.loadNewer();
      pages += 1;
    }
    assert.equal(pages, 5);
    assert.deepEqual(view.ids(), range(16, 301));
    // Live again: the next message is drawn at once.
    assert.equal(view.apply(message(302)), "inserted");
  });

  test("a message sent after the last page was read is drawn once the window is live", async () => {
    const { timeline, view, timelineWindow } = livePage();
    await timelineWindow.showAround(280); // meets the window: still live
    await timelineWindow.showAround(40);
    // 301 arrives live while the page after 290 is on its way: the page does not have it.
    timelineWindow.fetchPage = async (params) => {
      const page = historyPage(ROOM, params);
      if (params.after >= 265) view.apply(message(301));
      return page;
    };
    while (timelineWindow.detached) await timelineWindow.loadNewer();
    assert.deepEqual(view.ids().slice(-3), [299, 300, 301]);
    assert.equal(timeline.get(301).body, "m301");
  });

  test("an edit that lands before the page that brings its message keeps the page's copy out", async () => {
    const { timeline, view, timelineWindow } = livePage();
    await timelineWindow.showAround(40);
    assert.equal(view.apply(message(70, 400, { body: "edited" })), null);
    await timelineWindow.loadNewer();
    assert.equal(timeline.get(70).body, "edited");
    // What the window showed before it moved is kept too: 290 was edited then.
    view.apply(message(290, 500, { body: "edited before" }));
    while (timelineWindow.detached) await timelineWindow.loadNewer();
    assert.equal(timeline.get(290).body, "edited before");
  });

  test("scrolling up loads older pages as ever; a page asked for before the move is dropped", async () => {
    const { timeline, timelineWindow } = livePage();
    const epoch = timeline.epoch;
    await timelineWindow.showAround(40);
    assert.notEqual(timeline.epoch, epoch); // TimelineView.loadEarlier drops what it asked before
    assert.equal(timeline.apply(message(10)), null); // above the window
    assert.equal(timeline.apply(message(15), { older: true }), "inserted");
  });

  test("a newer page asked for before the window moved is dropped", async () => {
    let answer;
    const { view, timelineWindow } = livePage();
    await timelineWindow.showAround(40);
    timelineWindow.fetchPage = (params) =>
      params.after !== undefined
        ? new Promise((resolve) => {
            answer = () => resolve(historyPage(ROOM, params));
          })
        : Promise.resolve(historyPage(ROOM, params));
    const newer = timelineWindow.loadNewer();
    await timelineWindow.showAround(150);
    answer();
    assert.equal(await newer, false);
    assert.deepEqual([view.ids()[0], view.ids().at(-1)], [126, 175]);
  });

  test("Jump to the present: the newest page, live, at its bottom", async () => {
    const { timeline, view, timelineWindow, asked } = livePage();
    await timelineWindow.showAround(40);
    view.apply(message(301)); // held meanwhile
    timelineWindow.fetchPage = async (params) => {
      asked.push(params);
      return historyPage(ROOM, params); // read before 301 was sent
    };
    assert.equal(await timelineWindow.goToPresent(), true);
    assert.deepEqual(asked.at(-1), { limit: 50 });
    assert.deepEqual(view.ids(), [...range(251, 300), 301]);
    assert.equal(timelineWindow.detached, false);
    assert.equal(view.scrolledToBottom, 1);
    assert.equal(timeline.hasMore, true);
    // Live already: nothing to fetch, only the bottom.
    await timelineWindow.goToPresent();
    assert.equal(asked.length, 2);
    assert.equal(view.scrolledToBottom, 2);
  });
});

describe("the read marker while detached", () => {
  test("the bottom of a detached window has been seen up to its newest message only", async () => {
    const { timeline, timelineWindow } = livePage();
    assert.equal(timeline.revAtBottom(), 300);
    await timelineWindow.showAround(40);
    assert.equal(timeline.revAtBottom(), 65);
    while (timelineWindow.detached) await timelineWindow.loadNewer();
    assert.equal(timeline.revAtBottom(), 300);
  });
});

describe("the read marker while the window moves", () => {
  test("moving while the page of a move is on its way, and only then", async () => {
    let answer;
    const { timelineWindow } = livePage({
      fetchPage: (params) => new Promise((resolve) => (answer = () => resolve(historyPage(ROOM, params)))),
    });
    assert.equal(timelineWindow.moving, false);
    const shown = timelineWindow.showAround(40);
    assert.equal(timelineWindow.moving, true); // the newest page is still drawn: not seen
    answer();
    await shown;
    assert.equal(timelineWindow.moving, false);
  });
});

describe("meetsWindow", () => {
  test("a page meets the window when its ends reach into it", () => {
    const timeline = new Timeline({ hasMore: true });
    for (const id of [100, 110, 120]) timeline.apply(message(id), { older: true });
    assert.equal(meetsWindow(timeline, [message(90), message(100)]), true);
    assert.equal(meetsWindow(timeline, [message(115), message(130)]), true);
    assert.equal(meetsWindow(timeline, [message(80), message(99)]), false);
    assert.equal(meetsWindow(timeline, [message(121), message(130)]), false);
    assert.equal(meetsWindow(timeline, []), false);
    assert.equal(meetsWindow(new Timeline(), [message(1)]), false);
  });
});
