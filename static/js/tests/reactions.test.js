// Reactions: the emoji rule (the server's), whether I reacted, a chip's title, the frames;
// and a message.reactions frame through the tab, the room states and the room client.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  hasReacted,
  isEmoji,
  myEmoji,
  QUICK_EMOJI,
  reactionFrame,
  reactionsOf,
  reactionTitle,
  TITLE_NAMES_MAX,
} from "../chat/reactions.js";
import { RoomClient } from "../chat/room_client.js";
import { applyFrame, ROOM_STATE_FRAMES } from "../chat/room_states.js";
import { Timeline } from "../chat/store.js";
import { Tab } from "../chat/tab.js";

const ME = 2;
const user = (id, username, display_name = "") => ({ id, username, display_name });
const ALICE = user(1, "alice", "Alice Liddell");
const BOB = user(ME, "bob");
const CAROL = user(3, "carol");

// As chat/tests/test_reactions.py's EMOJI and NOT_EMOJI: the two rules are one.
const EMOJI = [
  "👍", "👍🏽", "❤️", "❤", "🇫🇷", "1️⃣", "#️⃣", "*⃣", "👨‍👩‍👧‍👦", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "👩🏽‍💻",
  "🧑‍🤝‍🧑", "☺️", "✅", "🫠", "🎉", "🙏🏿", "🏳️‍🌈", "🏳️‍⚧️", "😶‍🌫️", "❤️‍🔥", "🤷‍♀️", "🀄",
];
const NOT_EMOJI = [
  "", "a", "1", "ok", "+1", ":thumbsup:", "👍👍", " 👍", "👍 ", "👍\n", "\u200d", "\ufe0f",
  "👍a", "a👍", "🇫", "🇫🇷🇫", "\x00", "<b>", "1️", "\u20e3", "👍\u200d", "\u{e007f}",
  "🏻🏻", "👍".repeat(40), "\ud83d", 5, null, ["👍"], { emoji: "👍" }, true,
];

test("one emoji is a reaction, and nothing else is: the server's rule", () => {
  for (const emoji of EMOJI) assert.equal(isEmoji(emoji), true, emoji);
  for (const value of NOT_EMOJI) assert.equal(isEmoji(value), false, JSON.stringify(value));
  for (const { emoji, name } of QUICK_EMOJI) {
    assert.equal(isEmoji(emoji), true, emoji);
    assert.ok(name);
  }
  assert.equal(QUICK_EMOJI.length, 24);
});

test("reactions of a message: none when deleted or from an older server", () => {
  const reactions = [{ emoji: "👍", count: 1, user_ids: [ME], users: [BOB] }];
  assert.deepEqual(reactionsOf({ reactions }), reactions);
  assert.deepEqual(reactionsOf({ deleted: true, reactions }), []);
  assert.deepEqual(reactionsOf({}), []);
  assert.deepEqual(reactionsOf({ reactions: "x" }), []);
});

test("whether I reacted comes from every id, not only the names sent", () => {
  const many = Array.from({ length: 25 }, (_, i) => user(100 + i, `fan${i}`));
  const reaction = { emoji: "👍", count: 26, user_ids: [...many.map((u) => u.id), ME], users: many.slice(0, 20) };
  assert.equal(hasReacted(reaction, ME), true);
  assert.equal(hasReacted(reaction, 999), false);
  // Without user_ids (not sent by this server), the names are all there is.
  assert.equal(hasReacted({ emoji: "👍", count: 1, users: [BOB] }, ME), true);
  const msg = {
    reactions: [reaction, { emoji: "🎉", count: 1, user_ids: [1], users: [ALICE] }],
  };
  assert.deepEqual(myEmoji(msg, ME), ["👍"]);
});

