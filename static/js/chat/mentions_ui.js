// mentions_ui.js: the @-autocomplete of the composer. Typing "@" and a letter or more
// opens a list of the room's members (and @room / @here when I may say them) above the
// box; ArrowUp / ArrowDown move, Enter or Tab pick, Escape closes, a click picks. It
// follows the ARIA combobox pattern: the textarea owns a role="listbox" popup through
// aria-controls, aria-expanded and aria-activedescendant. Closed, it leaves every key
// to the composer (Enter sends as ever).

import { ROLE_LABELS } from "./members.js";
import {
  applyMention,
  mayMentionAll,
  mentionCandidates,
  mentionQuery,
} from "./mentions.js";
import { avatar, h } from "./render.js";

const POPUP_ID = "mention-popup";
const ALL_DETAILS = {
  room: "Notify everyone in this room",
  here: "Notify everyone online in this room",
};
// Keys that move the caret without typing: the token at the caret may change.
const CARET_KEYS = new Set(["ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown"]);

export class MentionsUI {
  /**
   * input: the composer's textarea (the popup goes into its form); members: the Members
   * store (the candidates, and me); mentionAllMax: the server's
   * CHAT_MENTION_ALL_MAX_MEMBERS (#room's data-mention-all-max).
   */
  constructor({ input, members, mentionAllMax }) {
    Object.assign(this, { input, members, mentionAllMax });
    this.popup = h("ul", "mention-popup");
    this.popup.id = POPUP_ID;
    this.popup.setAttribute("role", "listbox");
    this.popup.setAttribute("aria-label", "People to mention");
    this.popup.hidden = true;
    this.candidates = [];
    this.active = 0;
    this.token = null; // {start, end, query} while open
    this.dismissedAt = null; // the "@" whose list Escape closed: not reopened while typing on
  }

  listen() {
    const { input, popup } = this;
    (input.form ?? input.parentElement).append(popup);
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", POPUP_ID);
    input.setAttribute("aria-expanded", "false");
    input.addEventListener("input", () => this.update());
    input.addEventListener("click", () => this.update());
    input.addEventListener("keyup", (event) => {
      if (CARET_KEYS.has(event.key)) this.update();
    });
    input.addEventListener("blur", () => this.close());
    // Pressing on the list must not take the focus (and the caret) from the textarea.
    popup.addEventListener("mousedown", (event) => event.preventDefault());
    popup.addEventListener("click", (event) => {
      const option = event.target.closest("[role=option]");
      if (option) this.choose(Number(option.dataset.index));
    });
  }

  get isOpen() {
    return !this.popup.hidden;
  }

  /** Open, refresh or close the list for the token at the caret. */
  update() {
    const { input } = this;
    const token =
      input.selectionStart === input.selectionEnd
        ? mentionQuery(input.value, input.selectionStart)
        : null;
    if (token === null || token.start !== this.dismissedAt) this.dismissedAt = null;
    if (token === null || token.query === "" || this.dismissedAt !== null) {
      this.close();
      return;
    }
    const candidates = mentionCandidates(token.query, [...this.members.byId.values()], {
      me: this.members.me,
      allowAll: this.mayMentionAll(),
    });
    if (candidates.length === 0) {
      this.close();
      return;
    }
    const previous = this.candidates[this.active];
    this.token = token;
    this.candidates = candidates;
    // Keep the highlighted entry while it is still offered.
    const kept = candidates.findIndex(
      (c) => previous && c.kind === previous.kind && c.username === previous.username,
    );
    this.active = Math.max(0, kept);
    this.draw();
  }

  draw() {
    const { popup, input } = this;
    popup.replaceChildren(...this.candidates.map((c, index) => this.option(c, index)));
    popup.hidden = false;
    input.setAttribute("aria-expanded", "true");
    this.highlight(this.active);
  }

  option(candidate, index) {
    const item = h("li", "mention-option");
    item.id = `${POPUP_ID}-${index}`;
    item.setAttribute("role", "option");
    item.dataset.index = String(index);
    item.dataset.username = candidate.username;
    const detail =
      candidate.kind === "all"
        ? ALL_DETAILS[candidate.username]
        : (ROLE_LABELS[candidate.role] ?? "");
    item.classList.toggle("is-everyone", candidate.kind === "all");
    const icon = candidate.kind === "all" ? h("span", "avatar mention-everyone-icon", "@") : null;
    icon?.setAttribute("aria-hidden", "true");
    item.append(
      icon ?? avatar(candidate.username),
      h("span", "mention-option-name", candidate.username),
      h("span", "mention-option-detail", detail),
    );
    return item;
  }

  highlight(index) {
    this.active = index;
    for (const item of this.popup.children) {
      const on = Number(item.dataset.index) === index;
      item.classList.toggle("is-active", on);
      item.setAttribute("aria-selected", String(on));
      if (on) {
        this.input.setAttribute("aria-activedescendant", item.id);
        item.scrollIntoView?.({ block: "nearest" });
      }
    }
  }

  close() {
    if (this.popup.hidden && this.token === null) return;
    this.popup.hidden = true;
    this.popup.replaceChildren();
    this.candidates = [];
    this.token = null;
    this.active = 0;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }

  /** Put the picked name in place of the token, with a space, and go on typing after it. */
  choose(index) {
    const candidate = this.candidates[index];
    if (!candidate || !this.token) return;
    const { start, end } = this.token;
    const { text, caret } = applyMention(this.input.value, start, end, candidate.username);
    this.close();
    this.input.value = text;
    this.input.focus();
    this.input.setSelectionRange(caret, caret);
    // The composer recounts, resizes and tells the room we type, as for any typing.
    this.input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  /**
   * The composer's keydown goes here first; return true when the list used the key (the
   * composer must then leave it alone). Closed, the list uses none.
   */
  onKeydown(event) {
    if (!this.isOpen || event.isComposing) return false;
    const count = this.candidates.length;
    const plain = !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.highlight((this.active + step + count) % count);
    } else if ((event.key === "Enter" || event.key === "Tab") && plain) {
      this.choose(this.active);
    } else if (event.key === "Escape") {
      this.dismissedAt = this.token.start;
      this.close();
    } else {
      return false;
    }
    event.preventDefault();
    return true;
  }

  /**
   * How many the server counts against the limit: the other members and me (as a member
   * or not), or null before the member list has come.
   */
  memberCount() {
    if (!this.members.loaded) return null;
    const others = [...this.members.byId.keys()].filter((id) => id !== this.members.me.id);
    return others.length + 1;
  }

  /** Whether @room / @here is mine to say here (the server has the last word). */
  mayMentionAll() {
    return mayMentionAll(this.members.me, this.memberCount(), this.mentionAllMax);
  }

  /** How many people @room ("room") or @here ("here") would notify, or null if unknown. */
  audience(kind) {
    const { members } = this;
    if (!members.loaded) return null;
    const me = members.me;
    if (kind === "here") {
      const names = new Set([...members.byId.values()].map((m) => m.user.username));
      return members.online.filter((name) => name !== me.username && names.has(name)).length;
    }
    return this.memberCount() - 1;
  }
}
