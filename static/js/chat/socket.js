// socket.js: the room's WebSocket over time: connect, reconnect with backoff and jitter
// (always with ?since=R, so nothing is lost across the gap), keep-alive pings, and the
// close codes after which it stops for good. It knows no frame but ping; everything
// else goes to onFrame. The WebSocket class, timers and randomness are passed in.

import { classifyClose, parseFrame, pingFrame } from "./protocol.js";

export const PING_EVERY_MS = 25000;
export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 30000;
// How long a socket must stay live before its backoff starts again from the beginning: a
// server that greets and then closes at once (4503, its database away) is not hammered.
export const STABLE_MS = 10000;

/**
 * Wait before reconnect attempt `attempt` (0 first): exponential backoff with "equal
 * jitter", half fixed and half random, so that a restarted server is not hit by every
 * client in the same instant. `random` is in [0, 1).
 */
export function backoffDelay(attempt, random) {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 16));
  return ceiling / 2 + (random * ceiling) / 2;
}

export class RoomSocket {
  /**
   * - url() -> string: the address to connect to now (it carries ?since=R);
   * - onFrame(frame): every parsed frame but pings' answers too (pong carries rev);
   * - onState(name): "connecting", "live", "reconnecting" or "offline";
   * - onDown(): the socket is gone (whatever comes next);
   * - onStop(code, verdict): it closed for good (verdict from classifyClose).
   */
  constructor({
    url,
    onFrame,
    onState = () => {},
    onDown = () => {},
    onStop = () => {},
    WebSocketImpl = globalThis.WebSocket,
    timers = globalThis,
    now = () => (timers.now ? timers.now() : Date.now()),
    random = Math.random,
    isOffline = () => false,
  }) {
    Object.assign(this, { url, onFrame, onState, onDown, onStop, WebSocketImpl, timers, now });
    Object.assign(this, { random, isOffline });
    this.ws = null;
    this.live = false; // hello received on the current socket
    this.everLive = false; // some socket got as far as hello
    this.attempt = 0; // reconnect attempts since a socket last stayed live STABLE_MS
    this.liveSince = null; // when the current socket got its hello (timers.now())
    this.reconnectTimer = null;
    this.pingTimer = null;
    this.awaitingPong = false;
    this.stoppedFor = null; // why it will not reconnect: a close code or "room.closed"
  }

  get stopped() {
    return this.stoppedFor !== null;
  }

  connect() {
    this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    if (this.stopped || this.ws) return;
    this.onState(this.everLive ? this.waitingState() : "connecting");
    const ws = new this.WebSocketImpl(this.url());
    this.ws = ws;
    this.live = false;
    // Frames and closes from a socket that is no longer the current one are ignored.
    ws.addEventListener("message", (event) => {
      if (this.ws === ws) this.receive(event.data);
    });
    ws.addEventListener("close", (event) => {
      if (this.ws === ws) this.gone(event.code);
    });
    // An "error" event is always followed by "close", which handles it.
  }

  /** Send a frame if the room is live; return whether it went out. */
  send(frame) {
    // Before hello the server has not admitted us; it would drop the frame.
    if (!this.live || this.ws?.readyState !== this.WebSocketImpl.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** hello arrived: the server let us in. */
  markLive() {
    this.live = true;
    this.everLive = true;
    this.liveSince = this.now();
    this.onState("live");
    this.startPing();
  }

  receive(text) {
    this.awaitingPong = false; // any frame shows the connection is alive
    const frame = parseFrame(text);
    // Unknown types are the caller's to ignore: the protocol may grow new frames.
    if (frame) this.onFrame(frame);
  }

  gone(code) {
    if (this.live && this.now() - this.liveSince >= STABLE_MS) this.attempt = 0;
    this.ws = null;
    this.live = false;
    this.stopPing();
    this.onDown();
    const verdict = classifyClose(code);
    if (verdict.action === "reconnect") {
      this.scheduleReconnect();
      return;
    }
    this.stoppedFor = code;
    this.onStop(code, verdict);
  }

  scheduleReconnect() {
    const delay = backoffDelay(this.attempt, this.random());
    this.attempt += 1;
    this.onState(this.waitingState());
    this.reconnectTimer = this.timers.setTimeout(() => this.connect(), delay);
  }

  waitingState() {
    return this.isOffline() ? "offline" : "reconnecting";
  }

  /** Skip the backoff wait when there is a reason to expect success now. */
  reconnectNow() {
    if (this.stopped || this.ws) return;
    this.connect();
  }

  /**
   * Stop for good without waiting for the close: the server said it is closing this
   * socket (room.closed), and whatever code the close brings, a new socket would be
   * refused too.
   */
  finish(reason) {
    this.stoppedFor = reason;
    this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    this.live = false;
    this.stopPing();
    this.onDown();
    try {
      ws.close();
    } catch {
      // Already closing; nothing to do.
    }
  }

  /** Close a socket that looks dead and go on as if it had closed abnormally. */
  abandon() {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    try {
      ws.close();
    } catch {
      // Already closing; nothing to do.
    }
    this.gone(1006);
  }

  startPing() {
    this.stopPing();
    this.awaitingPong = false;
    this.pingTimer = this.timers.setInterval(() => {
      // A whole interval without any frame back: the connection is half-open.
      if (this.awaitingPong) {
        this.abandon();
        return;
      }
      this.awaitingPong = true;
      this.send(pingFrame(Date.now()));
    }, PING_EVERY_MS);
  }

  stopPing() {
    this.timers.clearInterval(this.pingTimer);
    this.pingTimer = null;
  }
}
