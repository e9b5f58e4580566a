// reactions_ui.js: a message's reactions on the page. Under the body, a chip per emoji
// (the emoji and its count, pressed when I reacted, who reacted in its title); a click
// on a chip adds mine or takes it back. "React" among the message's actions, and "+"
// beside the chips, open the picker: common emoji, and a field for any emoji typed.
// The server answers every change with message.reactions, which redraws the message
// (timeline_ui.js); nothing here changes a message by itself.
//
// The picker is a non-modal dialog, as the profile card is: it takes the focus, the
// arrow keys move through the emoji, Escape closes it and gives the focus back to what
// opened it, and a click outside closes it.

import { cardPosition } from "./people.js";
import {
  hasReacted,
  isEmoji,
  QUICK_EMOJI,
  reactionFrame,
  reactionsOf,
  reactionTitle,
} from "./reactions.js";

const GRID_COLUMNS = 6; // .reaction-picker-grid in app.css: Up and Down move by a row
const NOT_SENT_TEXT =
  "Not connected; your reaction was not sent. Try again when the room is live.";

function el(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(className, text) {
  const node = el("button", className, text);
  node.type = "button";
  return node;
}

/** One emoji's chip: "👍 2", pressed when `meId` reacted with it. */
function chip(reaction, meId) {
  const mine = hasReacted(reaction, meId);
  const node = button(mine ? "reaction is-mine" : "reaction");
  node.dataset.emoji = reaction.emoji;
  node.setAttribute("aria-pressed", String(mine));
  const title = reactionTitle(reaction, meId);
  node.title = title;
  node.setAttribute("aria-label", `${title}: ${reaction.count}`);
  node.append(el("span", "reaction-emoji", reaction.emoji));
  node.append(el("span", "reaction-count", String(reaction.count)));
  return node;
}

/**
 * The chips of a message's reactions, and "+" to add one; null when it has none (then
 * "React" among its actions adds the first). `me` is {id}.
 */
export function reactionBar(msg, me) {
  const reactions = reactionsOf(msg);
  if (!reactions.length) return null;
  const bar = el("div", "message-reactions");
  bar.setAttribute("role", "group");
  bar.setAttribute("aria-label", "Reactions");
  for (const reaction of reactions) bar.append(chip(reaction, me.id));
  const add = button("reaction-add", "+");
  add.dataset.action = "react";
  add.title = "Add a reaction";
  add.setAttribute("aria-label", "Add a reaction");
  add.setAttribute("aria-haspopup", "dialog");
  bar.append(add);
  return bar;
}

function messageIdOf(node) {
  const id = Number.parseInt(node.closest("li.message")?.dataset.id ?? "", 10);
  return Number.isFinite(id) ? id : null;
}

export class ReactionsView {
  /** list: the timeline's <ol>; send(frame) -> bool; showNotice(text). */
  constructor({ list, send, showNotice, doc = document, win = window }) {
    Object.assign(this, { list, send, showNotice, doc, win });
    this.picker = null; // built on first use
    this.pickerFor = null; // {id, anchor} while the picker is open
  }

  listen() {
    this.list.addEventListener("click", (event) => this.onClick(event));
    // A click elsewhere closes the picker (the path: the click may have redrawn its target).
    this.doc.addEventListener("click", (event) => {
      if (!this.pickerFor) return;
      const path = event.composedPath();
      if (!path.includes(this.picker) && !path.includes(this.pickerFor.anchor)) this.close();
    });
    this.win.addEventListener("resize", () => this.place());
    // The timeline scrolls by itself: follow what opened the picker.
    this.doc.addEventListener("scroll", () => this.place(), { capture: true, passive: true });
  }

  onClick(event) {
    const target = event.target.closest("button.reaction[data-emoji], button[data-action='react']");
    const id = target ? messageIdOf(target) : null;
    if (id === null) return;
    if (target.dataset.action === "react") this.toggle(id, target);
    else this.react(id, target.dataset.emoji, target.getAttribute("aria-pressed") !== "true");
  }

  /** Add (`on`) or take back my `emoji` on message `id`. */
  react(id, emoji, on) {
    if (!this.send(reactionFrame(id, emoji, on))) this.showNotice(NOT_SENT_TEXT);
  }

  // --- the picker ---------------------------------------------------------------------

  toggle(id, anchor) {
    if (this.pickerFor?.anchor === anchor) this.close({ restoreFocus: true });
    else this.open(id, anchor);
  }

  open(id, anchor) {
    if (!this.picker) this.picker = this.build();
    this.pickerFor = { id, anchor };
    this.picker.hidden = false;
    this.input.value = "";
    this.error.hidden = true;
    anchor.setAttribute("aria-expanded", "true");
    this.place();
    this.picker.querySelector("button[data-emoji]").focus();
  }

  /** Close the picker; give the focus back to what opened it when the keyboard closed it. */
  close({ restoreFocus = false } = {}) {
    if (!this.pickerFor) return;
    const { id, anchor } = this.pickerFor;
    this.pickerFor = null;
    this.picker.hidden = true;
    anchor.setAttribute("aria-expanded", "false");
    if (restoreFocus) this.anchorOf(id, anchor)?.focus();
  }

  /**
   * What opened the picker, or the same control of the message drawn again since (a
   * reaction of someone else redraws it); null when the message is gone.
   */
  anchorOf(id, anchor) {
    if (anchor.isConnected) return anchor;
    const item = this.list.querySelector(`li.message[data-id="${id}"]`);
    const action = '.message-actions [data-action="react"]';
    const same = anchor.classList.contains("reaction-add") ? ".reaction-add" : action;
    return item?.querySelector(same) ?? item?.querySelector(action) ?? null;
  }

  place() {
    if (!this.pickerFor) return;
    const anchor = this.anchorOf(this.pickerFor.id, this.pickerFor.anchor);
    if (!anchor) {
      this.close(); // the message went (deleted, or the room lost)
      return;
    }
    this.pickerFor.anchor = anchor;
    const page = this.doc.documentElement;
    const { top, left } = cardPosition(
      anchor.getBoundingClientRect(),
      { width: this.picker.offsetWidth, height: this.picker.offsetHeight },
      { width: page.clientWidth, height: page.clientHeight },
    );
    this.picker.style.top = `${top}px`;
    this.picker.style.left = `${left}px`;
  }

  pick(emoji) {
    const { id } = this.pickerFor;
    this.close({ restoreFocus: true });
    this.react(id, emoji, true);
  }

  build() {
    const picker = el("div", "reaction-picker");
    picker.hidden = true;
    picker.setAttribute("role", "dialog");
    picker.setAttribute("aria-label", "Add a reaction");
    const grid = el("div", "reaction-picker-grid");
    for (const { emoji, name } of QUICK_EMOJI) {
      const choice = button("reaction-picker-emoji", emoji);
      choice.dataset.emoji = emoji;
      choice.title = name;
      choice.setAttribute("aria-label", name);
      grid.append(choice);
    }
    const form = el("form", "reaction-picker-form");
    this.input = el("input", "input input-sm reaction-picker-input");
    this.input.type = "text";
    this.input.autocomplete = "off";
    this.input.placeholder = "Any emoji";
    this.input.setAttribute("aria-label", "Any emoji");
    const submit = el("button", "btn btn-primary btn-sm", "Add");
    submit.type = "submit";
    form.append(this.input, submit);
    this.error = el("p", "reaction-picker-error", "Type one emoji, such as 👍.");
    this.error.setAttribute("role", "alert");
    picker.append(grid, form, this.error);

    grid.addEventListener("click", (event) => {
      const choice = event.target.closest("button[data-emoji]");
      if (choice) this.pick(choice.dataset.emoji);
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = this.input.value.trim();
      if (isEmoji(text)) this.pick(text);
      else this.error.hidden = false;
    });
    picker.addEventListener("keydown", (event) => this.onKeydown(event, grid));
    picker.addEventListener("focusout", (event) => {
      const to = event.relatedTarget;
      if (to && !picker.contains(to) && to !== this.pickerFor?.anchor) this.close();
    });
    this.doc.body.append(picker);
    return picker;
  }

  onKeydown(event, grid) {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation(); // the members drawer closes on Escape too: not this time
      this.close({ restoreFocus: true });
      return;
    }
    const moves = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -GRID_COLUMNS, ArrowDown: GRID_COLUMNS };
    if (!(event.key in moves) || !grid.contains(event.target)) return;
    event.preventDefault();
    const choices = [...grid.children];
    const at = choices.indexOf(event.target) + moves[event.key];
    choices[Math.max(0, Math.min(choices.length - 1, at))].focus();
  }
}
