// outbox.js: the messages written but not yet acknowledged. Each has a client_id, so
// resending after a reconnect or a reload never stores it twice (docs/protocol.md,
// "Sending a message"). A message keeps the files sent with it (their attachment records:
// every resend names the same ids, and the outbox shows their names). Pure: storage,
// timers, the clock and the socket are passed in.

import { attachmentsOf } from "./attachments.js";
import { classifyError, newClientId, sendFrame } from "./protocol.js";
import { replyOf } from "./replies.js";

export const SERVER_ERROR_RETRY_MS = 2000;
export const RETRY_CAP_MS = 30000;
const STORAGE_PREFIX = "rooms.outbox.v1.";

export class Outbox {
  /**
   * - send(frame) -> bool: put a frame on the socket if it is live;
   * - storage: sessionStorage or alike (the outbox survives a reload of the tab);
   * - onAdd(entry), onChange(entry), onRemove(entry): for the view.
   */
  constructor({
    slug,
    send,
    storage = null,
    onAdd = () => {},
    onChange = () => {},
    onRemove = () => {},
    timers = globalThis,
    now = Date.now,
    makeClientId = newClientId,
  }) {
    Object.assign(this, { send, storage, onAdd, onChange, onRemove, timers, now, makeClientId });
    this.storageKey = `${STORAGE_PREFIX}${slug}`;
    this.entries = new Map(); // client_id -> entry; insertion order is sending order
    this.holdUntil = 0; // after rate_limited or server_error: send nothing before this
    this.holdTimer = null;
    this.serverErrors = 0; // consecutive server_error answers, for the resend backoff
    this.closedDetail = null; // the room is lost (banned, removed, deleted): why nothing goes out
  }

  get(clientId) {
    return this.entries.get(clientId);
  }

  get size() {
    return this.entries.size;
  }

  values() {
    return [...this.entries.values()];
  }

  /** Bring back what a reload left unsent, except what the server already shows stored. */
  restore(storedClientIds = new Set()) {
    let items = [];
    try {
      items = JSON.parse(this.storage?.getItem(this.storageKey) || "[]");
    } catch {
      items = [];
    }
    if (!Array.isArray(items)) return;
    for (const item of items) {
      if (typeof item?.clientId !== "string" || typeof item.body !== "string") continue;
      if (storedClientIds.has(item.clientId)) continue;
      this.add({
        clientId: item.clientId,
        body: item.body,
        reply: replyOf(item.reply),
        attachments: attachmentsOf(item),
        failed: Boolean(item.failed),
        detail: item.detail || "",
      });
    }
    this.save();
  }

  save() {
    const items = this.values().map((entry) => {
      const { clientId, body, reply, attachments, failed, detail } = entry;
      return { clientId, body, reply, attachments, failed, detail };
    });
    try {
      if (items.length) this.storage?.setItem(this.storageKey, JSON.stringify(items));
      else this.storage?.removeItem(this.storageKey);
    } catch {
      // Storage may be full or disabled; the outbox still works for this page.
    }
  }

  add(fields) {
    const defaults = { failed: false, held: false, detail: "", reply: null, attachments: [] };
    const entry = { ...defaults, ...fields };
    this.entries.set(entry.clientId, entry);
    this.onAdd(entry);
    return entry;
  }

  /**
   * Write a new message: keep it, then send it. `reply`: the quote of the message it
   * answers ({id, author, excerpt}, see replies.js), kept for every resend, or null;
   * `files`: the attachment records of the files that go with it (attachments.js).
   */
  queue(body, reply = null, files = []) {
    const entry = this.add({
      clientId: this.makeClientId(),
      body,
      reply: replyOf(reply),
      attachments: attachmentsOf({ attachments: files }),
    });
    this.save();
    this.transmit(entry);
    return entry;
  }

  /**
   * Send (or resend) an entry. If the socket is down it just waits: every entry is sent
   * again after the next hello (flush), and the server stores a client_id only once.
   */
  transmit(entry) {
    if (entry.failed) return;
    if (this.closedDetail !== null) {
      this.fail(entry, this.closedDetail);
      return;
    }
    // While the outbox is held, keep the entry for the flush that ends the hold, so
    // that messages still go out in the order they were written.
    entry.held = this.now() < this.holdUntil;
    this.onChange(entry);
    if (entry.held) return;
    const ids = entry.attachments.map((record) => record.id);
    this.send(sendFrame(entry.clientId, entry.body, entry.reply?.id ?? null, ids));
  }

  /** Send everything unacknowledged, in order (after hello). */
  flush() {
    for (const entry of this.values()) this.transmit(entry);
  }

  /** Stop sending for a while, then send everything held, in order. */
  hold(delayMs) {
    this.holdUntil = Math.max(this.holdUntil, this.now() + delayMs);
    this.timers.clearTimeout(this.holdTimer);
    this.holdTimer = this.timers.setTimeout(() => {
      this.holdTimer = null;
      for (const entry of this.values()) if (entry.held) this.transmit(entry);
    }, this.holdUntil - this.now());
  }

  /**
   * A message snapshot carrying one of my client_ids is the acknowledgement: drop the
   * entry. Return true when it was one.
   */
  settle(msg, myId) {
    if (!msg.client_id || msg.author?.id !== myId) return false;
    const entry = this.entries.get(msg.client_id);
    if (!entry) return false;
    this.serverErrors = 0;
    this.remove(entry);
    return true;
  }

  remove(entry) {
    this.entries.delete(entry.clientId);
    this.save();
    this.onRemove(entry);
  }

  /** The entry can never be sent: say why (shown after "Not sent: "). */
  fail(entry, detail) {
    entry.failed = true;
    entry.held = false;
    entry.detail = detail;
    this.save();
    this.onChange(entry);
  }

  /** Act on an error frame that names this entry's client_id. */
  onError(entry, frame) {
    const kind = classifyError(frame.code);
    if (kind === "final") {
      this.fail(entry, frame.detail || frame.code);
      return;
    }
    entry.held = true;
    if (kind === "rate_limited") {
      const seconds = Number(frame.retry_after);
      this.hold(Math.max(0.25, Number.isFinite(seconds) ? seconds : 1) * 1000);
    } else {
      // Nothing was stored: resend, waiting longer after each failure in a row.
      this.serverErrors += 1;
      this.hold(Math.min(RETRY_CAP_MS, SERVER_ERROR_RETRY_MS * 2 ** (this.serverErrors - 1)));
    }
    this.onChange(entry);
  }

  /**
   * The room is lost (banned, removed, deleted, no access): nothing will ever be sent
   * from here, so every entry still waiting fails with `detail`, and nothing retries.
   */
  close(detail) {
    this.closedDetail = detail;
    this.timers.clearTimeout(this.holdTimer);
    this.holdTimer = null;
    for (const entry of this.values()) if (!entry.failed) this.fail(entry, detail);
  }
}
