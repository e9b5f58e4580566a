// directory_ui.js: the directory of public rooms (/rooms/directory/). The server renders
// the first page and the search works as a plain form; this searches as one types
// (debounced, the latest answer wins), loads more in place by cursor, and joins a room
// in one click (POST /api/rooms/<slug>/join/: room.joined puts it in every tab's
// sidebar). Whether I am a member follows the tab's room states, live.
//
// User text (names, topics) goes into the DOM with textContent only.

import { h } from "./render.js";

export const SEARCH_DELAY_MS = 250;

/** The API URL of a directory page: `base`?q=…&after=… (empty parts left out). */
export function directoryUrl(base, { q = "", after = null } = {}) {
  const params = new URLSearchParams();
  if (q) params.set("q", q);
  if (after) params.set("after", after);
  const query = params.toString();
  return query ? `${base}?${query}` : base;
}

/** Say how long ago an ISO time was, roughly ("just now", "5 minutes ago"). */
export function agoText(iso, now = Date.now()) {
  const then = Date.parse(iso);
  if (!Number.isFinite(then)) return "";
  const seconds = Math.max(0, (now - then) / 1000);
  const units = [
    [86400 * 365, "year"],
    [86400 * 30, "month"],
    [86400, "day"],
    [3600, "hour"],
    [60, "minute"],
  ];
  for (const [size, name] of units) {
    const count = Math.floor(seconds / size);
    if (count >= 1) return `${count} ${name}${count === 1 ? "" : "s"} ago`;
  }
  return "just now";
}

/**
 * The search as data: which query is current, the cursor of its next page, and which
 * answers still count. An answer to an older search, or to a page already loaded, is
 * dropped, so a slow response never overwrites a newer one.
 */
export class DirectorySearch {
  constructor({ query = "", next = null } = {}) {
    this.query = query;
    this.next = next;
    this.generation = 0;
    this.loading = false;
  }

  /** Start a new search; return its ticket, or null when the query did not change. */
  start(query) {
    const q = query.trim();
    if (q === this.query) return null;
    this.query = q;
    this.next = null;
    this.generation += 1;
    this.loading = true;
    return { generation: this.generation, q, after: null };
  }

  /** Ask for the page after the current one; null when there is none or one is coming. */
  more() {
    if (!this.next || this.loading) return null;
    this.loading = true;
    return { generation: this.generation, q: this.query, after: this.next };
  }

  /** Take an answer to `ticket`: return "replace", "append", or null to drop it. */
  answer(ticket, page) {
    if (ticket.generation !== this.generation) return null;
    this.loading = false;
    this.next = page?.next ?? null;
    return ticket.after ? "append" : "replace";
  }

  /** A request for `ticket` failed; return whether it was the current one. */
  failed(ticket) {
    if (ticket.generation !== this.generation) return false;
    this.loading = false;
    return true;
  }
}

export class DirectoryView {
  /** root: #directory (data-api-url, data-rooms-api-url, data-room-url); tab: the Tab. */
  constructor({ root, tab, api = tab.api, timers = globalThis, now = Date.now }) {
    Object.assign(this, { root, tab, api, timers, now });
    const get = (name) => root.querySelector(`[data-js="${name}"]`);
    this.ui = {
      form: get("directory-form"),
      q: get("directory-q"),
      list: get("directory-rooms"),
      empty: get("directory-empty"),
      status: get("directory-status"),
      more: get("directory-more"),
    };
    const nextHref = this.ui.more?.getAttribute("href");
    const next = nextHref ? new URLSearchParams(nextHref.split("?")[1] ?? "").get("after") : null;
    this.search = new DirectorySearch({ query: this.ui.q?.value.trim() ?? "", next });
    this.timer = null;
    this.ready = false; // the tab knows my rooms (after its first hello)
    this.joining = new Set();
  }

