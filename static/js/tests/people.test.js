import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { alertFor } from "../chat/alerts.js";
import { directTitle } from "../chat/direct_ui.js";
import { Members } from "../chat/members.js";
import {
  cardPosition,
  displayName,
  handle,
  hasDisplayName,
  joinedText,
  nameWithHandle,
  namesList,
  profileCardModel,
  profileUrl,
} from "../chat/people.js";

const ALICE = { id: 1, username: "alice", display_name: "Alice Liddell" };
const BOB = { id: 2, username: "bob", display_name: "" };

describe("naming a person", () => {
  test("shows the display name, or the username when there is none", () => {
    assert.equal(displayName(ALICE), "Alice Liddell");
    assert.equal(displayName(BOB), "bob");
    // An older server sends no display_name; blanks are no name either.
    assert.equal(displayName({ id: 3, username: "carol" }), "carol");
    assert.equal(displayName({ id: 3, username: "carol", display_name: "   " }), "carol");
    assert.equal(displayName(null), "");
  });

  test("tells people apart by their username", () => {
    assert.equal(handle(ALICE), "@alice");
    assert.ok(hasDisplayName(ALICE));
    assert.ok(!hasDisplayName(BOB));
    assert.equal(nameWithHandle(ALICE), "Alice Liddell (@alice)");
    assert.equal(nameWithHandle(BOB), "@bob");
  });

  test("names a group as the server titles a conversation", () => {
    assert.equal(namesList([ALICE, BOB]), "Alice Liddell, bob");
    assert.equal(directTitle({ kind: "direct", members: [ALICE, BOB] }), "Alice Liddell, bob");
    assert.equal(directTitle({ kind: "direct", members: [] }), "Only you");
  });

  test("a desktop alert is titled by the author's display name", () => {
    const rooms = new Map([
      ["dm-1", { slug: "dm-1", name: "dm-1", kind: "direct", last_read_rev: 0, notify: {} }],
      ["general", { slug: "general", name: "General", last_read_rev: 0, notify: { level: "all" } }],
    ]);
    const context = { me: { id: 2 }, rooms, viewing: null, visible: false, defaults: null };
    const frame = (room) => ({
      type: "message.new",
      room,
      message: { id: 9, rev: 3, created_rev: 3, room, author: ALICE, body: "hi", mentions: [] },
    });
    assert.equal(alertFor(frame("dm-1"), context).title, "Alice Liddell (direct message)");
    assert.equal(alertFor(frame("general"), context).title, "Alice Liddell in #General");
  });

  test("the member list keeps display names, and still sorts by username", () => {
    const members = new Members({ me: { id: 2, username: "bob" } });
    members.load({
      members: [
        { user: { id: 1, username: "zed", display_name: "Aaron" }, role: "member" },
        { user: BOB, role: "member" },
      ],
    });
    const listed = members.list().map((member) => member.user);
    assert.deepEqual(
      listed.map((user) => user.username),
      ["bob", "zed"],
    );
    assert.equal(displayName(listed[1]), "Aaron");
    members.update({ user: { id: 1, username: "zed", display_name: "Zed" }, role: "member" });
    assert.equal(displayName(members.byId.get(1).user), "Zed");
  });
});

describe("the profile card", () => {
  const answer = (fields = {}) => ({
    user: { ...ALICE, date_joined: "2026-03-02T10:00:00Z", staff: false },
    rooms_in_common: [
      { slug: "lobby", name: "Lobby", url: "/rooms/lobby/" },
      { slug: "garden", name: "Garden", url: "/rooms/garden/" },
    ],
    direct: null,
    is_self: false,
    ...fields,
  });
  const isoDay = (date) => date.toISOString().slice(0, 10);

  test("is asked for at the person's address", () => {
    assert.equal(profileUrl("/api/users/", "alice"), "/api/users/alice/");
    assert.equal(profileUrl("/api/users/", "a+b@x"), "/api/users/a%2Bb%40x/");
  });

  test("says who the person is, when they joined and the rooms in common", () => {
    const model = profileCardModel(answer(), { currentSlug: "lobby", formatDate: isoDay });
    assert.equal(model.name, "Alice Liddell");
    assert.equal(model.handle, "@alice");
    assert.equal(model.joined, "Joined 2026-03-02");
    assert.deepEqual(model.rooms, [
      { label: "#Lobby", url: "/rooms/lobby/", current: true },
      { label: "#Garden", url: "/rooms/garden/", current: false },
    ]);
    assert.equal(model.staff, false);
    assert.ok(profileCardModel(answer({ user: { ...ALICE, staff: true } })).staff);
  });

  test("offers Message: made on the way, or the conversation that exists", () => {
    assert.deepEqual(profileCardModel(answer()).message, { username: "alice", url: null });
    const direct = { slug: "dm-1", url: "/rooms/dm-1/" };
    assert.deepEqual(profileCardModel(answer({ direct })).message, {
      username: "alice",
      url: "/rooms/dm-1/",
    });
    // From inside that very conversation there is nowhere to go.
    assert.equal(profileCardModel(answer({ direct }), { currentSlug: "dm-1" }).message, null);
    assert.equal(profileCardModel(answer()).editUrl, null);
  });

  test("one's own card has no Message, and links to where one edits it", () => {
    const own = profileCardModel(answer({ is_self: true }), { editUrl: "/settings/profile/" });
    assert.equal(own.message, null);
    assert.equal(own.editUrl, "/settings/profile/");
  });

  test("copes with a person without a display name, and a missing date", () => {
    const model = profileCardModel({ user: { id: 2, username: "bob" }, is_self: false });
    assert.equal(model.name, "bob");
    assert.equal(model.joined, "");
    assert.deepEqual(model.rooms, []);
    assert.equal(joinedText("not a date"), "");
    assert.match(joinedText("2026-03-02T10:00:00Z"), /^Joined .*2026/);
  });

  test("sits below the name, or above it near the bottom, inside the window", () => {
    const viewport = { width: 800, height: 600 };
    const size = { width: 300, height: 200 };
    const name = (top, left) => ({ top, bottom: top + 20, left });
    assert.deepEqual(cardPosition(name(100, 50), size, viewport), { top: 126, left: 50 });
    assert.deepEqual(cardPosition(name(500, 50), size, viewport), { top: 294, left: 50 });
    // Near the right edge it moves left; it never starts off the window.
    assert.deepEqual(cardPosition(name(100, 700), size, viewport), { top: 126, left: 492 });
    assert.deepEqual(cardPosition(name(100, -40), size, viewport), { top: 126, left: 8 });
  });
});
