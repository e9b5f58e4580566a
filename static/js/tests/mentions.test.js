import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  CANDIDATES_MAX,
  applyMention,
  highlightParts,
  mayMentionAll,
  mentionAllQuestion,
  mentionCandidates,
  mentionQuery,
  mentionsAll,
} from "../chat/mentions.js";

const member = (id, username, role = "member") => ({ user: { id, username }, role });
const names = (entries) => entries.map((entry) => entry.username);
// The runs of highlightParts as compact strings: "[@bob]" a mention, "[!@me]" mine.
const runs = (parts) =>
  parts.map((p) => (p.mention ? `[${p.me ? "!" : ""}${p.text}]` : p.text)).join("");

describe("mentionQuery", () => {
  test("finds the token typed at the end", () => {
    assert.deepEqual(mentionQuery("hi @bo", 6), { start: 3, end: 6, query: "bo" });
  });

  test("an @ at the very start counts", () => {
    assert.deepEqual(mentionQuery("@al", 3), { start: 0, end: 3, query: "al" });
  });

  test("a bare @ gives an empty query", () => {
    assert.deepEqual(mentionQuery("hey @", 5), { start: 4, end: 5, query: "" });
  });

  test("with the caret in the middle, the query stops there and the token goes on", () => {
    const text = "say @bobby now";
    assert.deepEqual(mentionQuery(text, 7), { start: 4, end: 10, query: "bo" });
  });

  test("the caret right after the @ in a written name: empty query, whole token", () => {
    assert.deepEqual(mentionQuery("@bob", 1), { start: 0, end: 4, query: "" });
  });

  test("the caret before the @ is not in the token", () => {
    assert.equal(mentionQuery("@bob", 0), null);
    assert.equal(mentionQuery("x @bob", 2), null);
  });

  test("an e-mail address is no mention", () => {
    assert.equal(mentionQuery("write to a@b", 12), null);
    assert.equal(mentionQuery("alice@example.com", 17), null);
    assert.equal(mentionQuery("alice@ex", 8), null);
  });

  test("the @ must follow a character that is not part of a name", () => {
    for (const before of ["x", "9", "_", ".", "+", "-", "é"]) {
      assert.equal(mentionQuery(`${before}@bo`, 4), null, `after ${before}`);
    }
    for (const before of [" ", "\n", "\t", "(", ",", "!", "'", '"', ":", "«"]) {
      assert.deepEqual(mentionQuery(`${before}@bo`, 4), { start: 1, end: 4, query: "bo" });
    }
  });

  test("@@name is read as the server reads it: a name that starts with @", () => {
    assert.deepEqual(mentionQuery("@@bo", 4), { start: 0, end: 4, query: "@bo" });
  });

  test("a space ends the token: past it there is nothing to complete", () => {
    assert.equal(mentionQuery("@bob ", 5), null);
    assert.equal(mentionQuery("@bob hi", 7), null);
  });

  test("names take Django's username characters: . @ + - _ and letters of any script", () => {
    assert.deepEqual(mentionQuery("@j.doe+x-y_z", 12), { start: 0, end: 12, query: "j.doe+x-y_z" });
    assert.deepEqual(mentionQuery("@zoë", 4), { start: 0, end: 4, query: "zoë" });
    assert.deepEqual(mentionQuery("hi @Ярос", 8), { start: 3, end: 8, query: "Ярос" });
    assert.deepEqual(mentionQuery("@李小", 3), { start: 0, end: 3, query: "李小" });
  });

  test("letters outside the BMP are walked as one character", () => {
    const text = "@𝒜b"; // U+1D49C is two UTF-16 units, and a letter
    assert.deepEqual(mentionQuery(text, text.length), { start: 0, end: 4, query: "𝒜b" });
    assert.equal(mentionQuery("x𝒜@b", 5), null);
  });

  test("punctuation that is not a name character ends the token", () => {
    assert.deepEqual(mentionQuery("(@bo)", 4), { start: 1, end: 4, query: "bo" });
    assert.equal(mentionQuery("@bo!", 4), null);
  });

  test("a token longer than a username can be is no mention", () => {
    const long = `@${"a".repeat(151)}`;
    assert.equal(mentionQuery(long, long.length), null);
    const longest = `@${"a".repeat(150)}`;
    assert.equal(mentionQuery(longest, longest.length).query.length, 150);
  });

  test("bad arguments give null", () => {
    assert.equal(mentionQuery("@bo", 9), null);
    assert.equal(mentionQuery("@bo", -1), null);
    assert.equal(mentionQuery(null, 0), null);
    assert.equal(mentionQuery("@bo", undefined), null);
  });
});

