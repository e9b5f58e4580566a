// timeline_ui.js: the list of messages on the page. It draws what the Timeline store
// holds, in id order, grouped by author and separated by day (in the reader's time zone);
// follows the bottom as messages arrive without moving what the reader is looking at; and
// loads earlier pages (HTTP) when scrolled up.

import { continuesGroup } from "./day_labels.js";
import { DaySeparators, nextMessageItem, previousMessageItem } from "./day_separators_ui.js";
import {
  mentionIds,
  mentionNamesFromElement,
  messageFromElement,
  renderMessage,
  toInt,
} from "./render.js";
import { withFreshQuote } from "./replies.js";

const PAGE_SIZE = 50;
const AT_BOTTOM_PX = 48;
const NEAR_TOP_PX = 120;

export class TimelineView {
  /**
   * - ui: the page's elements (timeline, messages, newPill, loadEarlier, historyNote);
   * - timeline: the Timeline store; me(): {id, username, staff, can_moderate};
   * - onSnapshot(msg): every snapshot passes here first (it may acknowledge a send);
   * - historyUrl: the messages API; onUnauthenticated(), showNotice(text);
   * - mentionName(id): a room member's username (the Members store), to draw mentions;
   * - timeZone: the days' and groups' time zone, undefined for the browser's own.
   */
  constructor({
    ui,
    timeline,
    me,
    onSnapshot,
    historyUrl,
    onUnauthenticated,
    showNotice,
    mentionName = () => undefined,
    timeZone = undefined,
  }) {
    Object.assign(this, { ui, timeline, me, onSnapshot, historyUrl, onUnauthenticated });
    this.timeZone = timeZone;
    this.showNotice = showNotice;
    this.views = new Map(); // id -> {el, editing}
    this.loadingEarlier = false;
    // Names the server-rendered page resolved, until the member list has come.
    this.renderedNames = new Map();
    this.mentionName = (id) => mentionName(id) ?? this.renderedNames.get(id);
    this.days = new DaySeparators({
      list: ui.messages,
      createdAt: (li) => this.messageOf(li)?.created_at,
      timeZone,
    });
  }

  listen() {
    this.ui.timeline.addEventListener("scroll", () => this.onScroll(), { passive: true });
    this.ui.newPill.addEventListener("click", () => this.scrollToBottom());
    this.ui.loadEarlier.addEventListener("click", () => this.loadEarlier());
    this.days.listen();
  }

  /** The stored message an item of the list shows (undefined for a separator). */
  messageOf(li) {
    return li ? this.timeline.get(toInt(li.dataset.id)) : undefined;
  }

  // --- drawing ------------------------------------------------------------------------

  /**
   * Apply one message snapshot; return the store's verdict ("inserted", "updated", …).
   * `older` and `newer` mark history pages (Timeline.apply).
   */
  apply(msg, { older = false, newer = false } = {}) {
    this.onSnapshot(msg);
    const result = this.timeline.apply(msg, { older, newer });
    const view = this.views.get(msg.id);
    if (result === "unchanged") {
      view?.el.classList.remove("is-saving"); // e.g. an edit that changed nothing
    } else if (result === "updated") {
      if (!view.editing || msg.deleted) this.redraw(msg.id);
      this.refreshQuotes(this.timeline.get(msg.id));
    } else if (result === "inserted") {
      // The store may hold a newer snapshot than a history page's (Timeline.apply).
      const el = renderMessage(this.timeline.get(msg.id), this.me(), this.mentionName);
      this.views.set(msg.id, { el, editing: false });
      this.insertInOrder(el, msg.id);
      this.days.place(el);
      this.regroup(el);
      this.regroup(nextMessageItem(el));
    }
    return result;
  }

  /** Draw a message afresh from the store (ending an edit in progress). */
  redraw(id) {
    const view = this.views.get(id);
    const msg = this.timeline.get(id);
    if (!view || !msg) return;
    const fresh = renderMessage(msg, this.me(), this.mentionName);
    // A message just jumped to stays marked through a redraw (say, the hello's rights).
    if (view.el.classList.contains("is-jumped-to")) fresh.classList.add("is-jumped-to");
    view.el.replaceWith(fresh);
    view.el = fresh;
    view.editing = false;
    this.regroup(fresh);
  }

  /**
   * An original was edited or deleted: the loaded replies quoting it show it as it now is
   * (a reply's record quotes the original as it was when the reply was read).
   */
  refreshQuotes(original) {
    for (const [id, view] of this.views) {
      const msg = this.timeline.get(id);
      if (msg?.reply_to?.id !== original.id) continue;
      const fresh = withFreshQuote(msg, original);
      if (fresh === msg) continue;
      this.timeline.messages.set(id, fresh); // the same rev: the server's next one wins
      if (!view.editing) this.redraw(id);
    }
  }

  /** My rights changed (say, made a moderator): redraw every message not being edited. */
  redrawActions() {
    for (const [id, view] of this.views) if (!view.editing) this.redraw(id);
  }

  /** The member list came: redraw the messages that mention someone (not being edited). */
  redrawMentions() {
    for (const [id, view] of this.views) {
      // A saving edit keeps its mark until its answer redraws it anyway.
      if (view.editing || view.el.classList.contains("is-saving")) continue;
      if (mentionIds(this.timeline.get(id) ?? {}).length) this.redraw(id);
    }
  }

