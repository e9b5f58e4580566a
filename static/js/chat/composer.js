// composer.js: the message box. It counts characters against the server's limits,
// sends on Enter, tells the room we type, and says why it is closed when it is: the room
// is gone or closed to us, archived, or we are muted (in that order of precedence).
// A message that says @room or @here is sent only once the sender confirms it. While a
// reply is being written (the ReplyBar of replies_ui.js), the message sent answers it;
// Escape cancels the reply. Files attached (uploads_ui.js) go with the message: a
// message may be only files, and it waits until every upload has finished.

import { maySend } from "./attachments.js";
import { mentionAllQuestion, mentionsAll } from "./mentions.js";
import { codePoints, fitsFrame, typingFrame } from "./protocol.js";
import { TypingSender } from "./typing.js";

const COUNTER_FROM = 0.9; // show the length counter from 90 % of body_max
const ARCHIVED_TEXT = "This room is archived: it can be read but not written to.";

export class Composer {
  /**
   * ui: {composer, input, counter, send}; limits: {bodyMax, frameMax} (hello may change
   * them); roomName(): for the placeholder; send(frame) -> bool; onSubmit(body, reply):
   * queue a message (`reply`: the quote of the message it answers, or null);
   * showNotice(text); mentions: the MentionsUI (the @-autocomplete), or null;
   * confirm(question) -> bool: asked before a message notifies everyone; replyBar: the
   * ReplyBar, or null; attachments: the UploadsView, or null (onSubmit then gets
   * the records of the files attached as its third argument).
   */
  constructor({
    ui,
    limits,
    roomName,
    send,
    onSubmit,
    showNotice,
    mentions = null,
    confirm = () => true,
    replyBar = null,
    attachments = null,
  }) {
    Object.assign(this, { ui, limits, roomName, onSubmit, showNotice, mentions, confirm });
    this.replyBar = replyBar;
    this.attachments = attachments;
    this.archived = false;
    this.mutedText = null; // why we may not post, while muted
    this.closedText = null; // why we never will again from this page
    this.typing = new TypingSender({
      send: (active) => send(typingFrame(active)),
      hasText: () => Boolean(this.text()),
    });
  }

  listen() {
    const { composer, input } = this.ui;
    composer.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.mentions?.listen();
    input.addEventListener("keydown", (event) => {
      // An open @-list takes its keys (Enter picks a name there).
      if (this.mentions?.onKeydown(event)) return;
      if (event.key === "Escape" && this.replyBar?.quote) {
        event.preventDefault();
        event.stopPropagation(); // the members drawer closes on Escape too: not this time
        this.replyBar.clear();
        return;
      }
      // Enter sends, Shift+Enter is a new line; never interrupt an IME composition.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    input.addEventListener("input", () => {
      this.update();
      if (this.text()) this.typing.typed();
      else this.typing.stop();
    });
    input.addEventListener("blur", () => {
      if (!this.text()) this.typing.stop();
    });
  }

  text() {
    return this.ui.input.value.trim();
  }

  /**
   * Put text in an empty composer (a failed message to fix), with the quote it answered
   * (`reply`, or null) and its files (`files`: attachment records); return whether it
   * did. Not over a draft (text or files), and not into a composer closed for good, where
   * it could only be looked at: the caller keeps the message where it was.
   */
  offer(text, reply = null, files = []) {
    if (this.text() || this.attachments?.entries().length || this.closedText !== null) {
      return false;
    }
    if (reply) this.replyBar?.start(reply);
    this.attachments?.adopt(files);
    this.ui.input.value = text;
    this.update();
    this.ui.input.focus();
    return true;
  }

  /** Why nothing may be sent now, whatever is typed: {kind, text}, or null. */
  block() {
    if (this.closedText !== null) return { kind: "closed", text: this.closedText };
    if (this.archived) return { kind: "archived", text: ARCHIVED_TEXT };
    if (this.mutedText !== null) return { kind: "muted", text: this.mutedText };
    return null;
  }

  blocked() {
    return this.block() !== null;
  }

  fits(text) {
    const files = this.attachments?.records().length ?? 0;
    const { bodyMax, frameMax } = this.limits;
    return codePoints(text) <= bodyMax && fitsFrame(text, frameMax, files);
  }

  update() {
    const { input, counter, send } = this.ui;
    const text = this.text();
    const length = codePoints(text);
    const tooLong = !this.fits(text);
    counter.hidden = length < this.limits.bodyMax * COUNTER_FROM;
    counter.textContent = `${length} / ${this.limits.bodyMax}`;
    counter.classList.toggle("is-over", tooLong);
    const files = this.attachments?.entries() ?? [];
    send.disabled = this.blocked() || !maySend(text, files) || tooLong;
    // Grow with the text, up to the CSS max-height.
    input.style.height = "auto";
    input.style.height = `${input.scrollHeight}px`;
  }

  submit() {
    const body = this.text();
    const files = this.attachments?.records() ?? [];
    if (this.blocked()) return;
    if (this.attachments?.uploading) {
      this.showNotice(this.attachments.notReadyText());
      return;
    }
    if (!body && !files.length) return;
    if (!this.fits(body)) {
      this.ui.counter.hidden = false;
      this.showNotice(`Messages are limited to ${this.limits.bodyMax} characters.`);
      return;
    }
    const everyone = mentionsAll(body);
    if (everyone !== null && !this.confirmEveryone(everyone)) return; // the text stays
    this.typing.stop();
    this.onSubmit(body, this.replyBar?.quote ?? null, files);
    this.replyBar?.clear();
    this.attachments?.clear();
    this.ui.input.value = "";
    this.update();
  }

  /**
   * Ask before notifying everyone; return whether to send. Where the server would refuse
   * it (a plain member in a big room), say so instead of asking.
   */
  confirmEveryone(kind) {
    if (this.mentions && !this.mentions.mayMentionAll()) {
      this.showNotice(
        `Only the room's moderators can mention everyone in a room of more than ` +
          `${this.mentions.mentionAllMax} members.`,
      );
      return false;
    }
    const count = this.mentions?.audience(kind) ?? null;
    return this.confirm(mentionAllQuestion(kind, this.roomName(), count));
  }

  setArchived(archived) {
    this.archived = archived;
    this.redrawState();
  }

  /** Muted (text: why, shown in the box) or not (null). */
  setMuted(text) {
    if (text === this.mutedText) return;
    this.mutedText = text;
    if (text !== null) this.typing.stop();
    this.redrawState();
  }

  /** For good: the room is lost to us (text: why). */
  close(text) {
    this.closedText = text;
    this.typing.stop();
    this.redrawState();
  }

  redrawState() {
    const { composer, input } = this.ui;
    const block = this.block();
    input.disabled = block !== null;
    this.attachments?.setDisabled(block !== null);
    if (block !== null) this.mentions?.close();
    input.placeholder = block?.text ?? `Message #${this.roomName()}`;
    composer.dataset.blocked = block?.kind ?? ""; // for CSS and tests
    this.update();
  }
}
