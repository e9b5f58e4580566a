// search_ui.js: the search box in the top bar of every page. Without JavaScript it is a
// GET form to the results page (/search/?q=); here "/" focuses it from anywhere one is
// not typing, and a dropdown shows the first few results as one types (the API), each a
// link that opens its room at the message. Enter still opens the results page; the arrow
// keys walk the dropdown, Escape closes it.

import { directTitle } from "./direct_ui.js";
import { displayName } from "./people.js";
import { h } from "./render.js";
import { isTypingTarget, resultUrl, roomTitle, searchApiUrl } from "./search.js";
import { fillHighlight } from "./search_page.js";

const SEARCH_DELAY_MS = 250; // typing pauses this long before the API is asked
const SHOWN = 6;
const MIN_CHARS = 2;

export class SearchBox {
  /** form: [data-js="search-form"] (data-api-url, data-room-url); api: an Api; tab: the Tab. */
  constructor({ form, api, tab = null, doc = globalThis.document, timers = globalThis }) {
    Object.assign(this, { form, api, tab, doc, timers });
    this.input = form.querySelector('[data-js="search-input"]');
    this.apiUrl = form.dataset.apiUrl;
    const pattern = form.dataset.roomUrl;
    this.roomUrl = (slug) => pattern.replace(/[^/]+\/$/, `${encodeURIComponent(slug)}/`);
    this.menu = h("div", "search-dropdown");
    this.menu.id = "search-dropdown";
    this.menu.dataset.js = "search-dropdown";
    this.menu.setAttribute("role", "region");
    this.menu.setAttribute("aria-label", "First results");
    this.menu.hidden = true;
    this.timer = null;
    this.asked = 0; // the latest request: answers to older ones are dropped
  }

  listen() {
    this.form.append(this.menu);
    this.input.setAttribute("aria-controls", this.menu.id);
    this.doc.addEventListener("keydown", (event) => this.onDocumentKey(event));
    this.input.addEventListener("input", () => this.searchSoon());
    this.form.addEventListener("keydown", (event) => this.onKey(event));
    this.form.addEventListener("focusout", (event) => {
      if (!event.relatedTarget || !this.form.contains(event.relatedTarget)) this.close();
    });
    this.form.addEventListener("submit", (event) => {
      if (!this.input.value.trim()) event.preventDefault(); // nothing to search for
    });
  }

  /** "/" focuses the box, unless the reader is typing somewhere (a composer, a field). */
  onDocumentKey(event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.defaultPrevented || isTypingTarget(event.target)) return;
    event.preventDefault();
    this.input.focus();
    this.input.select();
  }

  onKey(event) {
    if (event.key === "Escape") {
      if (this.menu.hidden) {
        this.input.blur();
      } else {
        event.preventDefault(); // a search field would clear itself too: keep the words
        this.close();
        this.input.focus();
      }
      return;
    }
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    const links = [...this.menu.querySelectorAll("a")];
    if (this.menu.hidden || !links.length) return;
    event.preventDefault();
    const at = links.indexOf(this.doc.activeElement);
    const step = event.key === "ArrowDown" ? 1 : -1;
    const next = at + step;
    if (next < 0) this.input.focus();
    else links[Math.min(next, links.length - 1)].focus();
  }

  searchSoon() {
    this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => this.search(), SEARCH_DELAY_MS);
  }

  async search() {
    const q = this.input.value.trim();
    const asked = ++this.asked;
    if (q.length < MIN_CHARS) {
      this.close();
      return;
    }
    let page = null;
    let problem = null;
    try {
      page = await this.api.get(searchApiUrl(this.apiUrl, { q, limit: SHOWN }));
    } catch (error) {
      // A half-typed operator ("from:al") is refused with its sentence: show it quietly.
      problem = error.detail || "Could not search; press Enter to try the results page.";
    }
    // A newer search was asked for, or the reader moved on.
    if (asked !== this.asked || !this.form.contains(this.doc.activeElement)) return;
    this.render(q, page, problem);
  }

  render(q, page, problem) {
    const items = (page?.results ?? []).map((result) => this.item(result));
    const list = h("ul", "search-dropdown-list");
    list.append(...items);
    const parts = [];
    if (problem) parts.push(h("p", "search-dropdown-note", problem));
    else if (!items.length) parts.push(h("p", "search-dropdown-note", "No messages match."));
    else parts.push(list);
    const all = h("a", "search-dropdown-all", "All results");
    all.href = `${this.form.action}?${new URLSearchParams({ q })}`;
    parts.push(all);
    this.menu.replaceChildren(...parts);
    this.menu.hidden = false;
    this.form.classList.add("is-open");
  }

  item({ message, room, highlight }) {
    const li = h("li", "search-dropdown-item");
    const link = h("a", "search-dropdown-link");
    link.href = resultUrl(this.roomUrl(room.slug), message.id);
    const title = roomTitle(room, (slug) => {
      const state = this.tab?.rooms?.get(slug);
      return state?.members ? directTitle(state) : null;
    });
    const meta = h("span", "search-dropdown-meta");
    const where = room.kind === "direct" ? title : `#${title}`;
    meta.append(h("span", "search-dropdown-room", where), ` · ${displayName(message.author)}`);
    link.append(meta, fillHighlight(h("span", "search-dropdown-text"), highlight));
    li.append(link);
    return li;
  }

  close() {
    this.timers.clearTimeout(this.timer);
    this.asked += 1;
    this.menu.hidden = true;
    this.form.classList.remove("is-open");
  }
}
