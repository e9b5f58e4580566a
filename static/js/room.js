// room.js: the live client of one chat room (PROTOCOL.md, version 1).
//
// The server renders the page with the latest messages, so the room reads without
// JavaScript. This module takes the page over: it opens the room's WebSocket, keeps the
// timeline complete by revision, sends through an outbox that survives reconnects and
// reloads, and shows presence and typing.
//
// Rules kept throughout:
// - User-supplied text goes into the DOM with textContent only, never innerHTML.
// - Configuration comes from data- attributes on #room (no inline script: CSP).
// - Frames from a socket that is no longer the current one are ignored.

const GAP_WAIT_MS = 1000; // how long a hole in the revisions may stay before asking for sync
const SYNC_RETRY_MS = 5000; // ask again if a sync request goes unanswered
const PING_EVERY_MS = 25000;
// The server passes on one "typing: true" per user per 2 s and drops the rest silently,
// even right after a "typing: false"; so never send sooner than that (plus a margin).
const TYPING_SEND_EVERY_MS = 2200;
const TYPING_EXPIRES_MS = 5000;
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 30000;
const SERVER_ERROR_RETRY_MS = 2000;
const PAGE_SIZE = 50;
const AT_BOTTOM_PX = 48;
const NEAR_TOP_PX = 120;
const COUNTER_FROM = 0.9; // show the length counter from 90 % of body_max
const NOTICE_MS = 6000;
const GROUP_WINDOW_MS = 5 * 60 * 1000; // messages by one author this close share a header
const AVATAR_COLOURS = 8; // .avatar-c0 ... .avatar-c7 in app.css; chat_tags.avatar_colour agrees

// Error codes after which resending the same message can never succeed.
const FINAL_ERRORS = new Set([
  "empty",
  "too_long",
  "bad_frame",
  "bad_json",
  "room_archived",
  "forbidden",
  "not_found",
]);

// Close codes after which reconnecting is pointless (PROTOCOL.md, "Close codes").
const CLOSE_UNAUTHENTICATED = 4401;
const FINAL_CLOSES = {
  4400: "Disconnected: the connection sent too many invalid frames. Reload the page to reconnect.",
  4403: "You are not allowed in this room any more.",
  4404: "This room does not exist any more.",
  4429: "Too many open tabs or windows: close some, then reload this page.",
};

const STATE_LABELS = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline",
};

const root = document.getElementById("room");
if (root) {
  start(root);
}