describe("mentionCandidates", () => {
  const me = { id: 1 };
  const room = [
    member(1, "me"),
    member(2, "bob"),
    member(3, "Bobby", "moderator"),
    member(4, "jimbob"),
    member(5, "alice", "owner"),
    member(6, "rob"),
  ];

  test("names that start with the query come first, then names that contain it", () => {
    assert.deepEqual(names(mentionCandidates("bo", room, { me })), ["bob", "Bobby", "jimbob"]);
  });

  test("case does not matter", () => {
    assert.deepEqual(names(mentionCandidates("BOB", room, { me })), ["bob", "Bobby", "jimbob"]);
  });

  test("an exact match comes first", () => {
    const people = [member(2, "anna"), member(3, "ann"), member(4, "annabel")];
    assert.deepEqual(names(mentionCandidates("Ann", people)), ["ann", "anna", "annabel"]);
  });

  test("I am never offered", () => {
    assert.deepEqual(names(mentionCandidates("me", room, { me })), []);
    assert.deepEqual(names(mentionCandidates("me", room)), ["me"]);
  });

  test("entries carry the id and role", () => {
    assert.deepEqual(mentionCandidates("bobby", room, { me }), [
      { kind: "user", username: "Bobby", id: 3, role: "moderator" },
    ]);
  });

  test(`at most ${CANDIDATES_MAX} people, prefix matches kept first`, () => {
    const many = Array.from({ length: 20 }, (_, i) => member(i + 10, `xuser${i}`));
    many.push(member(99, "ax"));
    const offered = mentionCandidates("x", many, { me });
    assert.equal(offered.length, CANDIDATES_MAX);
    assert.ok(offered.every((entry) => entry.username.startsWith("x")));
  });

  test("@room and @here come after the people, only when allowed", () => {
    const people = [member(2, "rosa"), member(3, "herbert")];
    assert.deepEqual(names(mentionCandidates("r", people, { allowAll: true })), [
      "rosa",
      "herbert",
      "room",
    ]);
    assert.deepEqual(names(mentionCandidates("r", people, { allowAll: false })), [
      "rosa",
      "herbert",
    ]);
    assert.deepEqual(names(mentionCandidates("he", people, { allowAll: true })), [
      "herbert",
      "here",
    ]);
    assert.deepEqual(mentionCandidates("ROO", [], { allowAll: true }), [
      { kind: "all", username: "room", id: null, role: null },
    ]);
    // Only by prefix: "oo" is no way to write @room.
    assert.deepEqual(names(mentionCandidates("oo", [], { allowAll: true })), []);
  });

  test("a member named like @room or @here is not offered as a person", () => {
    const people = [member(2, "Room"), member(3, "here"), member(4, "roomba")];
    assert.deepEqual(names(mentionCandidates("r", people)), ["roomba"]);
  });

  test("bad entries are skipped", () => {
    const people = [null, {}, { user: { id: 2 } }, member(3, ""), member(4, "zed")];
    assert.deepEqual(names(mentionCandidates("z", people)), ["zed"]);
    assert.deepEqual(mentionCandidates("z", undefined), []);
  });

  test("non-Latin names match in their case", () => {
    const people = [member(2, "Ярослав"), member(3, "Zoë")];
    assert.deepEqual(names(mentionCandidates("яр", people)), ["Ярослав"]);
    assert.deepEqual(names(mentionCandidates("oë", people)), ["Zoë"]);
  });
});

describe("applyMention", () => {
  test("replaces the token with @name and a space, caret after it", () => {
    assert.deepEqual(applyMention("hi @bo", 3, 6, "bob"), { text: "hi @bob ", caret: 8 });
  });

  test("replaces the whole token when the caret was in its middle", () => {
    const token = mentionQuery("say @bobxx now", 6);
    assert.deepEqual(applyMention("say @bobxx now", token.start, token.end, "bob"), {
      text: "say @bob now",
      caret: 9,
    });
  });

  test("does not double a space already there", () => {
    assert.deepEqual(applyMention("@al, @bo and", 5, 8, "bob"), {
      text: "@al, @bob and",
      caret: 10,
    });
  });

  test("puts a space before following punctuation", () => {
    assert.deepEqual(applyMention("(@bo)", 1, 4, "bob"), { text: "(@bob )", caret: 6 });
  });

  test("works for @room", () => {
    assert.deepEqual(applyMention("@ro", 0, 3, "room"), { text: "@room ", caret: 6 });
  });
});

describe("mentionsAll (the server's token rules)", () => {
  test("@room and @here, in any case", () => {
    assert.equal(mentionsAll("@room hi"), "room");
    assert.equal(mentionsAll("hi @Here"), "here");
    assert.equal(mentionsAll("HEY @ROOM"), "room");
  });

  test("@room wins over @here", () => {
    assert.equal(mentionsAll("@here and @room"), "room");
    assert.equal(mentionsAll("@room and @here"), "room");
  });

  test("trailing punctuation is not part of the word", () => {
    assert.equal(mentionsAll("listen @room."), "room");
    assert.equal(mentionsAll("@here!"), "here");
    assert.equal(mentionsAll("@room.-+@"), "room");
    assert.equal(mentionsAll("(@here)"), "here");
  });

  test("longer words, addresses and words run on are not @room", () => {
    assert.equal(mentionsAll("@rooms"), null);
    assert.equal(mentionsAll("@roommate"), null);
    assert.equal(mentionsAll("@here_we_go"), null);
    assert.equal(mentionsAll("me@room"), null);
    assert.equal(mentionsAll("me.@room"), null);
    assert.equal(mentionsAll("@room.x"), null);
    assert.equal(mentionsAll("@room@here"), null);
    assert.equal(mentionsAll("room here"), null);
  });

  test("a word in another script right before the @ continues it", () => {
    assert.equal(mentionsAll("é@room"), null);
    assert.equal(mentionsAll("日@here"), null);
    assert.equal(mentionsAll("«@room»"), "room");
  });

  test("no @, not a string: null", () => {
    assert.equal(mentionsAll("hello"), null);
    assert.equal(mentionsAll(""), null);
    assert.equal(mentionsAll(null), null);
  });
});