test("a chip's title names who reacted, me as You first, the rest counted", () => {
  const one = { emoji: "👍", count: 1, user_ids: [1], users: [ALICE] };
  assert.equal(reactionTitle(one, ME), "Alice Liddell reacted with 👍");
  const two = { emoji: "👍", count: 2, user_ids: [1, ME], users: [ALICE, BOB] };
  assert.equal(reactionTitle(two, ME), "You and Alice Liddell reacted with 👍");
  const three = { emoji: "🎉", count: 3, user_ids: [1, 3, ME], users: [ALICE, CAROL, BOB] };
  assert.equal(reactionTitle(three, ME), "You, Alice Liddell and carol reacted with 🎉");
  assert.equal(reactionTitle(three, 99), "Alice Liddell, carol and bob reacted with 🎉");

  const many = Array.from({ length: 20 }, (_, i) => user(100 + i, `fan${i}`));
  const crowd = { emoji: "👍", count: 23, user_ids: [], users: many };
  const names = many.slice(0, TITLE_NAMES_MAX).map((u) => u.username);
  assert.equal(
    reactionTitle(crowd, ME),
    `${names.join(", ")} and 13 others reacted with 👍`,
  );
  // I reacted after the names the server sends: still "You", and the count holds.
  const late = { ...crowd, count: 21, user_ids: [...many.map((u) => u.id), ME] };
  assert.match(reactionTitle(late, ME), /^You, fan0, .* and 11 others reacted with 👍$/);
  const justOneMore = { emoji: "👍", count: 2, user_ids: [1, 3], users: [ALICE] };
  assert.equal(reactionTitle(justOneMore, ME), "Alice Liddell and 1 other reacted with 👍");
});

test("the frames add and take back", () => {
  assert.deepEqual(reactionFrame(5, "👍", true), { type: "reaction.add", id: 5, emoji: "👍" });
  assert.deepEqual(reactionFrame(5, "👍", false), { type: "reaction.remove", id: 5, emoji: "👍" });
});

// --- the frame on its way: tab, room states, room client --------------------------------

function reacted(id, rev, { created = 11, mentions = [] } = {}) {
  return {
    type: "message.reactions",
    room: "general",
    message: {
      id, rev, room: "general", author: ALICE, body: "x", created_rev: created, mentions,
      mention_all: null, deleted: false,
      reactions: [{ emoji: "👍", count: 1, user_ids: [3], users: [CAROL] }],
    },
  };
}

function roomState(extra = {}) {
  return {
    slug: "general", name: "general", rev: 11, last_read_rev: 10, unread: 1, mentions: 1,
    unread_mentions: [5], role: "member", notify: { level: "mentions", muted: false }, ...extra,
  };
}

test("a reaction moves a room's revision, never its unread or mention counts", () => {
  assert.ok(ROOM_STATE_FRAMES.has("message.reactions"));
  const rooms = applyFrame({ general: roomState() }, reacted(5, 12, { mentions: [ME] }), ME);
  assert.deepEqual(rooms.general, roomState({ rev: 12 }));
  // An older revision than the state's changes nothing.
  const again = applyFrame(rooms, reacted(5, 12), ME);
  assert.deepEqual(again.general, rooms.general);
});

class FakeSocket {
  constructor() {
    this.sent = [];
    this.live = false;
  }
  connect() {}
  markLive() {
    this.live = true;
  }
  send(frame) {
    if (!this.live) return false;
    this.sent.push(frame);
    return true;
  }
}

test("the tab sends reactions for the room in view and hands their frames to it", () => {
  let socket;
  const tab = new Tab({
    me: { id: ME, username: "bob" },
    api: null,
    roomsUrl: "",
    makeSocket: () => (socket = new FakeSocket()),
    doc: { visibilityState: "visible", hasFocus: () => true },
  });
  const frames = [];
  tab.view("general", { client: { handle: (frame) => frames.push(frame) }, since: () => 11 });
  tab.handle({ type: "hello", rooms: [roomState()] });
  assert.equal(tab.send(reactionFrame(5, "👍", true)), true);
  assert.deepEqual(socket.sent.at(-1), { type: "reaction.add", id: 5, emoji: "👍", room: "general" });
  tab.handle(reacted(5, 12));
  assert.deepEqual(frames.map((frame) => frame.type), ["message.reactions"]);
  assert.equal(tab.rooms.get("general").unread, 1);
});

test("the room client applies message.reactions as a snapshot by revision", () => {
  const timeline = new Timeline({ rev: 11 });
  const applied = [];
  const client = new RoomClient({
    me: { id: ME, username: "bob" },
    timeline,
    gaps: { watch: () => {} },
    view: {
      followingBottom: (change) => ({ result: change(), wasAtBottom: true }),
      apply: (msg) => {
        applied.push(msg);
        return timeline.apply(msg);
      },
      isAtBottom: () => true,
    },
  });
  const frame = reacted(5, 12);
  client.handle(frame);
  assert.deepEqual(applied, [frame.message]);
  assert.equal(timeline.rev, 12);
  assert.deepEqual(timeline.get(5).reactions[0].user_ids, [3]);
});
