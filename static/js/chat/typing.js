// typing.js: "… is typing" both ways. TypingIndicator keeps who else is typing (each
// entry expires by itself, in case their "stopped" is lost); TypingSender tells the room
// that we type, no faster than the server passes it on. Pure: timers are passed in.

// The server passes on one "typing: true" per user per 2 s and drops the rest silently,
// even right after a "typing: false"; so never send sooner than that (plus a margin).
export const TYPING_SEND_EVERY_MS = 2200;
export const TYPING_EXPIRES_MS = 5000;

/** Say who is typing, in a few words ("" for nobody). */
export function typingText(names) {
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  if (names.length > 2) return `${names.length} people are typing…`;
  return "";
}

export class TypingIndicator {
  constructor({ onChange, timers = globalThis }) {
    this.onChange = onChange; // (names) => void
    this.timers = timers;
    this.expiries = new Map(); // username -> expiry timer
  }

  set(username, active) {
    this.timers.clearTimeout(this.expiries.get(username));
    this.expiries.delete(username);
    if (active) {
      // Without a refresh within TYPING_EXPIRES_MS, the indicator goes (a lost "false").
      const timer = this.timers.setTimeout(() => this.set(username, false), TYPING_EXPIRES_MS);
      this.expiries.set(username, timer);
    }
    this.onChange(this.names());
  }

  clear() {
    for (const timer of this.expiries.values()) this.timers.clearTimeout(timer);
    this.expiries.clear();
    this.onChange(this.names());
  }

  names() {
    return [...this.expiries.keys()];
  }
}

export class TypingSender {
  /** send(active) -> bool: put a typing frame on the socket; hasText(): the composer holds text. */
  constructor({ send, hasText, timers = globalThis, now = Date.now }) {
    Object.assign(this, { send, hasText, timers, now });
    this.sentAt = 0; // when the last "typing: true" went out
    this.active = false; // the others were told we are typing and not told we stopped
    this.timer = null; // a "typing: true" waiting for the server's interval to pass
  }

  /**
   * Tell the others we are typing: at once if the server's interval has passed, else
   * when it has (a frame sent sooner would be dropped, and the indicator never shown).
   */
  typed() {
    const wait = this.sentAt + TYPING_SEND_EVERY_MS - this.now();
    if (wait <= 0) {
      this.timers.clearTimeout(this.timer);
      this.timer = null;
      if (this.send(true)) {
        this.sentAt = this.now();
        this.active = true;
      }
    } else if (!this.active && this.timer === null) {
      this.timer = this.timers.setTimeout(() => {
        this.timer = null;
        if (this.hasText()) this.typed();
      }, wait);
    }
  }

  stop() {
    this.timers.clearTimeout(this.timer);
    this.timer = null;
    if (this.active) this.send(false);
    this.active = false;
  }
}
