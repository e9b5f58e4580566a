// search_page.js: the search results page (/search/?q=, templates/chat/search.html). The
// server renders the first page, which reads without JavaScript; this shows its times in
// the reader's time zone and makes "More results" add the next page (keyset, the API's
// `next`) below, a room's results joining its group when they continue it.
//
// The markup is the template's; user text goes in with textContent only.

import { displayName } from "./people.js";
import { h } from "./render.js";
import { groupByRoom, highlightParts, resultUrl, roomTitle, searchApiUrl } from "./search.js";
import { directTitle } from "./direct_ui.js";

const resultTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const fullTime = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });

/** Show a result's time in the reader's time zone. */
export function fillResultTime(timeEl, iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return;
  timeEl.dateTime = iso;
  timeEl.textContent = resultTime.format(date);
  timeEl.title = fullTime.format(date);
}

/** Put a highlight into `target`: its text as text, its matches in <mark> (search.js). */
export function fillHighlight(target, html) {
  for (const { text, marked } of highlightParts(html)) {
    target.append(marked ? h("mark", "", text) : document.createTextNode(text));
  }
  return target;
}

function roomIcon(room) {
  if (room.kind === "direct") return "@";
  return room.private ? "\u{1F512}" : "#";
}

export class SearchPage {
  /** root: #search (data-api-url, data-room-url, data-query, data-next); api: an Api; tab: the Tab. */
  constructor({ root, api, tab = null }) {
    Object.assign(this, { root, api, tab });
    const d = root.dataset;
    this.apiUrl = d.apiUrl;
    this.query = d.query ?? "";
    this.next = d.next || null;
    this.roomUrl = (slug) => d.roomUrl.replace(/[^/]+\/$/, `${encodeURIComponent(slug)}/`);
    this.directTitles = readTitles(d.directTitles);
    this.results = root.querySelector('[data-js="search-results"]');
    this.status = root.querySelector('[data-js="search-status"]');
    this.more = root.querySelector('[data-js="search-more"]');
    this.loading = false;
  }

  listen() {
    for (const time of this.root.querySelectorAll("time.search-result-time")) {
      fillResultTime(time, time.dateTime);
    }
    this.more?.addEventListener("click", (event) => {
      if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
      event.preventDefault();
      this.loadMore();
    });
  }

  /** A conversation's name: as the server named it on this page, else from the tab's rooms. */
  directTitle(slug) {
    if (this.directTitles[slug]) return this.directTitles[slug];
    const state = this.tab?.rooms?.get(slug);
    return state?.members ? directTitle(state) : null;
  }

  async loadMore() {
    if (this.loading || !this.next) return;
    this.loading = true;
    this.more.setAttribute("aria-disabled", "true");
    this.more.textContent = "Loading…";
    this.status.textContent = "";
    try {
      const page = await this.api.get(
        searchApiUrl(this.apiUrl, { q: this.query, before: this.next }),
      );
      this.append(page.results ?? []);
      this.next = page.next ?? null;
      this.status.textContent = page.results?.length ? "" : "No more results.";
    } catch (error) {
      this.status.textContent = error.detail || "Could not load more results; try again.";
    } finally {
      this.loading = false;
      this.more.removeAttribute("aria-disabled");
      this.more.textContent = "More results";
      this.more.hidden = !this.next;
      if (this.next) this.more.href = `?${new URLSearchParams({ q: this.query, before: this.next })}`;
    }
  }

  /** Add a page of results below those shown, grouped by room. */
  append(results) {
    const lastGroup = this.results.lastElementChild;
    const after = lastGroup?.dataset.roomSlug ?? null;
    for (const group of groupByRoom(results, { after })) {
      const list = group.continues
        ? lastGroup.querySelector(".search-results")
        : this.addGroup(group.room);
      for (const result of group.results) list.append(this.resultItem(result));
    }
  }

  /** A room's heading and its (empty) list of results; return the list. */
  addGroup(room) {
    const title = roomTitle(room, (slug) => this.directTitle(slug));
    const section = h("section", "search-group");
    section.dataset.roomSlug = room.slug;
    section.setAttribute("aria-label", title);
    const heading = h("h2", "search-group-title");
    const link = h("a");
    link.href = this.roomUrl(room.slug);
    const icon = h("span", "search-room-icon", roomIcon(room));
    icon.setAttribute("aria-hidden", "true");
    link.append(icon, h("span", "search-room-name", title));
    heading.append(link);
    const list = h("ol", "search-results");
    section.append(heading, list);
    this.results.append(section);
    return list;
  }

  resultItem({ message, room, highlight }) {
    const li = h("li", "search-result");
    li.dataset.id = message.id;
    const link = h("a", "search-result-link");
    link.href = resultUrl(this.roomUrl(room.slug), message.id);
    const meta = h("span", "search-result-meta");
    const time = h("time", "search-result-time");
    fillResultTime(time, message.created_at);
    meta.append(h("span", "search-result-author", displayName(message.author)), " ", time);
    const text = fillHighlight(h("span", "search-highlight"), highlight);
    if (!text.textContent) {
      const files = message.attachments?.length ?? 0;
      text.textContent = `${files} file${files === 1 ? "" : "s"}`;
    }
    link.append(meta, text);
    li.append(link);
    return li;
  }
}

function readTitles(json) {
  try {
    const titles = JSON.parse(json || "{}");
    return titles && typeof titles === "object" ? titles : {};
  } catch {
    return {};
  }
}
