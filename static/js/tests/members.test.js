import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  LONGEST_WAIT_MS,
  Members,
  compareMembers,
  isMuted,
  mutedComposerText,
  mutedNoticeText,
} from "../chat/members.js";

const NOW = Date.parse("2026-03-01T12:00:00Z");
const inMinutes = (minutes) => new Date(NOW + minutes * 60_000).toISOString();

const member = (id, username, role = "member", fields = {}) => ({
  user: { id, username },
  role,
  muted: false,
  muted_until: null,
  ...fields,
});

function roomOf(myRole, { staff = false } = {}) {
  const members = new Members({ me: { id: 1, username: "me", staff } });
  const me = member(1, "me", myRole);
  members.setMe({
    role: myRole,
    muted: false,
    muted_until: null,
    can_moderate: staff || myRole === "owner" || myRole === "moderator",
    can_manage_roles: staff || myRole === "owner",
  });
  members.load({
    members: [
      me,
      member(2, "olga", "owner"),
      member(3, "mo", "moderator"),
      member(4, "bob"),
      member(5, "amy"),
    ],
    banned: [{ user: { id: 9, username: "troll" } }],
  });
  return members;
}

const labels = (members, id) =>
  members.actionsFor(members.list().find((m) => m.user.id === id), NOW).map((a) => a.label);

describe("Members: the list", () => {
  test("owners, then moderators, then members, each by username", () => {
    const members = roomOf("member");
    assert.deepEqual(
      members.list().map((m) => m.user.username),
      ["olga", "mo", "amy", "bob", "me"],
    );
    assert.equal(compareMembers(member(1, "b", "owner"), member(2, "a", "member")) < 0, true);
  });

  test("online comes from usernames; me is marked", () => {
    const members = roomOf("member");
    members.setOnline(["bob", "me", "newcomer"]);
    const byName = Object.fromEntries(members.list().map((m) => [m.user.username, m]));
    assert.equal(byName.bob.online, true);
    assert.equal(byName.amy.online, false);
    assert.equal(byName.me.isMe, true);
  });

  test("an author missing from the loaded list is a new member", () => {
    const members = roomOf("member");
    assert.equal(members.isNewMember({ id: 4, username: "bob" }), false);
    assert.equal(members.isNewMember({ id: 42, username: "newcomer" }), true);
    const notLoaded = new Members({ me: { id: 1, username: "me", staff: false } });
    assert.equal(notLoaded.isNewMember({ id: 42, username: "newcomer" }), false);
  });

  test("readers online who are not members come last, and nobody acts on them", () => {
    const members = roomOf("owner");
    members.setOnline(["zoe", "bob", "abe"]);
    const list = members.list();
    assert.deepEqual(
      list.slice(-2).map((m) => [m.user.username, m.role, m.online]),
      [
        ["abe", null, true],
        ["zoe", null, true],
      ],
    );
    assert.equal(list.filter((m) => m.user.username === "bob").length, 1);
    assert.deepEqual(members.actionsFor(list.at(-1), NOW), []);
  });

  test("before the list loads, the people online stand in for it", () => {
    const members = new Members({ me: { id: 1, username: "me", staff: false } });
    members.setOnline(["me", "zed"]);
    assert.deepEqual(
      members.list().map((m) => [m.user.username, m.online]),
      [
        ["me", true],
        ["zed", true],
      ],
    );
    // Nobody can be acted on without ids.
    assert.equal(members.mayActOn(members.list()[1]), false);
  });

  test("member.updated changes a role and re-sorts; member.removed drops", () => {
    const members = roomOf("owner");
    members.update(member(4, "bob", "moderator"));
    assert.deepEqual(
      members.list().map((m) => m.user.username),
      ["me", "olga", "bob", "mo", "amy"],
    );
    members.remove({ id: 4, username: "bob" }, "removed");
    assert.equal(
      members.list().some((m) => m.user.id === 4),
      false,
    );
    assert.deepEqual(
      members.banned.map((b) => b.user.username),
      ["troll"],
    );
    members.remove({ id: 5, username: "amy" }, "banned");
    assert.deepEqual(
      members.banned.map((b) => b.user.username),
      ["troll", "amy"],
    );
    members.unbanned({ id: 9, username: "troll" });
    assert.deepEqual(
      members.banned.map((b) => b.user.username),
      ["amy"],
    );
  });
});

