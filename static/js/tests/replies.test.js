import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { alertFor } from "../chat/alerts.js";
import { Outbox } from "../chat/outbox.js";
import { fitsFrame, sendFrame } from "../chat/protocol.js";
import {
  DELETED_TEXT,
  quoteOfMessage,
  quoteText,
  REPLY_EXCERPT_MAX,
  repliesToMe,
  replyExcerpt,
  replyOf,
  withFreshQuote,
} from "../chat/replies.js";
import { FakeTimers, MemoryStorage } from "./fakes.js";

const ALICE = { id: 7, username: "alice", display_name: "" };
const BOB = { id: 9, username: "bob", display_name: "Bob" };
const QUOTE = { id: 981, author: ALICE, excerpt: "Lunch at noon?", deleted: false };

describe("replyExcerpt: the first line with text, as chat/records.py says it", () => {
  // The same cases as chat/tests/test_replies.py's ExcerptTestCase.
  const cases = [
    ["hello\nworld", "hello"],
    ["\n\n  \nsecond line", "second line"],
    ["**bold** and _it_ and `code` and ~~gone~~", "bold and it and code and gone"],
    ["> quoted words\nnext", "quoted words"],
    ["- item one\n- item two", "item one"],
    ["1. first", "first"],
    ["```python\nprint(1)\n```", "python"],
    ["snake_case_name stays", "snake_case_name stays"],
    ["<b>raw</b>", "<b>raw</b>"],
    ["   \n", ""],
  ];
  for (const [body, excerpt] of cases) {
    test(JSON.stringify(body), () => assert.equal(replyExcerpt(body), excerpt));
  }

  test("a long line is cut with an ellipsis, never inside an emoji", () => {
    const excerpt = replyExcerpt("😀".repeat(500));
    assert.equal([...excerpt].length, REPLY_EXCERPT_MAX);
    assert.ok(excerpt.endsWith("😀…"));
  });
});

describe("replyOf: a quote of a checked shape", () => {
  test("keeps a well-formed quote", () => {
    assert.deepEqual(replyOf(QUOTE), QUOTE);
  });

  test("refuses what is not one", () => {
    const values = [
      null,
      undefined,
      {},
      { id: "1", author: ALICE },
      { id: 0, author: ALICE },
      { id: 5 },
      { id: 5, author: { id: 1 } },
    ];
    for (const value of values) {
      assert.equal(replyOf(value), null, JSON.stringify(value));
    }
  });

  test("fills what an older shape left out", () => {
    const quote = replyOf({ id: 5, author: { id: 1, username: "x" } });
    assert.deepEqual(quote, {
      id: 5,
      author: { id: 1, username: "x", display_name: "" },
      excerpt: "",
      deleted: false,
    });
  });

  test("the quote of a message about to be answered", () => {
    const msg = { id: 981, author: ALICE, body: "**Lunch** at noon?\nor later" };
    assert.deepEqual(quoteOfMessage(msg), QUOTE);
  });

  test("a deleted original says so", () => {
    assert.equal(quoteText({ ...QUOTE, deleted: true, excerpt: "" }), DELETED_TEXT);
    assert.equal(quoteText(QUOTE), "Lunch at noon?");
  });
});

describe("repliesToMe and fresh quotes", () => {
  test("a reply to one of mine, by someone else, not to a deleted one", () => {
    const reply = { id: 990, author: BOB, reply_to: QUOTE };
    assert.equal(repliesToMe(reply, ALICE), true);
    assert.equal(repliesToMe(reply, BOB), false);
    assert.equal(repliesToMe({ ...reply, author: ALICE }, ALICE), false);
    assert.equal(repliesToMe({ ...reply, reply_to: { ...QUOTE, deleted: true } }, ALICE), false);
    assert.equal(repliesToMe({ ...reply, reply_to: null }, ALICE), false);
  });

  test("an edited or deleted original refreshes the quote; anything else leaves it", () => {
    const reply = { id: 990, rev: 5, author: BOB, reply_to: QUOTE };
    const edited = withFreshQuote(reply, { id: 981, body: "Dinner instead", deleted: false });
    assert.equal(edited.reply_to.excerpt, "Dinner instead");
    assert.equal(edited.rev, 5);
    const deleted = withFreshQuote(reply, { id: 981, body: "", deleted: true });
    assert.deepEqual([deleted.reply_to.excerpt, deleted.reply_to.deleted], ["", true]);
    assert.equal(withFreshQuote(reply, { id: 42, body: "other" }), reply);
    assert.equal(withFreshQuote(reply, { id: 981, body: "Lunch at noon?" }), reply);
  });
});

