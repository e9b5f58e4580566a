// outbox_ui.js: the messages being sent, under the timeline: "sending…", "waiting to
// resend…", or "Not sent: why" with Edit and Dismiss; the names of their files under
// their text.

import { actionButton, avatar, h } from "./render.js";

export class OutboxView {
  /** list: the outbox <ol>; username: mine; onEdit(entry), onDismiss(entry): its buttons. */
  constructor({ list, username, onEdit, onDismiss }) {
    Object.assign(this, { list, username, onEdit, onDismiss });
    this.items = new Map(); // client_id -> <li>
  }

  listen(outbox) {
    this.list.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      const li = button?.closest("li");
      const entry = li && outbox.get(li.dataset.clientId);
      if (!entry) return;
      if (button.dataset.action === "outbox-edit") this.onEdit(entry);
      else if (button.dataset.action === "outbox-dismiss") this.onDismiss(entry);
    });
  }

  add(entry) {
    const li = h("li", "message is-own is-pending");
    li.dataset.clientId = entry.clientId;
    const meta = h("div", "message-meta");
    meta.append(h("span", "message-author", this.username), h("span", "message-status"));
    const main = h("div", "message-main");
    main.append(meta, h("div", "message-body", entry.body));
    if (entry.attachments?.length) {
      const files = h("ul", "outbox-attachments");
      files.setAttribute("aria-label", "Files");
      for (const record of entry.attachments) {
        files.append(h("li", "outbox-attachment", record.name));
      }
      main.append(files);
    }
    li.append(avatar(this.username), main);
    this.items.set(entry.clientId, li);
    this.draw(entry);
    this.list.append(li);
  }

  draw(entry) {
    const li = this.items.get(entry.clientId);
    if (!li) return;
    li.classList.toggle("is-failed", entry.failed);
    const status = li.querySelector(".message-status");
    if (entry.failed) status.textContent = `Not sent: ${entry.detail}`;
    else status.textContent = entry.held ? "waiting to resend…" : "sending…";
    li.querySelector(".message-actions")?.remove();
    if (entry.failed) {
      const actions = h("div", "message-actions is-visible");
      actions.append(
        actionButton("outbox-edit", "Edit"),
        actionButton("outbox-dismiss", "Dismiss"),
      );
      li.append(actions);
    }
  }

  remove(entry) {
    this.items.get(entry.clientId)?.remove();
    this.items.delete(entry.clientId);
  }
}