describe("Members: what I may do (mirrors the server's rules)", () => {
  test("nobody acts on themselves", () => {
    for (const role of ["owner", "moderator", "member"]) {
      assert.deepEqual(labels(roomOf(role), 1), [], role);
    }
    assert.deepEqual(labels(roomOf("member", { staff: true }), 1), []);
  });

  test("a member acts on nobody", () => {
    const members = roomOf("member");
    for (const id of [2, 3, 4, 5]) assert.deepEqual(labels(members, id), []);
  });

  test("moderators act on members only, and cannot change roles", () => {
    const members = roomOf("moderator");
    assert.deepEqual(labels(members, 2), []);
    assert.deepEqual(labels(members, 3), []);
    assert.deepEqual(labels(members, 4), [
      "Mute 10 minutes",
      "Mute 1 hour",
      "Mute 1 day",
      "Mute until unmuted",
      "Remove from room",
      "Ban",
    ]);
  });

  test("owners act on anyone but owners, roles included", () => {
    const members = roomOf("owner");
    assert.deepEqual(labels(members, 2), []);
    assert.ok(labels(members, 3).includes("Make member"));
    assert.ok(!labels(members, 3).includes("Make moderator"));
    assert.ok(labels(members, 4).includes("Make moderator"));
    assert.ok(!labels(members, 4).includes("Make member"));
  });

  test("staff act on anyone, owners included", () => {
    const members = roomOf("member", { staff: true });
    const onOwner = labels(members, 2);
    assert.ok(onOwner.includes("Ban"));
    assert.ok(onOwner.includes("Make moderator"));
    assert.ok(onOwner.includes("Make member"));
  });

  test("a muted member offers Unmute instead of the mutes", () => {
    const members = roomOf("owner");
    members.update(member(4, "bob", "member", { muted: true, muted_until: inMinutes(10) }));
    const bob = labels(members, 4);
    assert.equal(bob[0], "Unmute");
    assert.ok(!bob.some((label) => label.startsWith("Mute")));
  });

  test("the action bodies are what the API takes", () => {
    const members = roomOf("owner");
    const bob = members.list().find((m) => m.user.id === 4);
    const actions = members.actionsFor(bob, NOW);
    assert.deepEqual(
      actions.filter((a) => a.action === "mute").map((a) => a.body.minutes),
      [10, 60, 1440, null],
    );
    assert.deepEqual(actions.find((a) => a.label === "Make moderator").body, { role: "moderator" });
    assert.equal(actions.find((a) => a.action === "ban").asksReason, true);
    assert.equal(actions.find((a) => a.action === "remove").asksReason, true);
  });
});

describe("Members: me", () => {
  test("hello.me from an older server (no role) leaves staff able to moderate", () => {
    const members = new Members({ me: { id: 1, username: "me", staff: false } });
    members.setMe({ id: 1, username: "me", staff: true });
    assert.equal(members.me.can_moderate, true);
    assert.equal(members.me.role, null);
  });

  test("member.updated about me changes my rights and my mute", () => {
    const members = roomOf("member");
    assert.equal(members.me.can_moderate, false);
    assert.equal(members.update(member(1, "me", "moderator")), true);
    assert.equal(members.me.can_moderate, true);
    assert.equal(members.me.can_manage_roles, false);
    assert.equal(members.update(member(4, "bob", "moderator")), false);

    members.update(member(1, "me", "member", { muted: true, muted_until: null }));
    assert.equal(members.me.can_moderate, false);
    assert.deepEqual(members.myMute(NOW), { muted: true, until: null });
    members.update(member(1, "me", "member", { muted: false }));
    assert.deepEqual(members.myMute(NOW), { muted: false, until: null });
  });

  test("staff keep their rights whatever their role", () => {
    const members = roomOf("moderator", { staff: true });
    members.update(member(1, "me", "member"));
    assert.equal(members.me.can_moderate, true);
    assert.equal(members.me.can_manage_roles, true);
  });
});

describe("mutes in time", () => {
  test("a mute with an end lapses by itself; without one it holds", () => {
    const m = member(4, "bob", "member", { muted: true, muted_until: inMinutes(10) });
    assert.equal(isMuted(m, NOW), true);
    assert.equal(isMuted(m, NOW + 10 * 60_000), false);
    assert.equal(isMuted({ ...m, muted_until: null }, NOW + 1e12), true);
    assert.equal(isMuted({ ...m, muted: false }, NOW), false);
  });

  test("the next expiry is the nearest mute still running, at most a day away", () => {
    const members = roomOf("owner");
    assert.equal(members.nextExpiryDelay(NOW), null);
    members.update(member(4, "bob", "member", { muted: true, muted_until: inMinutes(60) }));
    members.update(member(5, "amy", "member", { muted: true, muted_until: inMinutes(10) }));
    members.update(member(3, "mo", "moderator", { muted: true, muted_until: null }));
    assert.equal(members.nextExpiryDelay(NOW), 10 * 60_000);
    assert.equal(members.nextExpiryDelay(NOW + 10 * 60_000), 50 * 60_000);
    members.update(member(1, "me", "owner", { muted: true, muted_until: inMinutes(525600) }));
    assert.equal(members.nextExpiryDelay(NOW + 60 * 60_000), LONGEST_WAIT_MS);
  });

  test("what the composer and the notice say", () => {
    const at = () => "14:05";
    assert.equal(mutedComposerText("2026-03-01T14:05:00Z", at), "You are muted until 14:05.");
    assert.equal(mutedComposerText(null, at), "You are muted in this room.");
    assert.equal(
      mutedNoticeText("2026-03-01T14:05:00Z", at),
      "You are muted in this room (until 14:05).",
    );
    assert.equal(mutedNoticeText(null, at), "You are muted in this room.");
  });
});
