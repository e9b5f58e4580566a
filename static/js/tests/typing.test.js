import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  TYPING_EXPIRES_MS,
  TYPING_SEND_EVERY_MS,
  TypingIndicator,
  TypingSender,
  typingText,
} from "../chat/typing.js";
import { FakeTimers } from "./fakes.js";

describe("typingText", () => {
  test("names one or two, counts more", () => {
    assert.equal(typingText([]), "");
    assert.equal(typingText(["bob"]), "bob is typing…");
    assert.equal(typingText(["bob", "amy"]), "bob and amy are typing…");
    assert.equal(typingText(["bob", "amy", "zed"]), "3 people are typing…");
  });
});

describe("TypingIndicator", () => {
  test("an entry expires by itself when its 'stopped' is lost", () => {
    const timers = new FakeTimers();
    let shown = [];
    const typing = new TypingIndicator({ timers, onChange: (names) => (shown = names) });
    typing.set("bob", true);
    assert.deepEqual(shown, ["bob"]);
    timers.advance(TYPING_EXPIRES_MS - 1);
    typing.set("bob", true); // refreshed
    timers.advance(TYPING_EXPIRES_MS - 1);
    assert.deepEqual(shown, ["bob"]);
    timers.advance(1);
    assert.deepEqual(shown, []);
  });

  test("clear forgets everyone", () => {
    const timers = new FakeTimers();
    let shown = [];
    const typing = new TypingIndicator({ timers, onChange: (names) => (shown = names) });
    typing.set("bob", true);
    typing.set("amy", true);
    typing.clear();
    assert.deepEqual(shown, []);
    assert.equal(timers.count, 0);
  });
});

describe("TypingSender", () => {
  function setup() {
    const timers = new FakeTimers();
    const sent = [];
    let text = "hi";
    const sender = new TypingSender({
      send: (active) => {
        sent.push(active);
        return true;
      },
      hasText: () => Boolean(text),
      timers,
      now: timers.now,
    });
    return { timers, sent, sender, setText: (value) => (text = value) };
  }

  test("no faster than the server passes it on", () => {
    const { timers, sent, sender } = setup();
    sender.typed();
    sender.typed();
    assert.deepEqual(sent, [true]);
    timers.advance(TYPING_SEND_EVERY_MS);
    sender.typed();
    assert.deepEqual(sent, [true, true]);
  });

  test("typing again right after stopping waits for the interval, then tells", () => {
    const { timers, sent, sender } = setup();
    sender.typed();
    sender.stop();
    sender.typed();
    assert.deepEqual(sent, [true, false]);
    timers.advance(TYPING_SEND_EVERY_MS);
    assert.deepEqual(sent, [true, false, true]);
  });

  test("a delayed 'typing' is not sent once the text is gone", () => {
    const { timers, sent, sender, setText } = setup();
    sender.typed();
    sender.stop();
    sender.typed();
    setText("");
    timers.advance(TYPING_SEND_EVERY_MS);
    assert.deepEqual(sent, [true, false]);
  });
});