describe("highlightParts", () => {
  test("only resolved names are mentions; @nobody stays text", () => {
    const parts = highlightParts("hi @bob and @nobody", { mentionedNames: ["bob"] });
    assert.equal(runs(parts), "hi [@bob] and @nobody");
    assert.deepEqual(parts[1], { text: "@bob", mention: true, me: false });
  });

  test("names match in any case; the body's spelling is kept", () => {
    assert.equal(runs(highlightParts("@BOB!", { mentionedNames: ["bob"] })), "[@BOB]!");
  });

  test("mine is marked", () => {
    const parts = highlightParts("@bob @me", { mentionedNames: ["bob", "Me"], me: "me" });
    assert.equal(runs(parts), "[@bob] [!@me]");
  });

  test("trailing punctuation stays outside, unless it is part of a resolved name", () => {
    const bob = { mentionedNames: ["bob"] };
    assert.equal(runs(highlightParts("thanks @bob.", bob)), "thanks [@bob].");
    assert.equal(runs(highlightParts("@bob.", { mentionedNames: ["bob."] })), "[@bob.]");
    assert.equal(runs(highlightParts("@j.doe", { mentionedNames: ["j.doe"] })), "[@j.doe]");
  });

  test("addresses and words run on are not mentions", () => {
    const options = { mentionedNames: ["bob"] };
    assert.equal(runs(highlightParts("mail x@bob or @bobby", options)), "mail x@bob or @bobby");
  });

  test("@room / @here only when the message has mention_all", () => {
    assert.equal(runs(highlightParts("@room hi", {})), "@room hi");
    assert.equal(runs(highlightParts("@room hi", { mentionAll: "room" })), "[@room] hi");
    assert.equal(runs(highlightParts("@Here.", { mentionAll: "here" })), "[@Here].");
    assert.equal(
      runs(highlightParts("@here", { mentionAll: "here", allIncludesMe: true })),
      "[!@here]",
    );
  });

  test("a member named room is never a name mention", () => {
    assert.equal(runs(highlightParts("@room", { mentionedNames: ["room"] })), "@room");
  });

  test("unicode names", () => {
    const options = { mentionedNames: ["ярослав"], me: "ЯРОСЛАВ" };
    const parts = highlightParts("привет @Ярослав!", options);
    assert.equal(runs(parts), "привет [!@Ярослав]!");
  });

  test("the runs put back together are the body", () => {
    const body = "(@bob), @alice: see a@b.c and @room. @nobody\n@bob";
    const parts = highlightParts(body, { mentionedNames: ["bob", "alice"], mentionAll: "room" });
    assert.equal(parts.map((p) => p.text).join(""), body);
    assert.equal(parts.filter((p) => p.mention).length, 4);
  });

  test("a body without mentions is one text run; an empty one none", () => {
    assert.deepEqual(highlightParts("plain", {}), [{ text: "plain", mention: false, me: false }]);
    assert.deepEqual(highlightParts("", { mentionedNames: ["bob"] }), []);
    assert.deepEqual(highlightParts(undefined), []);
  });
});

describe("mayMentionAll", () => {
  test("owners, moderators and staff always", () => {
    assert.equal(mayMentionAll({ role: "owner" }, 500, 50), true);
    assert.equal(mayMentionAll({ role: "moderator" }, 500, 50), true);
    assert.equal(mayMentionAll({ role: "member", staff: true }, 500, 50), true);
    assert.equal(mayMentionAll({ role: "member", can_moderate: true }, 500, 50), true);
  });

  test("others in a room of at most the limit", () => {
    assert.equal(mayMentionAll({ role: "member" }, 50, 50), true);
    assert.equal(mayMentionAll({ role: "member" }, 51, 50), false);
    assert.equal(mayMentionAll({ role: null }, 3, 2), false);
  });

  test("unknown counts or limits leave it to the server", () => {
    assert.equal(mayMentionAll({ role: "member" }, null, 50), true);
    assert.equal(mayMentionAll({ role: "member" }, 500, null), true);
  });
});

describe("mentionAllQuestion", () => {
  test("names the room and how many", () => {
    assert.equal(
      mentionAllQuestion("room", "general", 12),
      "This notifies everyone in #general (12 people). Send?",
    );
    assert.equal(
      mentionAllQuestion("here", "general", 1),
      "This notifies everyone online in #general (1 person). Send?",
    );
    assert.equal(
      mentionAllQuestion("room", "general", null),
      "This notifies everyone in #general. Send?",
    );
  });
});
