import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  classifyClose,
  classifyError,
  closedReasonOutboxText,
  codePoints,
  fitsFrame,
  isMessage,
  newClientId,
  parseFrame,
  sendFrame,
} from "../chat/protocol.js";

describe("classifyClose", () => {
  test("4401 sends the reader to the login page", () => {
    assert.deepEqual(classifyClose(4401), { action: "login" });
  });

  test("4403 and 4404 stop for good: the room is lost, the outbox fails", () => {
    const forbidden = classifyClose(4403);
    assert.equal(forbidden.action, "stop");
    assert.equal(forbidden.roomLost, true);
    assert.equal(forbidden.text, "You no longer have access to this room.");
    assert.equal(forbidden.outboxText, "you no longer have access");

    const gone = classifyClose(4404);
    assert.equal(gone.action, "stop");
    assert.equal(gone.roomLost, true);
    assert.equal(gone.text, "This room no longer exists.");
  });

  test("4400 and 4429 stop, but a reload may send what is waiting", () => {
    for (const code of [4400, 4429]) {
      const verdict = classifyClose(code);
      assert.equal(verdict.action, "stop", code);
      assert.equal(verdict.roomLost, false, code);
      assert.equal(verdict.outboxText, null, code);
      assert.ok(verdict.text.length > 0);
    }
  });

  test("every other code reconnects: 4503, normal closes, lost connections", () => {
    for (const code of [4503, 1000, 1001, 1006, 1009, 1011, 1012, 4000, 4999]) {
      assert.deepEqual(classifyClose(code), { action: "reconnect" }, code);
    }
  });
});

describe("closedReasonOutboxText", () => {
  test("says why per room.closed reason", () => {
    assert.equal(closedReasonOutboxText("banned"), "you were banned");
    assert.equal(closedReasonOutboxText("removed"), "you were removed");
    assert.equal(closedReasonOutboxText("private"), "you no longer have access");
    assert.equal(closedReasonOutboxText("deleted"), "the room was deleted");
  });

  test("an unknown reason still fails the outbox", () => {
    assert.equal(closedReasonOutboxText("some-new-reason"), "you no longer have access");
  });
});

describe("classifyError", () => {
  test("errors that can never succeed on a resend are final", () => {
    for (const code of [
      "empty",
      "too_long",
      "bad_frame",
      "bad_json",
      "room_archived",
      "forbidden",
      "not_found",
      "muted",
    ]) {
      assert.equal(classifyError(code), "final", code);
    }
  });

  test("rate_limited waits; server_error and unknown codes retry", () => {
    assert.equal(classifyError("rate_limited"), "rate_limited");
    assert.equal(classifyError("server_error"), "retry");
    assert.equal(classifyError("a_code_from_the_future"), "retry");
  });
});

describe("parseFrame", () => {
  test("returns objects with a string type", () => {
    assert.deepEqual(parseFrame('{"type":"pong","t":1,"rev":3}'), { type: "pong", t: 1, rev: 3 });
  });

  test("refuses what is not a frame", () => {
    for (const text of ["", "not json", "null", "[]", "42", '"hello"', '{"t":1}', '{"type":7}']) {
      assert.equal(parseFrame(text), null, text);
    }
  });
});

describe("isMessage", () => {
  test("needs a numeric id and an author", () => {
    assert.equal(isMessage({ id: 1, author: { id: 2, username: "a" } }), true);
    assert.equal(isMessage({ id: "1", author: { id: 2 } }), false);
    assert.equal(isMessage({ id: 1 }), false);
    assert.equal(isMessage(null), false);
  });
});

describe("limits", () => {
  test("codePoints counts characters as Python does", () => {
    assert.equal(codePoints("abc"), 3);
    assert.equal(codePoints("😀"), 1); // two UTF-16 units
    assert.equal("😀".length, 2);
  });

  test("fitsFrame leaves room for the longest client_id and a reply_to", () => {
    const longest = sendFrame("c-".padEnd(64, "x"), "", Number.MAX_SAFE_INTEGER);
    const overhead = JSON.stringify(longest).length;
    const limit = 200;
    assert.equal(fitsFrame("a".repeat(limit - overhead), limit), true);
    assert.equal(fitsFrame("a".repeat(limit + 1 - overhead), limit), false);
    // Bytes, not characters: é is two bytes in UTF-8.
    assert.equal(fitsFrame("é".repeat(Math.ceil((limit + 1 - overhead) / 2)), limit), false);
  });

  test("fitsFrame leaves room for the ids of the files attached", () => {
    const limit = 300;
    const longest = sendFrame("c-".padEnd(64, "x"), "", Number.MAX_SAFE_INTEGER, [
      Number.MAX_SAFE_INTEGER,
      Number.MAX_SAFE_INTEGER,
    ]);
    const overhead = JSON.stringify(longest).length;
    assert.equal(fitsFrame("a".repeat(limit - overhead), limit, 2), true);
    assert.equal(fitsFrame("a".repeat(limit + 1 - overhead), limit, 2), false);
    assert.equal(fitsFrame("a".repeat(limit + 1 - overhead), limit, 0), true);
  });

  test("sendFrame carries the ids of the files attached, only when there are some", () => {
    assert.deepEqual(sendFrame("c-1", "", null, [7, 8]), {
      type: "message.send",
      client_id: "c-1",
      body: "",
      attachments: [7, 8],
    });
    assert.equal("attachments" in sendFrame("c-1", "hi", null, []), false);
    assert.deepEqual(sendFrame("c-1", "hi", 5, [7, "8", null]).attachments, [7]);
  });

  test("newClientId is valid for the server (1-64 of A-Z a-z 0-9 _ -)", () => {
    const pattern = /^[A-Za-z0-9_-]{1,64}$/;
    assert.match(newClientId(), pattern);
    const noUuid = { getRandomValues: (bytes) => bytes.fill(171) };
    assert.equal(newClientId(noUuid), `c-${"ab".repeat(16)}`);
    assert.notEqual(newClientId(), newClientId());
  });
});
