import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  decodeEntities,
  groupByRoom,
  highlightParts,
  isTypingTarget,
  resultUrl,
  roomTitle,
  searchApiUrl,
} from "../chat/search.js";

const general = { slug: "general", name: "General", kind: "room", private: false };
const secret = { slug: "secret", name: "Secret", kind: "room", private: true };
const direct = { slug: "dm-1-2", name: "dm-1-2", kind: "direct", private: true };

function result(id, room) {
  return { message: { id, author: { id: 1, username: "alice" } }, room, highlight: "" };
}

describe("highlightParts: the one tag kept is <mark>", () => {
  test("matches are marked, the text around them is not", () => {
    assert.deepEqual(highlightParts("lunch at <mark>noon</mark> or <mark>later</mark>"), [
      { text: "lunch at ", marked: false },
      { text: "noon", marked: true },
      { text: " or ", marked: false },
      { text: "later", marked: true },
    ]);
  });

  test("escaped text comes back as the characters it was, never as markup", () => {
    const parts = highlightParts("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; <mark>danger</mark> &amp; co");
    assert.deepEqual(parts, [
      { text: "<script>alert('x')</script> ", marked: false },
      { text: "danger", marked: true },
      { text: " & co", marked: false },
    ]);
  });

  test("any other tag stays text; an unclosed <mark> marks to the end", () => {
    assert.deepEqual(highlightParts('<b onclick="x">bold</b> <mark>hit'), [
      { text: '<b onclick="x">bold</b> ', marked: false },
      { text: "hit", marked: true },
    ]);
    assert.deepEqual(highlightParts("<MARK>upper</MARK>"), [{ text: "<MARK>upper</MARK>", marked: false }]);
    assert.deepEqual(highlightParts(null), []);
    assert.deepEqual(highlightParts(""), []);
  });

  test("character references: numeric and the few named ones; nonsense stays as it is", () => {
    assert.equal(decodeEntities("caf&#233; &#x1F600; &quot;q&quot; &apos;"), "café 😀 \"q\" '");
    assert.equal(decodeEntities("&nbsp; &#0; &#xD800; &amp;lt;"), "&nbsp; &#0; &#xD800; &lt;");
  });
});

describe("groupByRoom: consecutive results of one room under its name", () => {
  test("a room comes back as a new group once another came between", () => {
    const groups = groupByRoom([
      result(9, general),
      result(8, general),
      result(7, secret),
      result(6, general),
    ]);
    assert.deepEqual(
      groups.map((g) => [g.room.slug, g.results.map((r) => r.message.id), g.continues]),
      [
        ["general", [9, 8], false],
        ["secret", [7], false],
        ["general", [6], false],
      ],
    );
  });

  test("the next page continues the last group shown when it starts in the same room", () => {
    const more = groupByRoom([result(5, secret), result(4, general)], { after: "secret" });
    assert.deepEqual(
      more.map((g) => [g.room.slug, g.continues]),
      [
        ["secret", true],
        ["general", false],
      ],
    );
    assert.equal(groupByRoom([result(3, general)], { after: "secret" })[0].continues, false);
    assert.deepEqual(groupByRoom([]), []);
    assert.deepEqual(groupByRoom([{ message: { id: 1 }, room: null }]), []);
  });
});

describe("names and links", () => {
  test("a room by its name; a conversation by its other people", () => {
    assert.equal(roomTitle(general), "General");
    assert.equal(roomTitle(direct, (slug) => (slug === "dm-1-2" ? "Bob, Carol" : null)), "Bob, Carol");
    assert.equal(roomTitle(direct), "Direct message");
  });

  test("a result opens its room around the message, scrolled to it", () => {
    assert.equal(resultUrl("/rooms/general/", 981), "/rooms/general/?around=981#message-981");
  });

  test("the API's URL carries the search, and the page to go on from", () => {
    assert.equal(searchApiUrl("/api/search/", { q: 'from:alice "at noon"' }), "/api/search/?q=from%3Aalice+%22at+noon%22");
    assert.equal(searchApiUrl("/api/search/", { q: "x", before: 40, limit: 6 }), "/api/search/?q=x&before=40&limit=6");
    assert.equal(searchApiUrl("/api/search/", { q: "x", before: "" }), "/api/search/?q=x");
  });
});

describe("isTypingTarget: where '/' belongs to the reader", () => {
  test("text fields, text areas, selects and editable content", () => {
    assert.equal(isTypingTarget({ tagName: "TEXTAREA" }), true);
    assert.equal(isTypingTarget({ tagName: "INPUT", type: "search" }), true);
    assert.equal(isTypingTarget({ tagName: "INPUT", type: "text" }), true);
    assert.equal(isTypingTarget({ tagName: "SELECT" }), true);
    assert.equal(isTypingTarget({ tagName: "DIV", isContentEditable: true }), true);
  });

  test("not buttons, checkboxes, links or the page itself", () => {
    assert.equal(isTypingTarget({ tagName: "INPUT", type: "checkbox" }), false);
    assert.equal(isTypingTarget({ tagName: "BUTTON" }), false);
    assert.equal(isTypingTarget({ tagName: "A" }), false);
    assert.equal(isTypingTarget({ tagName: "BODY" }), false);
    assert.equal(isTypingTarget(null), false);
  });
});
