// message_actions_ui.js: what the reader does to a message in the timeline: select it
// (touch screens have no hover: a tap on a message shows its actions, 44px targets in
// app.css), edit their own in place, delete (their own, or anyone's as a moderator or
// staff). The server answers with message.updated / message.deleted.

import { deleteFrame, editFrame } from "./protocol.js";
import { actionButton, h, toInt } from "./render.js";

export class MessageActions {
  /** view: the TimelineView; send(frame) -> bool; showNotice(text); confirm(question) -> bool. */
  constructor({ view, send, showNotice, confirm }) {
    Object.assign(this, { view, send, showNotice, confirm });
  }

  listen() {
    const list = this.view.ui.messages;
    list.addEventListener("click", (event) => this.onClick(event));
    list.addEventListener("submit", (event) => this.onSubmit(event));
    list.addEventListener("keydown", (event) => this.onKeydown(event));
  }

  /** The id of the message an element belongs to, when that message is shown. */
  idOf(target) {
    const li = target.closest("li.message");
    const id = li ? toInt(li.dataset.id) : 0;
    return this.view.views.has(id) ? id : null;
  }

  startEdit(id) {
    const view = this.view.views.get(id);
    const msg = this.view.timeline.get(id);
    if (view.editing || msg.deleted) return;
    view.editing = true;
    const form = h("form", "message-editor");
    const field = h("textarea", "message-editor-input");
    field.value = msg.body;
    field.rows = Math.min(8, msg.body.split("\n").length);
    field.setAttribute("aria-label", "Edit message");
    const save = h("button", "btn btn-primary btn-sm", "Save");
    save.type = "submit";
    const cancel = actionButton("cancel-edit", "Cancel");
    cancel.className = "btn btn-ghost btn-sm";
    const buttons = h("div", "message-editor-buttons");
    const hint = h("span", "message-editor-hint", "Enter to save · Esc to cancel");
    buttons.append(save, cancel, hint);
    form.append(field, buttons);
    view.el.querySelector(".message-body").replaceWith(form);
    view.el.querySelector(".message-actions")?.remove();
    field.focus();
    field.setSelectionRange(field.value.length, field.value.length);
    form.scrollIntoView({ block: "nearest" });
  }

  saveEdit(id, text) {
    const body = text.trim();
    if (!body) {
      this.showNotice("A message cannot be empty; delete it instead.");
      return;
    }
    if (body === this.view.timeline.get(id).body) {
      this.view.redraw(id);
      return;
    }
    if (!this.send(editFrame(id, body))) {
      this.showNotice("Not connected; your edit was not saved. Try again when the room is live.");
      return;
    }
    // message.updated redraws it with the new text.
    this.view.redraw(id);
    this.view.views.get(id).el.classList.add("is-saving");
  }

  deleteMessage(id) {
    if (!this.confirm("Delete this message for everyone?")) return;
    if (!this.send(deleteFrame(id))) {
      this.showNotice(
        "Not connected; the message was not deleted. Try again when the room is live.",
      );
    }
  }

  onClick(event) {
    const button = event.target.closest("button[data-action]");
    if (!button) {
      // A tap on a name (profile card) or a link does that, not a selection.
      if (!event.target.closest("a, button, input, textarea, select, summary")) {
        this.select(event.target.closest("li.message"));
      }
      return;
    }
    const id = this.idOf(button);
    if (id === null) return;
    if (button.dataset.action === "edit") this.startEdit(id);
    else if (button.dataset.action === "delete") this.deleteMessage(id);
    else if (button.dataset.action === "cancel-edit") this.view.redraw(id);
  }

  /**
   * Touch screens have no hover: a tap selects a message, which shows its actions and its
   * time (CSS); a tap on it again, or on a day separator, unselects it.
   */
  select(li) {
    if (li?.querySelector(".message-editor")) return;
    const wasSelected = li?.classList.contains("is-selected") ?? true;
    for (const other of this.view.ui.messages.querySelectorAll(".is-selected")) {
      other.classList.remove("is-selected");
    }
    if (wasSelected) return;
    li.classList.add("is-selected");
    li.scrollIntoView({ block: "nearest" });
  }

  onSubmit(event) {
    const id = this.idOf(event.target);
    if (id === null) return;
    event.preventDefault();
    this.saveEdit(id, event.target.querySelector("textarea").value);
  }

  onKeydown(event) {
    if (!event.target.matches(".message-editor-input")) return;
    const id = this.idOf(event.target);
    if (id === null) return;
    if (event.key === "Escape") {
      event.preventDefault();
      this.view.redraw(id);
    } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.saveEdit(id, event.target.value);
    }
  }
}
