// fakes.js: stand-ins the tests pass to the modules. Not a test file itself (node --test
// runs only *.test.js here).

/**
 * A clock the tests move by hand: the timer functions the modules take (setTimeout,
 * clearTimeout, setInterval, clearInterval) and now() for their clock.
 */
export class FakeTimers {
  constructor(start = 1_000_000) {
    this.time = start;
    this.nextId = 1;
    this.pending = new Map(); // id -> {at, fn, every}
    this.now = () => this.time;
    this.setTimeout = (fn, ms = 0) => this.add(fn, ms, null);
    this.setInterval = (fn, ms = 0) => this.add(fn, ms, ms);
    this.clearTimeout = (id) => this.pending.delete(id);
    this.clearInterval = (id) => this.pending.delete(id);
  }

  add(fn, ms, every) {
    const id = this.nextId++;
    this.pending.set(id, { at: this.time + Math.max(0, ms), fn, every });
    return id;
  }

  /** Move the clock forward, running every timer that falls due, in time order. */
  advance(ms) {
    const end = this.time + ms;
    for (;;) {
      let due = null;
      for (const [id, timer] of this.pending) {
        if (timer.at <= end && (due === null || timer.at < due[1].at)) due = [id, timer];
      }
      if (due === null) break;
      const [id, timer] = due;
      this.time = timer.at;
      if (timer.every === null) this.pending.delete(id);
      else timer.at += Math.max(1, timer.every);
      timer.fn();
    }
    this.time = end;
  }

  /** How many timers are waiting. */
  get count() {
    return this.pending.size;
  }
}

/** A sessionStorage stand-in. */
export class MemoryStorage {
  constructor() {
    this.items = new Map();
  }

  getItem(key) {
    return this.items.has(key) ? this.items.get(key) : null;
  }

  setItem(key, value) {
    this.items.set(key, String(value));
  }

  removeItem(key) {
    this.items.delete(key);
  }
}

/** A WebSocket stand-in: records what is sent; the test opens, feeds and closes it. */
export class FakeWebSocket {
  static OPEN = 1;
  static made = [];

  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.listeners = { message: [], close: [] };
    this.closedByClient = false;
    FakeWebSocket.made.push(this);
  }

  addEventListener(type, listener) {
    this.listeners[type]?.push(listener);
  }

  send(text) {
    this.sent.push(JSON.parse(text));
  }

  close() {
    this.closedByClient = true;
  }

  open() {
    this.readyState = FakeWebSocket.OPEN;
  }

  receive(frame) {
    for (const listener of this.listeners.message) listener({ data: JSON.stringify(frame) });
  }

  serverClose(code) {
    this.readyState = 3;
    for (const listener of this.listeners.close) listener({ code });
  }
}
