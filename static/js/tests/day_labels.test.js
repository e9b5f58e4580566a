import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { GROUP_WINDOW_MS, addDays, continuesGroup, dayKey, dayLabel } from "../chat/day_labels.js";

describe("dayKey", () => {
  test("is the calendar day in the time zone given", () => {
    // 23:30 in Paris on 30 November is still the 30th there, the 1st nowhere near.
    const moment = "2026-11-30T22:30:00Z";
    assert.equal(dayKey(moment, "UTC"), "2026-11-30");
    assert.equal(dayKey(moment, "Europe/Paris"), "2026-11-30");
    assert.equal(dayKey("2026-11-30T23:30:00Z", "Europe/Paris"), "2026-12-01");
    assert.equal(dayKey("2026-11-30T23:30:00Z", "UTC"), "2026-11-30");
  });

  test("crosses midnight where the zone does, not where UTC does", () => {
    // 07:50 UTC on 1 December is still 30 November, 23:50, in Los Angeles (UTC-8).
    assert.equal(dayKey("2026-12-01T07:50:00Z", "America/Los_Angeles"), "2026-11-30");
    assert.equal(dayKey("2026-12-01T08:00:00Z", "America/Los_Angeles"), "2026-12-01");
    assert.equal(dayKey("2026-12-01T07:50:00Z", "UTC"), "2026-12-01");
    // New Year's Eve in Los Angeles is already next year in UTC.
    assert.equal(dayKey("2027-01-01T05:00:00Z", "America/Los_Angeles"), "2026-12-31");
  });

  test("follows summer time", () => {
    // Paris moves to UTC+2 on 29 March 2026: 22:30 UTC is then 00:30 the next day.
    assert.equal(dayKey("2026-03-28T22:30:00Z", "Europe/Paris"), "2026-03-28"); // 23:30 (+1)
    assert.equal(dayKey("2026-03-29T22:30:00Z", "Europe/Paris"), "2026-03-30"); // 00:30 (+2)
  });

  test("takes a Date or milliseconds, and gives null for what is not a time", () => {
    const date = new Date(Date.UTC(2026, 10, 30, 12));
    assert.equal(dayKey(date, "UTC"), "2026-11-30");
    assert.equal(dayKey(date.getTime(), "UTC"), "2026-11-30");
    for (const bad of [undefined, null, "", "yesterday", Number.NaN]) {
      assert.equal(dayKey(bad, "UTC"), null, String(bad));
    }
  });

  test("without a time zone, uses the running one", () => {
    const local = new Date(2026, 10, 30, 0, 5); // 00:05 on 30 November, here
    assert.equal(dayKey(local), "2026-11-30");
  });
});

describe("addDays", () => {
  test("steps across months, years and leap days", () => {
    assert.equal(addDays("2026-12-01", -1), "2026-11-30");
    assert.equal(addDays("2027-01-01", -1), "2026-12-31");
    assert.equal(addDays("2028-03-01", -1), "2028-02-29");
    assert.equal(addDays("2026-11-30", 1), "2026-12-01");
    assert.equal(addDays("not a day", 1), null);
  });
});

describe("dayLabel", () => {
  const today = "2026-12-01";

  test("says Today and Yesterday", () => {
    assert.equal(dayLabel("2026-12-01", today), "Today");
    assert.equal(dayLabel("2026-11-30", today), "Yesterday");
  });

  test("names older days with weekday, day and month", () => {
    assert.equal(dayLabel("2026-11-29", today), "Sunday 29 November");
    assert.equal(dayLabel("2026-01-05", today), "Monday 5 January");
  });

  test("adds the year outside the current one", () => {
    assert.equal(dayLabel("2025-11-30", today), "Sunday 30 November 2025");
    // Yesterday across New Year is still Yesterday.
    assert.equal(dayLabel("2026-12-31", "2027-01-01"), "Yesterday");
    assert.equal(dayLabel("2026-12-30", "2027-01-01"), "Wednesday 30 December 2026");
    // A day ahead of the reader's clock (a fast server clock) is named, not "Today".
    assert.equal(dayLabel("2026-12-02", today), "Wednesday 2 December");
  });

  test("a new day turns Today into Yesterday", () => {
    assert.equal(dayLabel("2026-12-01", "2026-12-01"), "Today");
    assert.equal(dayLabel("2026-12-01", "2026-12-02"), "Yesterday");
    assert.equal(dayLabel("2026-12-01", "2026-12-03"), "Tuesday 1 December");
  });

  test("gives nothing for what is not a day", () => {
    assert.equal(dayLabel("", today), "");
    assert.equal(dayLabel(undefined, today), "");
  });
});

describe("continuesGroup", () => {
  const alice = { id: 1, username: "alice" };
  const bob = { id: 2, username: "bob" };
  const at = (author, created_at) => ({ author, created_at });

  test("groups one author's messages a few minutes apart", () => {
    const first = at(alice, "2026-11-30T12:00:00Z");
    const utc = { timeZone: "UTC" };
    assert.equal(continuesGroup(first, at(alice, "2026-11-30T12:04:59Z"), utc), true);
    assert.equal(continuesGroup(first, at(alice, "2026-11-30T12:05:00Z"), utc), false);
    assert.equal(continuesGroup(first, at(bob, "2026-11-30T12:01:00Z"), utc), false);
    assert.equal(GROUP_WINDOW_MS, 5 * 60 * 1000);
  });

  test("never across the reader's midnight", () => {
    // Two minutes apart, on both sides of midnight in Los Angeles (08:00 UTC)...
    const before = at(alice, "2026-12-01T07:59:00Z");
    const after = at(alice, "2026-12-01T08:01:00Z");
    assert.equal(continuesGroup(before, after, { timeZone: "America/Los_Angeles" }), false);
    // ...but the same day in UTC and in Paris.
    assert.equal(continuesGroup(before, after, { timeZone: "UTC" }), true);
    assert.equal(continuesGroup(before, after, { timeZone: "Europe/Paris" }), true);
    // And midnight in Paris (23:00 UTC) splits what UTC would keep.
    const lateParis = at(alice, "2026-11-30T22:59:00Z");
    const earlyParis = at(alice, "2026-11-30T23:01:00Z");
    assert.equal(continuesGroup(lateParis, earlyParis, { timeZone: "Europe/Paris" }), false);
    assert.equal(continuesGroup(lateParis, earlyParis, { timeZone: "UTC" }), true);
  });

  test("not without a message above, or with an unreadable time", () => {
    const msg = at(alice, "2026-11-30T12:00:00Z");
    assert.equal(continuesGroup(undefined, msg, { timeZone: "UTC" }), false);
    assert.equal(continuesGroup(msg, undefined, { timeZone: "UTC" }), false);
    assert.equal(continuesGroup(at(alice, ""), msg, { timeZone: "UTC" }), false);
  });
});
