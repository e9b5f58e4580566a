// protocol.js: the wire format of docs/protocol.md (version 1), as far as the page needs
// it: frame builders, frame parsing, and what an error code or a close code means for
// the client. Pure: no DOM, no window, so node can test it.

// Close codes (docs/protocol.md, "Close codes").
export const CLOSE_BAD_FRAMES = 4400;
export const CLOSE_UNAUTHENTICATED = 4401;
export const CLOSE_FORBIDDEN = 4403;
export const CLOSE_NOT_FOUND = 4404;
export const CLOSE_TOO_MANY_SOCKETS = 4429;

// What a final close tells the reader; these codes never lead to a reconnect.
const FINAL_CLOSE_TEXT = {
  [CLOSE_BAD_FRAMES]:
    "Disconnected: the connection sent too many invalid frames. Reload the page to reconnect.",
  [CLOSE_FORBIDDEN]: "You no longer have access to this room.",
  [CLOSE_NOT_FOUND]: "This room no longer exists.",
  [CLOSE_TOO_MANY_SOCKETS]: "Too many open tabs or windows: close some, then reload this page.",
};

// After these the room is lost to this user for good: what is still in the outbox can
// never be sent, so it fails (with these words after "Not sent: ").
const LOST_ROOM_OUTBOX_TEXT = {
  [CLOSE_FORBIDDEN]: "you no longer have access",
  [CLOSE_NOT_FOUND]: "the room no longer exists",
};

// room.closed reasons: why the server is about to close the socket.
const CLOSED_REASON_OUTBOX_TEXT = {
  banned: "you were banned",
  removed: "you were removed",
  private: "you no longer have access",
  deleted: "the room was deleted",
  left: "you left the room",
};

/**
 * Say what to do after the socket closed with `code`:
 * - {action: "login"}: the login ended; send the reader to the login page;
 * - {action: "stop", text, roomLost, outboxText}: never reconnect; `roomLost` when the
 *   user can no longer be in this room (the outbox then fails with `outboxText`);
 * - {action: "reconnect"}: anything else, with backoff.
 */
export function classifyClose(code) {
  if (code === CLOSE_UNAUTHENTICATED) return { action: "login" };
  if (code in FINAL_CLOSE_TEXT) {
    const outboxText = LOST_ROOM_OUTBOX_TEXT[code] ?? null;
    const roomLost = outboxText !== null;
    return { action: "stop", text: FINAL_CLOSE_TEXT[code], roomLost, outboxText };
  }
  return { action: "reconnect" };
}

/** Return the outbox failure text for a room.closed reason (unknown reasons included). */
export function closedReasonOutboxText(reason) {
  return CLOSED_REASON_OUTBOX_TEXT[reason] ?? "you no longer have access";
}

// Error codes after which resending the same message can never succeed.
const FINAL_ERRORS = new Set([
  "empty",
  "too_long",
  "bad_frame",
  "bad_json",
  "room_archived",
  "forbidden",
  "not_found",
  "muted",
]);

/**
 * Say what an error about a sent message means for its outbox entry:
 * "final" (it fails), "rate_limited" (wait retry_after, then resend) or "retry"
 * (server_error or a code this client does not know: nothing was stored, resend later).
 */
export function classifyError(code) {
  if (code === "rate_limited") return "rate_limited";
  return FINAL_ERRORS.has(code) ? "final" : "retry";
}

/** Parse a text frame; return the frame object, or null when it is not one. */
export function parseFrame(text) {
  let frame;
  try {
    frame = JSON.parse(text);
  } catch {
    return null;
  }
  if (!frame || typeof frame !== "object" || Array.isArray(frame)) return null;
  return typeof frame.type === "string" ? frame : null;
}

/** Tell whether a value has the shape of a protocol message (enough to place it). */
export function isMessage(msg) {
  return Boolean(msg) && typeof msg.id === "number" && Boolean(msg.author);
}

// --- frames the client sends -------------------------------------------------------------

/**
 * message.send; `replyTo`: the id of the message it answers, or null (left out);
 * `attachments`: the ids of my uploads that go with it (left out when there are none).
 */
export function sendFrame(clientId, body, replyTo = null, attachments = []) {
  const frame = { type: "message.send", client_id: clientId, body };
  if (Number.isInteger(replyTo)) frame.reply_to = replyTo;
  const ids = Array.isArray(attachments) ? attachments.filter(Number.isInteger) : [];
  if (ids.length) frame.attachments = ids;
  return frame;
}
export const editFrame = (id, body) => ({ type: "message.edit", id, body });
export const deleteFrame = (id) => ({ type: "message.delete", id });
export const typingFrame = (active) => ({ type: "typing", active });
export const syncFrame = (since) => ({ type: "sync", since });
export const pingFrame = (t) => ({ type: "ping", t });

// --- limits -------------------------------------------------------------------------------

/** Count characters as the server does (Python: code points), not UTF-16 units. */
export function codePoints(text) {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

/**
 * Tell whether a message.send of `body` stays within frame_max bytes, whatever its
 * client_id, a reply_to of any message, and `attachmentCount` attachment ids of any size.
 */
export function fitsFrame(body, frameMax, attachmentCount = 0) {
  const ids = Array(attachmentCount).fill(Number.MAX_SAFE_INTEGER);
  const longest = sendFrame("c-".padEnd(64, "x"), body, Number.MAX_SAFE_INTEGER, ids);
  return new TextEncoder().encode(JSON.stringify(longest)).length <= frameMax;
}

/** Make a client_id for message.send: "c-" and 32 hex digits or a UUID. */
export function newClientId(cryptoImpl = globalThis.crypto) {
  if (cryptoImpl.randomUUID) return `c-${cryptoImpl.randomUUID()}`;
  // randomUUID exists only in secure contexts; getRandomValues works everywhere.
  const bytes = cryptoImpl.getRandomValues(new Uint8Array(16));
  return `c-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
