// replies_ui.js: replies on the page. A reply shows a quote of its original above its
// body (the author and the first line, or "Original message deleted"); a click on the
// quote jumps to the original, loading earlier pages when it is not on the page
// (jump.js). "Reply" among a message's actions puts "Replying to <name>: <excerpt>" above
// the composer, with × (or Escape) to cancel; the message sent then carries reply_to.

import { displayName } from "./people.js";
import { quoteOfMessage, quoteText, replyOf } from "./replies.js";

const NOT_FOUND_TEXT = "The original message could not be loaded: check the connection and try again.";

function el(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * The quote above a reply's body, or null for a message that answers nothing: a link to
 * the original (#message-<id>, which jump.js follows), its author's name and excerpt as
 * text. templates/chat/room_detail.html renders the same markup.
 */
export function replyQuote(msg) {
  const quote = replyOf(msg.reply_to);
  if (!quote) return null;
  const link = el("a", quote.deleted ? "reply-quote is-deleted" : "reply-quote");
  link.href = `#message-${quote.id}`;
  link.dataset.replyTo = String(quote.id);
  const name = displayName(quote.author);
  const text = quoteText(quote);
  link.title = "Go to the original message";
  link.setAttribute("aria-label", `Reply to ${name}: ${text}. Go to the original message`);
  link.append(el("span", "reply-quote-author", name), el("span", "reply-quote-text", text));
  return link;
}

/** "Replying to <name>: <excerpt>" above the composer, while a reply is being written. */
export class ReplyBar {
  /** composer: the composer's <form>; input: its textarea (focused on start and cancel). */
  constructor({ composer, input, doc = document }) {
    Object.assign(this, { composer, input, doc });
    this.quote = null;
    this.bar = null; // built on first use
  }

  build() {
    const bar = el("div", "reply-bar");
    bar.hidden = true;
    bar.setAttribute("role", "status");
    this.label = el("span", "reply-bar-label");
    const cancel = el("button", "reply-bar-cancel", "×");
    cancel.type = "button";
    cancel.title = "Cancel the reply (Esc)";
    cancel.setAttribute("aria-label", "Cancel the reply");
    cancel.addEventListener("click", () => this.clear({ focus: true }));
    bar.append(this.label, cancel);
    this.composer.prepend(bar);
    return bar;
  }

  /** Answer `quote` ({id, author, excerpt}) with the next message sent. */
  start(quote) {
    this.quote = replyOf(quote);
    if (!this.quote) return;
    if (!this.bar) this.bar = this.build();
    this.bar.dataset.replyTo = String(this.quote.id);
    this.label.replaceChildren(
      "Replying to ",
      el("strong", "reply-bar-author", displayName(this.quote.author)),
      el("span", "reply-bar-text", `: ${quoteText(this.quote)}`),
    );
    this.bar.hidden = false;
    this.input.focus();
  }

  /** Stop replying (sent, cancelled, or the original deleted). */
  clear({ focus = false } = {}) {
    this.quote = null;
    if (this.bar) this.bar.hidden = true;
    if (focus) this.input.focus();
  }

  /** The original went while its reply was being written: the reply goes nowhere. */
  originalDeleted(id) {
    if (this.quote?.id === id) this.clear();
  }
}

export class RepliesView {
  /**
   * list: the timeline's <ol>; timeline: the Timeline store; bar: the ReplyBar;
   * jump: the Jump (jump.js); showNotice(text).
   */
  constructor({ list, timeline, bar, jump, showNotice }) {
    Object.assign(this, { list, timeline, bar, jump, showNotice });
  }

  listen() {
    this.list.addEventListener("click", (event) => this.onClick(event));
  }

  onClick(event) {
    const quote = event.target.closest("a.reply-quote[data-reply-to]");
    if (quote) {
      event.preventDefault(); // the same quote clicked twice still jumps (no hashchange)
      this.goTo(Number.parseInt(quote.dataset.replyTo, 10));
      return;
    }
    const button = event.target.closest("button[data-action='reply']");
    const id = Number.parseInt(button?.closest("li.message")?.dataset.id ?? "", 10);
    const msg = Number.isFinite(id) ? this.timeline.get(id) : undefined;
    if (msg && !msg.deleted) this.bar.start(quoteOfMessage(msg));
  }

  async goTo(id) {
    if (!(await this.jump.goTo(id))) this.showNotice(NOT_FOUND_TEXT);
  }
}
