// direct_ui.js: direct conversations on the page: what one is called (the other
// people's names), opening one (POST /api/direct/, then its page), and the sidebar's
// "New message" control with names suggested from the people search as one types.

import { displayName, hasDisplayName, namesList } from "./people.js";

/**
 * What a direct conversation is called for me: the others' names (display names where
 * they chose one, as the server titles it), or "Only you".
 */
export function directTitle(room) {
  return namesList(room?.members) || "Only you";
}

/** Whether a room (state, or room object) is a direct conversation. */
export function isDirect(room) {
  return room?.kind === "direct";
}

export class DirectOpener {
  /** api: an Api; url: POST /api/direct/; navigate(url): go to a page. */
  constructor({ api, url, navigate }) {
    Object.assign(this, { api, url, navigate });
  }

  /** Open the conversation with these people (created or existing) and go to it. */
  async open(usernames) {
    const data = await this.api.post(this.url, { usernames });
    this.navigate(data.room.url);
    return data.room;
  }
}

// How long typing pauses before the people search is asked.
const SEARCH_DELAY_MS = 150;

export class DirectForm {
  /**
   * ui: {toggle, form, input, suggestions}; api: an Api; usersUrl: GET /api/users/;
   * opener: a DirectOpener; showNotice(text).
   */
  constructor({ ui, api, usersUrl, opener, showNotice, timers = globalThis }) {
    Object.assign(this, { ui, api, usersUrl, opener, showNotice, timers });
    this.searchTimer = null;
    this.searchSeq = 0;
  }

  listen() {
    const { toggle, form, input } = this.ui;
    if (!toggle || !form || !input) return;
    toggle.addEventListener("click", () => this.setOpen(form.hidden));
    input.addEventListener("input", () => this.searchSoon());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  setOpen(open) {
    this.ui.form.hidden = !open;
    this.ui.toggle.setAttribute("aria-expanded", String(open));
    if (open) this.ui.input.focus();
  }

  searchSoon() {
    this.timers.clearTimeout(this.searchTimer);
    this.searchTimer = this.timers.setTimeout(() => this.search(), SEARCH_DELAY_MS);
  }

  async search() {
    const prefix = this.ui.input.value.trim();
    const seq = ++this.searchSeq;
    if (!prefix || !this.usersUrl) return;
    try {
      const url = `${this.usersUrl}?q=${encodeURIComponent(prefix)}`;
      const { users } = await this.api.get(url);
      if (seq !== this.searchSeq) return;
      this.ui.suggestions?.replaceChildren(
        ...users.map((user) => {
          const option = document.createElement("option");
          option.value = user.username;
          // The search matches display names too: show the one that matched.
          if (hasDisplayName(user)) option.label = displayName(user);
          return option;
        }),
      );
    } catch {
      // No suggestions this time; typing the whole name still works.
    }
  }

  async submit() {
    const username = this.ui.input.value.trim();
    if (!username) return;
    try {
      await this.opener.open([username]);
    } catch (error) {
      this.showNotice(error.detail || "That did not work; try again.");
    }
  }
}
