import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { barLayout, niceCeiling, sparklinePoints } from "../ops/chart.js";
import {
  agoText,
  countText,
  directText,
  minuteStart,
  moderationRows,
  processRows,
  roomRows,
  stateText,
  stoppedText,
  thisMinute,
} from "../ops/snapshot.js";

const activity = {
  start: "2025-01-01T12:00:00Z",
  minutes: 3,
  per_minute: [4, 0, 7],
  total: 11,
  direct: 2,
  rooms: [
    { name: "General", slug: "general", total: 6, per_minute: [1, 0, 5] },
    { name: "Random", slug: "random", total: 3, per_minute: [3, 0, 0] },
  ],
};

describe("niceCeiling", () => {
  test("rounds up to 1, 2 or 5 times a power of ten", () => {
    assert.deepEqual(
      [0, 0.5, 1, 3, 7, 10, 11, 42, 180, 501].map(niceCeiling),
      [1, 1, 1, 5, 10, 10, 20, 50, 200, 1000],
    );
  });

  test("a scale for nothing, or for nonsense, is 1", () => {
    assert.equal(niceCeiling(-3), 1);
    assert.equal(niceCeiling(Number.NaN), 1);
    assert.equal(niceCeiling(Number.POSITIVE_INFINITY), 1);
  });
});

describe("barLayout", () => {
  test("one bar per value, as tall as its share of the scale's top, standing on the base", () => {
    const { ceiling, bars } = barLayout([5, 0, 10], { width: 30, height: 100, gap: 2 });
    assert.equal(ceiling, 10);
    assert.deepEqual(
      bars.map(({ x, y, width, height }) => [x, y, width, height]),
      [
        [1, 50, 8, 50],
        [11, 100, 8, 0],
        [21, 0, 8, 100],
      ],
    );
    assert.deepEqual(
      bars.map((bar) => [bar.index, bar.value]),
      [
        [0, 5],
        [1, 0],
        [2, 10],
      ],
    );
  });

  test("no messages at all: flat bars on a scale of 1", () => {
    const { ceiling, bars } = barLayout([0, 0], { width: 10, height: 10 });
    assert.equal(ceiling, 1);
    assert.deepEqual(
      bars.map((bar) => bar.height),
      [0, 0],
    );
  });
});

describe("sparklinePoints", () => {
  test("from the left edge to the right, the top at the ceiling", () => {
    assert.equal(
      sparklinePoints([0, 5, 10], { width: 100, height: 20, ceiling: 10 }),
      "0,20 50,10 100,0",
    );
  });

  test("the ceiling defaults to the values' own round top", () => {
    assert.equal(sparklinePoints([2, 1], { width: 10, height: 10 }), "0,0 10,5");
  });

  test("nothing to draw", () => {
    assert.equal(sparklinePoints([], { width: 10, height: 10 }), "");
  });
});

describe("snapshot text", () => {
  test("counts group their digits; a store that failed says so", () => {
    assert.equal(countText(1234567), "1,234,567");
    assert.equal(countText(0), "0");
    assert.equal(countText(null), "unavailable");
  });

  test("this minute is the window's last", () => {
    assert.equal(thisMinute(activity.per_minute), 7);
    assert.equal(thisMinute([]), 0);
  });

  test("each minute's start follows the window's", () => {
    assert.equal(minuteStart(activity, 2), Date.parse("2025-01-01T12:02:00Z"));
  });

  test("how long ago, in words", () => {
    const now = Date.parse("2025-01-01T12:00:00Z");
    assert.equal(agoText("2025-01-01T12:00:00Z", now), "now");
    assert.equal(agoText("2025-01-01T11:59:56Z", now), "4 s ago");
    assert.equal(agoText("2025-01-01T11:57:00Z", now), "3 min ago");
    assert.equal(agoText("2025-01-01T09:00:00Z", now), "3 h ago");
    assert.equal(agoText("2024-12-30T12:00:00Z", now), "2 d ago");
    // A clock a little ahead of the reader's is not in the future.
    assert.equal(agoText("2025-01-01T12:00:03Z", now), "now");
    assert.equal(agoText("not a time", now), "");
  });

  test("direct messages are mentioned under the chart only when there are some", () => {
    assert.match(directText(activity), /^Includes 2 messages in direct conversations/);
    assert.match(directText({ ...activity, direct: 1 }), /^Includes 1 message in/);
    assert.equal(directText({ ...activity, direct: 0 }), "");
  });

  test("the status line for each state of the socket", () => {
    assert.equal(stateText("connecting"), "Connecting…");
    assert.equal(stateText("live", 2), "Live: updated every 2 s");
    assert.match(stateText("reconnecting"), /reconnecting/);
    assert.match(stateText("offline"), /network/);
  });

  test("why it stopped: signed out, not staff, anything else", () => {
    assert.match(stoppedText(4401), /Signed out/);
    assert.equal(stoppedText(4403), "Only staff may see this dashboard.");
    assert.match(stoppedText(4999), /code 4999/);
  });
});

describe("snapshot rows", () => {
  test("the busiest rooms with this minute's count", () => {
    assert.deepEqual(
      roomRows(activity).map((row) => [row.slug, row.total, row.thisMinute, row.perMinute]),
      [
        ["general", 6, 5, [1, 0, 5]],
        ["random", 3, 0, [3, 0, 0]],
      ],
    );
    assert.deepEqual(roomRows(undefined), []);
  });

  test("processes: tabs are protocol 2, room sockets protocol 1; the heartbeat's age", () => {
    const rows = processRows(
      [
        {
          process: "web1:7",
          sockets: { 1: 2, 2: 5 },
          sockets_total: 7,
          database_queue: 1,
          started_at: "2025-01-01T10:00:00Z",
          updated_at: "2025-01-01T11:59:58Z",
        },
        { process: "web2:9", sockets: {}, sockets_total: 0, database_queue: 0, updated_at: "x" },
      ],
      Date.parse("2025-01-01T12:00:00Z"),
    );
    assert.deepEqual(
      rows.map((row) => [row.process, row.tabs, row.rooms, row.total, row.databaseQueue]),
      [
        ["web1:7", 5, 2, 7, 1],
        ["web2:9", 0, 0, 0, 0],
      ],
    );
    assert.equal(rows[0].heartbeat, "2 s ago");
    assert.deepEqual(processRows(null, 0), []);
  });

  test("moderation: the system acts when no one did; missing names are empty", () => {
    const rows = moderationRows([
      { at: "t", kind: "mute", kind_label: "Mute", actor: "", target: "bob", room: "General" },
      { at: "t", kind: "archive", actor: "root" },
    ]);
    assert.deepEqual(
      rows.map((row) => [row.actor, row.action, row.target, row.room, row.reason]),
      [
        ["system", "Mute", "bob", "General", ""],
        ["root", "archive", "", "", ""],
      ],
    );
  });
});
