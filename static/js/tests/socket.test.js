import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  BACKOFF_BASE_MS,
  BACKOFF_CAP_MS,
  STABLE_MS,
  PING_EVERY_MS,
  RoomSocket,
  backoffDelay,
} from "../chat/socket.js";
import { FakeTimers, FakeWebSocket } from "./fakes.js";

function setup() {
  FakeWebSocket.made = [];
  const timers = new FakeTimers();
  const log = { frames: [], states: [], stops: [], downs: 0 };
  let since = 0;
  const socket = new RoomSocket({
    url: () => `ws://test/ws/rooms/general/?since=${since}`,
    onFrame: (frame) => {
      log.frames.push(frame);
      if (frame.type === "hello") socket.markLive();
    },
    onState: (name) => log.states.push(name),
    onDown: () => {
      log.downs += 1;
    },
    onStop: (code, verdict) => log.stops.push([code, verdict.action]),
    WebSocketImpl: FakeWebSocket,
    timers,
    random: () => 0.5,
  });
  const current = () => FakeWebSocket.made.at(-1);
  const admit = () => {
    current().open();
    current().receive({ type: "hello", rev: since });
  };
  return { timers, socket, log, current, admit, setSince: (rev) => (since = rev) };
}

describe("backoffDelay", () => {
  test("doubles from the base, half fixed and half random, up to the cap", () => {
    assert.equal(backoffDelay(0, 0), BACKOFF_BASE_MS / 2);
    assert.equal(backoffDelay(0, 0.999999) < BACKOFF_BASE_MS, true);
    assert.equal(backoffDelay(3, 0), (BACKOFF_BASE_MS * 8) / 2);
    assert.equal(backoffDelay(40, 0), BACKOFF_CAP_MS / 2);
    assert.equal(backoffDelay(40, 0.999999) < BACKOFF_CAP_MS, true);
  });
});

describe("RoomSocket", () => {
  test("sends nothing before hello; afterwards frames go out", () => {
    const { socket, current, admit } = setup();
    socket.connect();
    assert.equal(socket.send({ type: "ping" }), false);
    admit();
    assert.equal(socket.send({ type: "typing", active: true }), true);
    assert.deepEqual(current().sent, [{ type: "typing", active: true }]);
  });

  test("reconnects after a lost connection, with ?since= as it is then", () => {
    const { socket, timers, current, admit, log, setSince } = setup();
    socket.connect();
    admit();
    setSince(42);
    current().serverClose(1006);
    assert.equal(log.states.at(-1), "reconnecting");
    assert.equal(FakeWebSocket.made.length, 1);
    timers.advance(backoffDelay(0, 0.5));
    assert.equal(FakeWebSocket.made.length, 2);
    assert.match(current().url, /\?since=42$/);
  });

  test("backs off longer after each failed attempt; a socket that stays live resets it", () => {
    const { socket, timers, current, admit } = setup();
    socket.connect();
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const made = FakeWebSocket.made.length;
      current().serverClose(4503);
      timers.advance(backoffDelay(attempt, 0.5) - 1);
      assert.equal(FakeWebSocket.made.length, made, `attempt ${attempt} too early`);
      timers.advance(1);
      assert.equal(FakeWebSocket.made.length, made + 1);
    }
    admit();
    timers.advance(STABLE_MS);
    current().serverClose(1006);
    assert.equal(socket.attempt, 1); // started again from the first wait
  });

  test("a server that greets and closes at once is not hammered", () => {
    const { socket, timers, current, admit } = setup();
    socket.connect();
    for (let attempt = 0; attempt < 5; attempt += 1) {
      admit();
      current().serverClose(4503); // hello, then closed: its database is away
      timers.advance(backoffDelay(attempt, 0.5));
    }
    assert.equal(socket.attempt, 5);
  });

  test("final close codes never reconnect", () => {
    for (const code of [4400, 4401, 4403, 4404, 4429]) {
      const { socket, timers, current, admit, log } = setup();
      socket.connect();
      admit();
      current().serverClose(code);
      timers.advance(BACKOFF_CAP_MS * 10);
      socket.reconnectNow(); // "online" / visible again
      assert.equal(FakeWebSocket.made.length, 1, `code ${code}`);
      assert.deepEqual(log.stops, [[code, code === 4401 ? "login" : "stop"]]);
    }
  });

  test("finish (room.closed) stops for good, whatever close code follows", () => {
    const { socket, timers, current, admit, log } = setup();
    socket.connect();
    admit();
    const ws = current();
    socket.finish("room.closed");
    assert.equal(ws.closedByClient, true);
    ws.serverClose(1006); // a socket no longer current: ignored
    timers.advance(BACKOFF_CAP_MS * 10);
    socket.reconnectNow();
    assert.equal(FakeWebSocket.made.length, 1);
    assert.equal(socket.send({ type: "ping" }), false);
    assert.deepEqual(log.stops, []);
    assert.equal(log.downs, 1);
  });

  test("frames from an older socket are ignored", () => {
    const { socket, timers, current, admit, log } = setup();
    socket.connect();
    admit();
    const old = current();
    socket.abandon();
    timers.advance(BACKOFF_CAP_MS);
    const framesBefore = log.frames.length;
    old.receive({ type: "message.new" });
    assert.equal(log.frames.length, framesBefore);
  });

  test("pings every interval; a whole interval without a frame back abandons the socket", () => {
    const { socket, timers, current, admit } = setup();
    socket.connect();
    admit();
    const ws = current();
    timers.advance(PING_EVERY_MS);
    assert.equal(ws.sent.at(-1).type, "ping");
    ws.receive({ type: "pong", rev: 0 });
    timers.advance(PING_EVERY_MS);
    assert.equal(FakeWebSocket.made.length, 1); // the pong kept it
    timers.advance(PING_EVERY_MS); // no answer to the last ping
    assert.equal(ws.closedByClient, true);
    assert.equal(socket.ws, null);
    timers.advance(BACKOFF_CAP_MS);
    assert.equal(FakeWebSocket.made.length, 2);
  });

  test("unparseable frames are dropped", () => {
    const { socket, current, log } = setup();
    socket.connect();
    for (const listener of current().listeners.message) listener({ data: "{oops" });
    assert.deepEqual(log.frames, []);
  });
});