  listen() {
    this.ui.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.timers.clearTimeout(this.timer);
      this.run(this.search.start(this.ui.q.value), { force: true });
    });
    this.ui.q.addEventListener("input", () => {
      this.timers.clearTimeout(this.timer);
      const search = () => this.run(this.search.start(this.ui.q.value));
      this.timer = this.timers.setTimeout(search, SEARCH_DELAY_MS);
    });
    this.ui.more.addEventListener("click", (event) => {
      event.preventDefault();
      this.run(this.search.more());
    });
    this.ui.list.addEventListener("click", (event) => {
      const button = event.target.closest?.('[data-js="directory-join"]');
      if (button) this.join(button.closest("[data-slug]"));
    });
    this.tab.on("hello", () => {
      this.ready = true;
      this.drawMemberships();
    });
    this.tab.rooms.onChange((slug) => this.drawMemberships(slug));
    // A server-rendered page: its Join buttons work now.
    for (const item of this.items()) this.drawMembership(item, item.dataset.member === "true");
    this.drawMore();
  }

  items() {
    return [...this.ui.list.querySelectorAll("[data-slug]")];
  }

  async run(ticket, { force = false } = {}) {
    if (!ticket) {
      if (force) this.drawMore();
      return;
    }
    this.drawMore();
    this.setStatus("");
    let page;
    try {
      page = await this.api.get(directoryUrl(this.root.dataset.apiUrl, ticket));
    } catch (error) {
      if (this.search.failed(ticket)) {
        this.setStatus(error?.detail || "Could not search the rooms; try again.");
        this.drawMore();
      }
      return;
    }
    const how = this.search.answer(ticket, page);
    if (how === null) return;
    if (how === "replace") this.ui.list.replaceChildren();
    const shown = new Set(this.items().map((item) => item.dataset.slug));
    for (const room of page.rooms ?? []) {
      if (!shown.has(room.slug)) this.ui.list.append(this.card(room));
    }
    this.ui.empty.hidden = this.items().length > 0;
    const emptyText = this.ui.empty.querySelector("p:not(.empty-title)");
    if (emptyText) {
      emptyText.textContent = this.search.query
        ? `No public room matches “${this.search.query}”.`
        : "There are no public rooms yet.";
    }
    this.drawMore();
  }

  drawMore() {
    const { more } = this.ui;
    more.hidden = !this.search.next;
    more.setAttribute("aria-disabled", String(this.search.loading));
    if (this.search.next) {
      const params = new URLSearchParams({ after: this.search.next });
      if (this.search.query) params.set("q", this.search.query);
      more.setAttribute("href", `?${params}`); // opens the next page, as without JavaScript
    }
  }

  setStatus(text) {
    this.ui.status.textContent = text;
    this.ui.status.hidden = !text;
  }

  roomUrl(slug) {
    return this.root.dataset.roomUrl.replace(/[^/]+\/$/, `${encodeURIComponent(slug)}/`);
  }

  card(room) {
    const li = h("li", "room-card directory-room");
    li.dataset.slug = room.slug;
    li.dataset.member = String(Boolean(room.member));
    const icon = h("span", "room-icon", "#");
    icon.setAttribute("aria-hidden", "true");
    const main = h("div", "room-card-main");
    const head = h("div", "room-card-head");
    const link = h("a", "room-card-name", room.name);
    link.href = this.roomUrl(room.slug);
    head.append(link);
    main.append(head);
    if (room.topic) main.append(h("p", "room-card-topic", room.topic));
    const meta = h("p", "room-card-meta");
    const members = Number(room.members) || 0;
    meta.append(h("span", "", `${members} member${members === 1 ? "" : "s"}`));
    const dot = h("span", "", "·");
    dot.setAttribute("aria-hidden", "true");
    meta.append(dot);
    if (room.last_activity_at) {
      const active = h("span", "", "Active ");
      const time = h("time", "", agoText(room.last_activity_at, this.now()));
      time.setAttribute("datetime", room.last_activity_at);
      active.append(time);
      meta.append(active);
    } else {
      meta.append(h("span", "", "No messages yet"));
    }
    main.append(meta);
    li.append(icon, main, h("div", "directory-room-action"));
    this.drawMembership(li, Boolean(room.member));
    return li;
  }

  /** Show "Joined", or a Join button, in a room's card. */
  drawMembership(li, member) {
    li.dataset.member = String(member);
    const action = li.querySelector(".directory-room-action");
    if (!action) return;
    const joining = this.joining.has(li.dataset.slug);
    const current = action.firstElementChild;
    if (member) {
      if (current?.classList.contains("directory-joined")) return;
      action.replaceChildren(h("span", "badge directory-joined", "Joined"));
      return;
    }
    let button = current?.matches?.('[data-js="directory-join"]') ? current : null;
    if (!button) {
      button = h("button", "btn btn-primary btn-sm directory-join", "Join");
      button.type = "button";
      button.dataset.js = "directory-join";
      action.replaceChildren(button);
    }
    button.hidden = false;
    button.disabled = joining;
    button.textContent = joining ? "Joining…" : "Join";
    const name = li.querySelector(".room-card-name")?.textContent ?? "";
    button.setAttribute("aria-label", `Join ${name}`);
  }

  /** Once the tab knows my rooms, it says which cards are mine (`slug`'s, or all). */
  drawMemberships(slug = null) {
    if (!this.ready) return;
    for (const item of this.items()) {
      if (slug && item.dataset.slug !== slug) continue;
      this.drawMembership(item, Boolean(this.tab.rooms.get(item.dataset.slug)));
    }
  }

  async join(li) {
    const { slug } = li.dataset;
    if (!slug || this.joining.has(slug)) return;
    this.joining.add(slug);
    this.drawMembership(li, false);
    this.setStatus("");
    try {
      await this.api.post(`${this.root.dataset.roomsApiUrl}${encodeURIComponent(slug)}/join/`, {});
      this.joining.delete(slug);
      this.drawMembership(li, true);
    } catch (error) {
      this.joining.delete(slug);
      this.drawMembership(li, false);
      this.setStatus(error?.detail || "Could not join the room; try again.");
    }
  }
}