describe("sending a reply", () => {
  test("message.send carries reply_to only when there is one", () => {
    assert.deepEqual(sendFrame("c-1", "hi", 981), {
      type: "message.send",
      client_id: "c-1",
      body: "hi",
      reply_to: 981,
    });
    assert.equal("reply_to" in sendFrame("c-1", "hi"), false);
  });

  test("the frame's room for a reply_to is kept within frame_max", () => {
    const body = "x".repeat(100);
    const frame = JSON.stringify(sendFrame("c-".padEnd(64, "x"), body, 2 ** 53 - 1));
    assert.equal(fitsFrame(body, frame.length), true);
    assert.equal(fitsFrame(body, frame.length - 1), false);
  });

  function outboxOn(storage) {
    const timers = new FakeTimers();
    const sent = [];
    let counter = 0;
    const outbox = new Outbox({
      slug: "general",
      send: (frame) => sent.push(frame) > 0,
      storage,
      timers,
      now: timers.now,
      makeClientId: () => `c-${++counter}`,
    });
    return { outbox, sent };
  }

  test("the outbox keeps the reply for every resend, and across a reload", () => {
    const storage = new MemoryStorage();
    const { outbox, sent } = outboxOn(storage);
    const entry = outbox.queue("yes", QUOTE);
    outbox.flush(); // a reconnect before the acknowledgement
    assert.deepEqual(
      sent.map((frame) => [frame.client_id, frame.reply_to]),
      [
        [entry.clientId, 981],
        [entry.clientId, 981],
      ],
    );
    const after = outboxOn(storage);
    after.outbox.restore(new Set());
    assert.deepEqual(after.outbox.get(entry.clientId).reply, QUOTE);
    after.outbox.flush();
    assert.equal(after.sent[0].reply_to, 981);
  });

  test("a message that answers nothing sends no reply_to", () => {
    const { outbox, sent } = outboxOn(new MemoryStorage());
    outbox.queue("hi");
    assert.equal("reply_to" in sent[0], false);
  });
});

describe("alerts: a reply to me is news as a mention is", () => {
  const room = {
    slug: "general",
    name: "General",
    rev: 10,
    last_read_rev: 10,
    notify: { level: "mentions", muted: false, custom: false },
  };
  const rooms = { get: (slug) => (slug === "general" ? room : undefined) };
  const frame = (fields) => ({
    type: "message.new",
    room: "general",
    message: {
      id: 990,
      rev: 11,
      created_rev: 11,
      room: "general",
      author: BOB,
      body: "yes",
      deleted: false,
      mentions: [],
      mention_all: null,
      reply_to: QUOTE,
      ...fields,
    },
  });
  const context = { me: ALICE, rooms, viewing: null, visible: false, defaults: null };

  test("alerts on a reply to mine at the level mentions", () => {
    assert.equal(alertFor(frame({}), context)?.messageId, 990);
  });

  test("not on a reply to someone else, nor in a muted room", () => {
    assert.equal(alertFor(frame({ reply_to: { ...QUOTE, author: BOB } }), context), null);
    const muted = { get: () => ({ ...room, notify: { ...room.notify, muted: true } }) };
    assert.equal(alertFor(frame({}), { ...context, rooms: muted }), null);
  });
});