  /** Forget every message drawn: another stretch of history takes the window's place. */
  clear() {
    this.ui.messages.replaceChildren();
    this.views.clear();
    this.ui.newPill.hidden = true;
  }

  /** Tell whether an edit sent from here still waits for its answer. */
  hasSavingEdit() {
    return this.ui.messages.querySelector(".is-saving") !== null;
  }

  clearSaving() {
    for (const li of this.ui.messages.querySelectorAll(".is-saving")) {
      li.classList.remove("is-saving");
    }
  }

  /**
   * Place an element by id, right after the message before it: ids grow with time, so
   * this is the timeline order. Day separators are put right afterwards (DaySeparators).
   */
  insertInOrder(li, id) {
    let before = this.ui.messages.lastElementChild;
    while (before && (!before.dataset.id || toInt(before.dataset.id) > id)) {
      before = before.previousElementSibling;
    }
    if (before) before.after(li);
    else this.ui.messages.prepend(li);
  }

  /**
   * A message right after another by the same author, a few minutes apart at most and on
   * the same day, is drawn as a continuation: no avatar or name again, and its time only
   * on hover or focus. The time is then focusable, so a keyboard can show it too.
   */
  regroup(li) {
    if (!li) return;
    const above = this.messageOf(previousMessageItem(li));
    const continues = continuesGroup(above, this.messageOf(li), { timeZone: this.timeZone });
    li.classList.toggle("is-continuation", continues);
    const time = li.querySelector(".message-time");
    if (continues) time?.setAttribute("tabindex", "0");
    else time?.removeAttribute("tabindex");
  }

  /**
   * Take over the messages the server rendered into the page; return the client_ids
   * among them (an outbox restored after a reload must not resend those).
   */
  adoptServerRendered(slug) {
    const storedClientIds = new Set();
    for (const li of [...this.ui.messages.children]) {
      const msg = messageFromElement(li, slug);
      if (!msg.id) continue;
      if (msg.client_id) storedClientIds.add(msg.client_id);
      for (const [id, name] of mentionNamesFromElement(li)) this.renderedNames.set(id, name);
      li.remove();
      this.apply(msg, { older: true });
    }
    return storedClientIds;
  }

  // --- scrolling -------------------------------------------------------------------------

  isAtBottom() {
    const t = this.ui.timeline;
    return t.scrollHeight - t.scrollTop - t.clientHeight < AT_BOTTOM_PX;
  }

  scrollToBottom() {
    this.ui.timeline.scrollTop = this.ui.timeline.scrollHeight;
    this.ui.newPill.hidden = true;
  }

  showNewPill() {
    this.ui.newPill.hidden = false;
  }

  /** Run a change that adds to the bottom; follow it down only if the reader was there. */
  followingBottom(change) {
    const wasAtBottom = this.isAtBottom();
    const result = change();
    if (wasAtBottom) this.scrollToBottom();
    return { result, wasAtBottom };
  }

  /** Run a change that adds above; keep what the reader sees where it was. */
  keepingPosition(change) {
    const t = this.ui.timeline;
    const fromBottom = t.scrollHeight - t.scrollTop;
    change();
    t.scrollTop = t.scrollHeight - fromBottom;
  }

  onScroll() {
    if (this.isAtBottom()) this.ui.newPill.hidden = true;
    if (this.ui.timeline.scrollTop < NEAR_TOP_PX) this.loadEarlier();
  }

  // --- earlier pages (HTTP API) --------------------------------------------------------------

  renderHistoryStatus() {
    const { hasMore } = this.timeline;
    this.ui.loadEarlier.hidden = !hasMore;
    this.ui.loadEarlier.disabled = this.loadingEarlier;
    this.ui.loadEarlier.textContent = this.loadingEarlier ? "Loading…" : "Load earlier messages";
    this.ui.historyNote.hidden = hasMore;
  }

  async loadEarlier() {
    const { timeline } = this;
    if (this.loadingEarlier || !timeline.hasMore || timeline.oldestId === null) return;
    this.loadingEarlier = true;
    this.renderHistoryStatus();
    const { epoch } = timeline; // the window may move meanwhile (timeline_window.js)
    let loaded = false;
    try {
      const url = new URL(this.historyUrl, window.location.href);
      url.searchParams.set("before", timeline.oldestId);
      url.searchParams.set("limit", PAGE_SIZE);
      const response = await fetch(url, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (response.status === 401) {
        this.onUnauthenticated();
        return;
      }
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const page = await response.json();
      if (timeline.epoch !== epoch) return;
      this.keepingPosition(() => {
        for (const msg of page.messages) this.apply(msg, { older: true });
      });
      timeline.hasMore = Boolean(page.has_more) && page.messages.length > 0;
      loaded = true;
    } catch {
      this.showNotice("Could not load earlier messages. Scroll up to try again.");
    } finally {
      this.loadingEarlier = false;
      this.renderHistoryStatus();
    }
    // A short page may leave the top in sight, where no scroll event will come.
    if (loaded) window.requestAnimationFrame(() => this.fillView());
  }

  fillView() {
    const t = this.ui.timeline;
    if (this.timeline.hasMore && t.scrollHeight <= t.clientHeight + NEAR_TOP_PX) {
      this.loadEarlier();
    }
  }
}