function start(root) {
  const cfg = readConfig(root);
  const ui = findElements(root);
  const state = {
    rev: cfg.rev, // R: every revision up to here is held
    aheadRevs: new Set(), // revisions seen above R + 1, waiting for the hole to fill
    knownRev: cfg.rev, // the highest revision known to exist (hello, pong, sync)
    gapTimer: null,
    messages: new Map(), // id -> {msg, el, editing}
    oldestId: null,
    hasMore: cfg.hasMore,
    loadingEarlier: false,
    archived: cfg.archived,
    outbox: new Map(), // client_id -> entry (insertion order is sending order)
    outboxHoldUntil: 0, // after rate_limited or server_error: send nothing before this
    outboxHoldTimer: null,
    serverErrors: 0, // consecutive server_error answers, for the resend backoff
    online: [],
    typing: new Map(), // username -> expiry timer
    typingSentAt: 0, // when the last "typing: true" went out
    typingActive: false, // the others were told we are typing and not told we stopped
    typingTimer: null, // a "typing: true" waiting for the server's interval to pass
    ws: null,
    live: false, // hello received on the current socket
    everLive: false, // some socket got as far as hello
    attempt: 0, // reconnect attempts since the last hello
    reconnectTimer: null,
    pingTimer: null,
    awaitingPong: false,
    stoppedFor: null, // a close code after which we do not reconnect
    noticeTimer: null,
  };

  // --- configuration and elements ----------------------------------------------------

  function readConfig(el) {
    const d = el.dataset;
    return {
      slug: d.roomSlug,
      rev: toInt(d.roomRev),
      me: { id: toInt(d.userId), username: d.username, staff: d.staff === "true" },
      wsPath: d.wsPath,
      apiUrl: d.apiUrl,
      loginUrl: d.loginUrl,
      hasMore: d.hasMore === "true",
      archived: d.archived === "true",
      bodyMax: toInt(d.bodyMax) || 4000,
      frameMax: toInt(d.frameMax) || 16384,
    };
  }

  function findElements(el) {
    const pick = (name) => el.querySelector(`[data-js="${name}"]`);
    return {
      roomName: pick("room-name"),
      roomTopic: pick("room-topic"),
      archivedBadge: pick("archived-badge"),
      connState: pick("conn-state"),
      onlineCount: pick("online-count"),
      notice: pick("notice"),
      noticeText: pick("notice-text"),
      noticeClose: pick("notice-close"),
      timeline: pick("timeline"),
      loadEarlier: pick("load-earlier"),
      historyNote: pick("history-note"),
      messages: pick("messages"),
      outbox: pick("outbox"),
      newPill: pick("new-pill"),
      typing: pick("typing"),
      composer: pick("composer"),
      input: pick("input"),
      counter: pick("counter"),
      send: pick("send"),
      onlineList: pick("online-list"),
      onlinePanelCount: pick("online-panel-count"),
    };
  }

  // --- small helpers -----------------------------------------------------------------

  function toInt(value) {
    const number = Number.parseInt(value, 10);
    return Number.isFinite(number) ? number : 0;
  }

  // Create an element with a class and, optionally, text (always as text, never HTML).
  function h(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function codePoints(text) {
    // The server counts characters as Python does (code points), not UTF-16 units.
    let count = 0;
    for (const _ of text) count += 1;
    return count;
  }

  function avatarColour(username) {
    let value = 0;
    for (let i = 0; i < username.length; i += 1) {
      value = (Math.imul(value, 31) + username.charCodeAt(i)) >>> 0;
    }
    return `avatar-c${value % AVATAR_COLOURS}`;
  }

  function newClientId() {
    if (crypto.randomUUID) return `c-${crypto.randomUUID()}`;
    // randomUUID exists only in secure contexts; getRandomValues works everywhere.
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return `c-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
  }

  function goToLogin() {
    const next = window.location.pathname + window.location.search;
    window.location.assign(`${cfg.loginUrl}?next=${encodeURIComponent(next)}`);
  }

  // --- times -------------------------------------------------------------------------

  const shortTime = new Intl.DateTimeFormat(undefined, {
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  });
  const fullTime = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });

  function fillTime(timeEl, iso) {
    const date = new Date(iso);
    timeEl.dateTime = iso;
    if (Number.isNaN(date.getTime())) return;
    timeEl.textContent = shortTime.format(date);
    timeEl.title = fullTime.format(date);
  }

  // --- rendering messages --------------------------------------------------------------

  function avatar(username) {
    const node = h(
      "span",
      `avatar ${avatarColour(username)}`,
      [...username][0]?.toUpperCase() ?? "?",
    );
    node.setAttribute("aria-hidden", "true");
    return node;
  }

  function actionButton(action, label) {
    const button = h("button", "message-action", label);
    button.type = "button";
    button.dataset.action = action;
    return button;
  }

  function renderMessage(msg) {
    const own = msg.author.id === cfg.me.id;
    const li = h("li", "message");
    li.classList.toggle("is-own", own);
    li.classList.toggle("is-deleted", msg.deleted);
    li.dataset.id = msg.id;
    li.dataset.rev = msg.rev;
    li.dataset.authorId = msg.author.id;
    li.dataset.author = msg.author.username;

    const meta = h("div", "message-meta");
    const time = h("time", "message-time");
    fillTime(time, msg.created_at);
    meta.append(h("span", "message-author", msg.author.username), time);
    if (msg.edited_at && !msg.deleted) meta.append(h("span", "message-edited", "(edited)"));

    const body = msg.deleted
      ? h("div", "message-body is-deleted", "message deleted")
      : h("div", "message-body", msg.body);

    const main = h("div", "message-main");
    main.append(meta, body);
    li.append(avatar(msg.author.username), main);

    if (!msg.deleted && (own || cfg.me.staff)) {
      const actions = h("div", "message-actions");
      if (own) actions.append(actionButton("edit", "Edit"));
      actions.append(actionButton("delete", "Delete"));
      li.append(actions);
    }
    return li;
  }

  // Read a server-rendered item back into a protocol Message, so that one renderer
  // (renderMessage) draws every message, whatever brought it.
  function messageFromElement(li) {
    const deleted = li.dataset.deleted === "true";
    return {
      id: toInt(li.dataset.id),
      rev: toInt(li.dataset.rev),
      room: cfg.slug,
      author: { id: toInt(li.dataset.authorId), username: li.dataset.author ?? "" },
      body: deleted ? "" : (li.querySelector(".message-body")?.textContent ?? ""),
      created_at: li.querySelector("time")?.getAttribute("datetime") ?? "",
      edited_at: li.dataset.editedAt || null,
      deleted,
      client_id: li.dataset.clientId || null,
    };
  }

  // Place an element among the messages by id: ids grow with time, so this is the timeline order.
  function insertInOrder(li, id) {
    let before = ui.messages.lastElementChild;
    while (before && toInt(before.dataset.id) > id) before = before.previousElementSibling;
    if (before) before.after(li);
    else ui.messages.prepend(li);
  }

  // Apply one message snapshot; return "inserted", "updated" or null (nothing to do).
  // `older` marks history pages, which extend the loaded window downwards.
  function applyMessage(msg, { older = false } = {}) {
    settleOutbox(msg);
    const known = state.messages.get(msg.id);
    if (known) {
      if (msg.rev <= known.msg.rev) {
        known.el.classList.remove("is-saving"); // e.g. an edit that changed nothing
        return null; // an older or the same snapshot
      }
      known.msg = msg;
      if (!known.editing || msg.deleted) redraw(known);
      return "updated";
    }
    // Changes to messages above the top of what we show are not ours to draw: the
    // history page that brings them will carry their current state.
    if (!older && state.hasMore && state.oldestId !== null && msg.id < state.oldestId) return null;
    const entry = { msg, el: renderMessage(msg), editing: false };
    state.messages.set(msg.id, entry);
    insertInOrder(entry.el, msg.id);
    regroup(entry.el);
    regroup(entry.el.nextElementSibling);
    if (state.oldestId === null || msg.id < state.oldestId) state.oldestId = msg.id;
    return "inserted";
  }

  function redraw(entry) {
    const fresh = renderMessage(entry.msg);
    entry.el.replaceWith(fresh);
    entry.el = fresh;
    entry.editing = false;
    regroup(fresh);
  }

  // A message right after another by the same author, a few minutes apart at most, is
  // drawn as a continuation: no avatar or name again.
  function regroup(li) {
    if (!li) return;
    const entry = state.messages.get(toInt(li.dataset.id));
    const before = state.messages.get(toInt(li.previousElementSibling?.dataset.id));
    const continues =
      Boolean(entry && before) &&
      entry.msg.author.id === before.msg.author.id &&
      Date.parse(entry.msg.created_at) - Date.parse(before.msg.created_at) < GROUP_WINDOW_MS;
    li.classList.toggle("is-continuation", continues);
  }

  // --- scrolling -----------------------------------------------------------------------

  function isAtBottom() {
    const t = ui.timeline;
    return t.scrollHeight - t.scrollTop - t.clientHeight < AT_BOTTOM_PX;
  }

  function scrollToBottom() {
    ui.timeline.scrollTop = ui.timeline.scrollHeight;
    ui.newPill.hidden = true;
  }

  // Run a change that adds to the bottom; follow it down only if the reader was there.
  function followingBottom(change) {
    const wasAtBottom = isAtBottom();
    const result = change();
    if (wasAtBottom) scrollToBottom();
    return { result, wasAtBottom };
  }

  // Run a change that adds above; keep what the reader sees where it was.
  function keepingPosition(change) {
    const t = ui.timeline;
    const fromBottom = t.scrollHeight - t.scrollTop;
    change();
    t.scrollTop = t.scrollHeight - fromBottom;
  }

  function onScroll() {
    if (isAtBottom()) ui.newPill.hidden = true;
    if (ui.timeline.scrollTop < NEAR_TOP_PX) loadEarlier();
  }

  // --- history (HTTP API) -------------------------------------------------------------

  function renderHistoryStatus() {
    ui.loadEarlier.hidden = !state.hasMore;
    ui.loadEarlier.disabled = state.loadingEarlier;
    ui.loadEarlier.textContent = state.loadingEarlier ? "Loading…" : "Load earlier messages";
    ui.historyNote.hidden = state.hasMore;
  }

  async function loadEarlier() {
    if (state.loadingEarlier || !state.hasMore || state.oldestId === null) return;
    state.loadingEarlier = true;
    renderHistoryStatus();
    let loaded = false;
    try {
      const url = new URL(cfg.apiUrl, window.location.href);
      url.searchParams.set("before", state.oldestId);
      url.searchParams.set("limit", PAGE_SIZE);
      const response = await fetch(url, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (response.status === 401) {
        goToLogin();
        return;
      }
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const page = await response.json();
      keepingPosition(() => {
        for (const msg of page.messages) applyMessage(msg, { older: true });
      });
      state.hasMore = Boolean(page.has_more) && page.messages.length > 0;
      loaded = true;
    } catch {
      showNotice("Could not load earlier messages. Scroll up to try again.");
    } finally {
      state.loadingEarlier = false;
      renderHistoryStatus();
    }
    // A short page may leave the top in sight, where no scroll event will come.
    if (loaded) window.requestAnimationFrame(fillView);
  }

  function fillView() {
    if (state.hasMore && ui.timeline.scrollHeight <= ui.timeline.clientHeight + NEAR_TOP_PX) {
      loadEarlier();
    }
  }

  // --- revisions ------------------------------------------------------------------------

  // Note a revision seen live; advance R over every contiguous one.
  function noteRevision(rev) {
    if (rev > state.rev) state.aheadRevs.add(rev);
    state.knownRev = Math.max(state.knownRev, rev);
    advanceRevision();
    watchGap();
  }

  function advanceRevision() {
    while (state.aheadRevs.delete(state.rev + 1)) state.rev += 1;
    for (const rev of state.aheadRevs) if (rev <= state.rev) state.aheadRevs.delete(rev);
  }

  function isBehind() {
    return state.aheadRevs.size > 0 || state.rev < state.knownRev;
  }

  // Learn that the room has reached `rev` (from hello, pong or an incomplete sync).
  function noteKnownRevision(rev) {
    if (Number.isInteger(rev) && rev > state.knownRev) state.knownRev = rev;
    watchGap();
  }

  // Two server processes may deliver events out of order: give a hole GAP_WAIT_MS to
  // fill by itself before asking the server with sync.
  function watchGap() {
    if (!isBehind()) {
      clearTimeout(state.gapTimer);
      state.gapTimer = null;
    } else if (state.gapTimer === null) {
      state.gapTimer = setTimeout(requestSync, GAP_WAIT_MS);
    }
  }

  function requestSync() {
    state.gapTimer = null;
    if (!isBehind()) return;
    sendFrame({ type: "sync", since: state.rev });
    // Without an answer (lost socket, lost frame), ask again later; a new socket's
    // ?since= covers it too.
    state.gapTimer = setTimeout(requestSync, SYNC_RETRY_MS);
  }

  // --- outbox ---------------------------------------------------------------------------

  function storageKey() {
    return `rooms.outbox.v1.${cfg.slug}`;
  }

  function saveOutbox() {
    const items = [...state.outbox.values()].map(({ clientId, body, failed, detail }) => ({
      clientId,
      body,
      failed,
      detail,
    }));
    try {
      if (items.length) sessionStorage.setItem(storageKey(), JSON.stringify(items));
      else sessionStorage.removeItem(storageKey());
    } catch {
      // Storage may be full or disabled; the outbox still works for this page.
    }
  }

  function restoreOutbox(storedClientIds) {
    let items = [];
    try {
      items = JSON.parse(sessionStorage.getItem(storageKey()) || "[]");
    } catch {
      items = [];
    }
    if (!Array.isArray(items)) return;
    for (const item of items) {
      if (typeof item?.clientId !== "string" || typeof item.body !== "string") continue;
      // Stored before the reload and shown by the server already: nothing to resend.
      if (storedClientIds.has(item.clientId)) continue;
      addToOutbox({
        clientId: item.clientId,
        body: item.body,
        failed: Boolean(item.failed),
        detail: item.detail || "",
      });
    }
    saveOutbox();
  }

  function addToOutbox(fields) {
    const entry = { el: null, failed: false, held: false, detail: "", ...fields };
    state.outbox.set(entry.clientId, entry);
    entry.el = renderOutboxEntry(entry);
    ui.outbox.append(entry.el);
    return entry;
  }

  function renderOutboxEntry(entry) {
    const li = h("li", "message is-own is-pending");
    li.dataset.clientId = entry.clientId;
    const meta = h("div", "message-meta");
    meta.append(h("span", "message-author", cfg.me.username), h("span", "message-status"));
    const main = h("div", "message-main");
    main.append(meta, h("div", "message-body", entry.body));
    li.append(avatar(cfg.me.username), main);
    drawOutboxStatus(entry, li);
    return li;
  }

  function drawOutboxStatus(entry, li = entry.el) {
    li.classList.toggle("is-failed", entry.failed);
    const status = li.querySelector(".message-status");
    if (entry.failed) status.textContent = `Not sent: ${entry.detail}`;
    else status.textContent = entry.held ? "waiting to resend…" : "sending…";
    li.querySelector(".message-actions")?.remove();
    if (entry.failed) {
      const actions = h("div", "message-actions is-visible");
      actions.append(
        actionButton("outbox-edit", "Edit"),
        actionButton("outbox-dismiss", "Dismiss"),
      );
      li.append(actions);
    }
  }

  function queueMessage(body) {
    const entry = addToOutbox({ clientId: newClientId(), body });
    saveOutbox();
    scrollToBottom();
    transmit(entry);
  }

  // Send (or resend) an outbox entry. If the socket is down it just waits: every entry
  // is sent again after the next hello, and the server stores a client_id only once.
  function transmit(entry) {
    if (entry.failed) return;
    // While the outbox is held, keep the entry for the flush that ends the hold, so
    // that messages still go out in the order they were written.
    entry.held = Date.now() < state.outboxHoldUntil;
    drawOutboxStatus(entry);
    if (!entry.held) {
      sendFrame({ type: "message.send", client_id: entry.clientId, body: entry.body });
    }
  }

  function flushOutbox() {
    for (const entry of state.outbox.values()) transmit(entry);
  }

  // Stop sending for a while (rate limited, or the server failing), then send everything
  // held, in order.
  function holdOutbox(delayMs) {
    state.outboxHoldUntil = Math.max(state.outboxHoldUntil, Date.now() + delayMs);
    clearTimeout(state.outboxHoldTimer);
    state.outboxHoldTimer = setTimeout(() => {
      state.outboxHoldTimer = null;
      for (const entry of state.outbox.values()) if (entry.held) transmit(entry);
    }, state.outboxHoldUntil - Date.now());
  }

  // A message.new (or any snapshot) carrying one of our client_ids is the acknowledgement.
  function settleOutbox(msg) {
    if (!msg.client_id || msg.author.id !== cfg.me.id) return;
    const entry = state.outbox.get(msg.client_id);
    if (!entry) return;
    state.serverErrors = 0;
    removeFromOutbox(entry);
  }

  function removeFromOutbox(entry) {
    entry.el.remove();
    state.outbox.delete(entry.clientId);
    saveOutbox();
  }

  function outboxError(entry, frame) {
    if (frame.code === "rate_limited") {
      const seconds = Number(frame.retry_after);
      entry.held = true;
      holdOutbox(Math.max(0.25, Number.isFinite(seconds) ? seconds : 1) * 1000);
    } else if (FINAL_ERRORS.has(frame.code)) {
      entry.failed = true;
      entry.detail = frame.detail || frame.code;
      saveOutbox();
    } else {
      // server_error, or a code this client does not know: nothing was stored, so
      // resend, waiting longer after each failure in a row.
      state.serverErrors += 1;
      entry.held = true;
      holdOutbox(Math.min(BACKOFF_CAP_MS, SERVER_ERROR_RETRY_MS * 2 ** (state.serverErrors - 1)));
    }
    drawOutboxStatus(entry);
  }

  // --- composer -----------------------------------------------------------------------

  function composerText() {
    return ui.input.value.trim();
  }

  function fitsFrame(body) {
    const frame = JSON.stringify({ type: "message.send", client_id: "c-".padEnd(64, "x"), body });
    return new TextEncoder().encode(frame).length <= cfg.frameMax;
  }

  function updateComposer() {
    const text = composerText();
    const length = codePoints(text);
    const tooLong = length > cfg.bodyMax || !fitsFrame(text);
    ui.counter.hidden = length < cfg.bodyMax * COUNTER_FROM;
    ui.counter.textContent = `${length} / ${cfg.bodyMax}`;
    ui.counter.classList.toggle("is-over", tooLong);
    ui.send.disabled = state.archived || !text || tooLong;
    // Grow with the text, up to the CSS max-height.
    ui.input.style.height = "auto";
    ui.input.style.height = `${ui.input.scrollHeight}px`;
  }

  function submitComposer() {
    const body = composerText();
    if (!body || state.archived) return;
    if (codePoints(body) > cfg.bodyMax || !fitsFrame(body)) {
      ui.counter.hidden = false;
      showNotice(`Messages are limited to ${cfg.bodyMax} characters.`);
      return;
    }
    stopTyping();
    queueMessage(body);
    ui.input.value = "";
    updateComposer();
  }

  function onComposerKeydown(event) {
    // Enter sends, Shift+Enter is a new line; never interrupt an IME composition.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submitComposer();
    }
  }

  function onComposerInput() {
    updateComposer();
    if (composerText()) signalTyping();
    else stopTyping();
  }

  // Tell the others we are typing: at once if the server's interval has passed, else
  // when it has (a frame sent sooner would be dropped, and the indicator never shown).
  function signalTyping() {
    const wait = state.typingSentAt + TYPING_SEND_EVERY_MS - Date.now();
    if (wait <= 0) {
      clearTimeout(state.typingTimer);
      state.typingTimer = null;
      if (sendFrame({ type: "typing", active: true })) {
        state.typingSentAt = Date.now();
        state.typingActive = true;
      }
    } else if (!state.typingActive && state.typingTimer === null) {
      state.typingTimer = setTimeout(() => {
        state.typingTimer = null;
        if (composerText()) signalTyping();
      }, wait);
    }
  }

  function stopTyping() {
    clearTimeout(state.typingTimer);
    state.typingTimer = null;
    if (state.typingActive) sendFrame({ type: "typing", active: false });
    state.typingActive = false;
  }

  function setArchived(archived) {
    state.archived = archived;
    root.classList.toggle("is-archived", archived);
    ui.archivedBadge.hidden = !archived;
    ui.input.disabled = archived;
    ui.input.placeholder = archived
      ? "This room is archived: it can be read but not written to."
      : `Message #${ui.roomName.textContent}`;
    updateComposer();
  }

  // --- editing and deleting -------------------------------------------------------------

  function startEdit(entry) {
    if (entry.editing || entry.msg.deleted) return;
    entry.editing = true;
    const form = h("form", "message-editor");
    const field = h("textarea", "message-editor-input");
    field.value = entry.msg.body;
    field.rows = Math.min(8, entry.msg.body.split("\n").length);
    field.setAttribute("aria-label", "Edit message");
    const save = h("button", "btn btn-primary btn-sm", "Save");
    save.type = "submit";
    const cancel = actionButton("cancel-edit", "Cancel");
    cancel.className = "btn btn-ghost btn-sm";
    const buttons = h("div", "message-editor-buttons");
    buttons.append(save, cancel, h("span", "message-editor-hint", "Enter to save · Esc to cancel"));
    form.append(field, buttons);
    entry.el.querySelector(".message-body").replaceWith(form);
    entry.el.querySelector(".message-actions")?.remove();
    field.focus();
    field.setSelectionRange(field.value.length, field.value.length);
    form.scrollIntoView({ block: "nearest" });
  }

  function saveEdit(entry, text) {
    const body = text.trim();
    if (!body) {
      showNotice("A message cannot be empty; delete it instead.");
      return;
    }
    if (body === entry.msg.body) {
      redraw(entry);
      return;
    }
    if (!sendFrame({ type: "message.edit", id: entry.msg.id, body })) {
      showNotice("Not connected; your edit was not saved. Try again when the room is live.");
      return;
    }
    // message.updated redraws it with the new text.
    redraw(entry);
    entry.el.classList.add("is-saving");
  }

  function deleteMessage(entry) {
    if (!window.confirm("Delete this message for everyone?")) return;
    if (!sendFrame({ type: "message.delete", id: entry.msg.id })) {
      showNotice("Not connected; the message was not deleted. Try again when the room is live.");
    }
  }

  function entryOf(target) {
    const li = target.closest("li.message");
    return li ? state.messages.get(toInt(li.dataset.id)) : undefined;
  }

  function onMessagesClick(event) {
    const button = event.target.closest("button[data-action]");
    if (!button) {
      selectMessage(event.target.closest("li.message"));
      return;
    }
    const entry = entryOf(button);
    if (!entry) return;
    if (button.dataset.action === "edit") startEdit(entry);
    else if (button.dataset.action === "delete") deleteMessage(entry);
    else if (button.dataset.action === "cancel-edit") redraw(entry);
  }

  // Touch screens have no hover: a tap selects a message, which shows its actions (CSS).
  function selectMessage(li) {
    if (!li || li.querySelector(".message-editor")) return;
    const wasSelected = li.classList.contains("is-selected");
    for (const other of ui.messages.querySelectorAll(".is-selected")) {
      other.classList.remove("is-selected");
    }
    li.classList.toggle("is-selected", !wasSelected);
    if (!wasSelected) li.scrollIntoView({ block: "nearest" });
  }

  function onMessagesSubmit(event) {
    const entry = entryOf(event.target);
    if (!entry) return;
    event.preventDefault();
    saveEdit(entry, event.target.querySelector("textarea").value);
  }

  function onMessagesKeydown(event) {
    if (!event.target.matches(".message-editor-input")) return;
    const entry = entryOf(event.target);
    if (!entry) return;
    if (event.key === "Escape") {
      event.preventDefault();
      redraw(entry);
    } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      saveEdit(entry, event.target.value);
    }
  }

  function onOutboxClick(event) {
    const button = event.target.closest("button[data-action]");
    const li = button?.closest("li");
    const entry = li && state.outbox.get(li.dataset.clientId);
    if (!entry) return;
    if (button.dataset.action === "outbox-edit" && !composerText()) {
      ui.input.value = entry.body;
      updateComposer();
      ui.input.focus();
    }
    if (button.dataset.action === "outbox-edit" || button.dataset.action === "outbox-dismiss") {
      removeFromOutbox(entry);
    }
  }

  // --- presence and typing ----------------------------------------------------------------

  function setOnline(usernames) {
    state.online = Array.isArray(usernames) ? usernames : [];
    const items = state.online.map((username) => {
      const li = h("li", "online-user");
      const name = h("span", "online-name", username);
      li.append(avatar(username), name);
      if (username === cfg.me.username) li.append(h("span", "online-you", "you"));
      return li;
    });
    ui.onlineList.replaceChildren(...items);
    const count = state.online.length;
    ui.onlinePanelCount.textContent = String(count);
    ui.onlineCount.textContent = `${count} online`;
    ui.onlineCount.hidden = !state.live;
  }

  function setTyping(username, active) {
    clearTimeout(state.typing.get(username));
    state.typing.delete(username);
    if (active) {
      // Without a refresh within TYPING_EXPIRES_MS, the indicator goes (a lost "false").
      state.typing.set(
        username,
        setTimeout(() => setTyping(username, false), TYPING_EXPIRES_MS),
      );
    }
    renderTyping();
  }

  function clearAllTyping() {
    for (const timer of state.typing.values()) clearTimeout(timer);
    state.typing.clear();
    renderTyping();
  }

  function renderTyping() {
    const names = [...state.typing.keys()];
    let text = "";
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = `${names.length} people are typing…`;
    ui.typing.textContent = text;
  }

  // --- notices and connection state ---------------------------------------------------------

  function showNotice(text, { sticky = false } = {}) {
    clearTimeout(state.noticeTimer);
    ui.noticeText.textContent = text;
    ui.notice.hidden = false;
    ui.noticeClose.hidden = sticky;
    state.noticeTimer = sticky ? null : setTimeout(hideNotice, NOTICE_MS);
  }

  function hideNotice() {
    ui.notice.hidden = true;
  }

  function setConnState(name) {
    ui.connState.hidden = false;
    ui.connState.dataset.state = name;
    ui.connState.textContent = STATE_LABELS[name];
    root.dataset.connection = name;
  }

  // --- the socket -------------------------------------------------------------------------

  function socketUrl() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    return `${scheme}://${window.location.host}${cfg.wsPath}?since=${state.rev}`;
  }

  function sendFrame(frame) {
    // Before hello the server has not admitted us; it would drop the frame.
    if (!state.live || state.ws?.readyState !== WebSocket.OPEN) return false;
    state.ws.send(JSON.stringify(frame));
    return true;
  }

  function connect() {
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = null;
    if (state.stoppedFor !== null || state.ws) return;
    setConnState(state.everLive ? waitingState() : "connecting");
    const ws = new WebSocket(socketUrl());
    state.ws = ws;
    state.live = false;
    ws.addEventListener("message", (event) => {
      if (state.ws === ws) onFrameText(event.data);
    });
    ws.addEventListener("close", (event) => {
      if (state.ws === ws) onSocketGone(event.code);
    });
    // An "error" event is always followed by "close", which handles it.
  }

  function onSocketGone(code) {
    state.ws = null;
    state.live = false;
    stopPing();
    clearAllTyping();
    ui.onlineCount.hidden = true;
    if (code === CLOSE_UNAUTHENTICATED) {
      state.stoppedFor = code;
      setConnState("offline");
      goToLogin();
      return;
    }
    if (code in FINAL_CLOSES) {
      state.stoppedFor = code;
      setConnState("offline");
      showNotice(FINAL_CLOSES[code], { sticky: true });
      ui.input.disabled = true;
      ui.send.disabled = true;
      return;
    }
    scheduleReconnect();
  }

  function scheduleReconnect() {
    // Exponential backoff with "equal jitter": half fixed, half random, so that a
    // restarted server is not hit by every client in the same instant.
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(state.attempt, 16));
    const delay = ceiling / 2 + (Math.random() * ceiling) / 2;
    state.attempt += 1;
    setConnState(waitingState());
    state.reconnectTimer = setTimeout(connect, delay);
  }

  function waitingState() {
    return navigator.onLine === false ? "offline" : "reconnecting";
  }

  // Skip the backoff wait when there is a reason to expect success now.
  function reconnectNow() {
    if (state.stoppedFor !== null || state.ws) return;
    connect();
  }

  // Close a socket that looks dead and go on as if it had closed.
  function abandonSocket() {
    const ws = state.ws;
    if (!ws) return;
    state.ws = null;
    try {
      ws.close();
    } catch {
      // Already closing; nothing to do.
    }
    onSocketGone(1006);
  }

  function startPing() {
    stopPing();
    state.awaitingPong = false;
    state.pingTimer = setInterval(() => {
      // A whole interval without any frame back: the connection is half-open.
      if (state.awaitingPong) {
        abandonSocket();
        return;
      }
      state.awaitingPong = true;
      sendFrame({ type: "ping", t: Date.now() });
    }, PING_EVERY_MS);
  }

  function stopPing() {
    clearInterval(state.pingTimer);
    state.pingTimer = null;
  }

  // --- inbound frames ----------------------------------------------------------------------

  function onFrameText(text) {
    state.awaitingPong = false; // any frame shows the connection is alive
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    const handler = frame && typeof frame.type === "string" ? frameHandlers[frame.type] : null;
    // Unknown types are ignored: the protocol may grow new frames.
    if (handler) handler(frame);
  }

  // pong carries the room's revision: the only sign of a gap when the last live event
  // itself was lost and nothing has come after it.
  function onPong(frame) {
    noteKnownRevision(frame.rev);
  }

  function onHello(frame) {
    state.live = true;
    state.everLive = true;
    state.attempt = 0;
    setConnState("live");
    if (frame.me) cfg.me.staff = Boolean(frame.me.staff);
    if (frame.limits?.body_max) cfg.bodyMax = frame.limits.body_max;
    if (frame.limits?.frame_max) cfg.frameMax = frame.limits.frame_max;
    if (frame.room) applyRoom(frame.room);
    setOnline(frame.online);
    // We connected with ?since=R; the sync frames that follow bring us to hello.rev.
    // Until they do we count as behind, so that if they never come, we ask.
    noteKnownRevision(frame.rev);
    flushOutbox();
    startPing();
    updateComposer();
  }

  function onSync(frame) {
    if (!Number.isInteger(frame.rev)) return;
    const messages = Array.isArray(frame.messages) ? frame.messages : [];
    const { result } = followingBottom(() => messages.map((msg) => applyMessage(msg)));
    if (!isAtBottom() && result.includes("inserted")) ui.newPill.hidden = false;
    // The frame holds the current state of everything up to frame.rev.
    state.rev = Math.max(state.rev, frame.rev);
    advanceRevision();
    clearTimeout(state.gapTimer);
    state.gapTimer = null;
    if (frame.complete) {
      watchGap();
      return;
    }
    // One batch per answer: ask for the next at once (the watchdog covers a lost answer).
    state.knownRev = Math.max(state.knownRev, frame.rev + 1);
    sendFrame({ type: "sync", since: state.rev });
    state.gapTimer = setTimeout(requestSync, SYNC_RETRY_MS);
  }

  function onMessageEvent(frame) {
    const msg = frame.message;
    if (!msg || typeof msg.id !== "number") return;
    const own = msg.author.id === cfg.me.id;
    const { result, wasAtBottom } = followingBottom(() => applyMessage(msg));
    if (frame.type === "message.new") {
      if (own) scrollToBottom();
      else if (result === "inserted" && !wasAtBottom) ui.newPill.hidden = false;
      setTyping(msg.author.username, false);
    }
    noteRevision(msg.rev);
  }

  function onPresence(frame) {
    setOnline(frame.online);
    if (frame.status === "offline") setTyping(frame.user, false);
  }

  function onTyping(frame) {
    if (typeof frame.user !== "string" || frame.user === cfg.me.username) return;
    setTyping(frame.user, Boolean(frame.active));
  }

  function applyRoom(room) {
    ui.roomName.textContent = room.name;
    ui.roomTopic.textContent = room.topic || "";
    ui.roomTopic.hidden = !room.topic;
    document.title = `${room.name} · Rooms`;
    setArchived(Boolean(room.archived));
  }

  function onRoomUpdated(frame) {
    if (frame.room) applyRoom(frame.room);
  }

  function onError(frame) {
    const entry = frame.client_id ? state.outbox.get(frame.client_id) : undefined;
    if (entry) {
      outboxError(entry, frame);
      return;
    }
    // An edit or delete was refused, or similar: say why, and undo an edit's "saving".
    for (const li of ui.messages.querySelectorAll(".is-saving")) li.classList.remove("is-saving");
    if (frame.client_id) return; // about a message this page no longer holds
    showNotice(frame.detail || "The server refused that.");
  }

  const frameHandlers = {
    hello: onHello,
    sync: onSync,
    "message.new": onMessageEvent,
    "message.updated": onMessageEvent,
    "message.deleted": onMessageEvent,
    presence: onPresence,
    typing: onTyping,
    "room.updated": onRoomUpdated,
    error: onError,
    pong: onPong,
  };

  // --- start --------------------------------------------------------------------------------

  function adoptServerRendered() {
    const storedClientIds = new Set();
    for (const li of [...ui.messages.children]) {
      const msg = messageFromElement(li);
      if (!msg.id) continue;
      if (msg.client_id) storedClientIds.add(msg.client_id);
      li.remove();
      applyMessage(msg, { older: true });
    }
    return storedClientIds;
  }

  function listen() {
    ui.composer.addEventListener("submit", (event) => {
      event.preventDefault();
      submitComposer();
    });
    ui.input.addEventListener("keydown", onComposerKeydown);
    ui.input.addEventListener("input", onComposerInput);
    ui.input.addEventListener("blur", () => {
      if (!composerText()) stopTyping();
    });
    ui.messages.addEventListener("click", onMessagesClick);
    ui.messages.addEventListener("submit", onMessagesSubmit);
    ui.messages.addEventListener("keydown", onMessagesKeydown);
    ui.outbox.addEventListener("click", onOutboxClick);
    ui.timeline.addEventListener("scroll", onScroll, { passive: true });
    ui.newPill.addEventListener("click", scrollToBottom);
    ui.loadEarlier.addEventListener("click", loadEarlier);
    ui.noticeClose.addEventListener("click", hideNotice);
    window.addEventListener("online", reconnectNow);
    window.addEventListener("offline", () => {
      if (!state.live) setConnState("offline");
    });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") reconnectNow();
    });
  }

  const storedClientIds = adoptServerRendered();
  restoreOutbox(storedClientIds);
  renderHistoryStatus();
  setArchived(state.archived);
  listen();
  scrollToBottom();
  fillView();
  connect();
}
