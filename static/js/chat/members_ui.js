// members_ui.js: the Members panel: everyone in the room (online ones marked), their
// roles and mutes, and for moderators a menu of actions on each member they may act on
// (a <details>, so the keyboard works as it does everywhere). Items are redrawn only
// when what they show changes, so an open menu survives presence traffic.

import { memberActionUrl } from "./api.js";
import { isMuted, ROLE_LABELS } from "./members.js";
import { avatar, h, personNameParts } from "./render.js";

export class MembersView {
  /**
   * ui: {panel, list, count, bannedSection, bannedList, onlineCount, toggle, close};
   * members: the Members store; api: an Api; membersUrl: "" when the server has none;
   * showNotice(text); formatUntil(iso); now(); onLoad(): the member list came (names
   * for the timeline's mentions); openDirect(username): start (or open) a direct
   * conversation with a member, null for no "Message" item.
   */
  constructor({
    ui,
    members,
    api,
    membersUrl,
    showNotice,
    formatUntil,
    now = Date.now,
    onLoad = () => {},
    openDirect = null,
  }) {
    Object.assign(this, { ui, members, api, membersUrl, showNotice, formatUntil, now, onLoad });
    this.openDirect = openDirect;
    this.items = new Map(); // key -> {signature, el}
    this.live = false;
    this.loadSeq = 0; // answers to older requests than the latest are dropped
  }

  listen() {
    const { list, bannedList, toggle, close, panel } = this.ui;
    for (const container of [list, bannedList]) {
      container.addEventListener("click", (event) => this.onClick(event));
      container.addEventListener("submit", (event) => this.onSubmit(event));
      container.addEventListener("keydown", (event) => this.onKeydown(event));
    }
    toggle.addEventListener("click", () => this.setOpen(!panel.classList.contains("is-open")));
    close.addEventListener("click", () => this.setOpen(false));
    // Escape closes the drawer, unless it closed a menu in it first (defaultPrevented).
    panel.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || event.defaultPrevented) return;
      if (!panel.classList.contains("is-open")) return;
      this.setOpen(false);
      toggle.focus();
    });
    // A click elsewhere closes any open menu, as menus do. The path, not the target:
    // a click in a menu may have replaced the element clicked (Ban -> its reason form).
    document.addEventListener("click", (event) => {
      const path = event.composedPath();
      for (const menu of panel.querySelectorAll("details.member-menu[open]")) {
        if (!path.includes(menu)) menu.open = false;
      }
    });
  }

  /** On narrow screens the panel is a drawer, opened from the header's "N online". */
  setOpen(open) {
    this.ui.panel.classList.toggle("is-open", open);
    this.ui.toggle.setAttribute("aria-expanded", String(open));
    if (open) this.ui.close.focus();
  }

  setLive(live) {
    this.live = live;
    this.render();
  }

  /** Ask the server for the member list (after every hello); keep the old one on failure. */
  async refresh() {
    if (!this.membersUrl) return;
    const seq = ++this.loadSeq;
    try {
      const data = await this.api.get(this.membersUrl);
      if (seq !== this.loadSeq) return;
      this.members.load(data);
      this.render();
      this.onLoad();
    } catch {
      // The list stays as it was (or the people online); the next hello asks again.
    }
  }

  // --- drawing ------------------------------------------------------------------------------

  render() {
    const now = this.now();
    const people = this.members.list();
    this.sync(
      this.ui.list,
      "m:",
      people.map((member) => this.memberItem(member, now)),
    );
    const banned = this.members.loaded ? (this.members.banned ?? []) : [];
    this.ui.bannedSection.hidden = banned.length === 0;
    this.sync(
      this.ui.bannedList,
      "b:",
      banned.map((entry) => this.bannedItem(entry)),
    );
    const online = this.members.online.length;
    this.ui.count.textContent = String(people.length);
    this.ui.onlineCount.textContent = `${online} online`;
    this.ui.onlineCount.hidden = !this.live;
  }

  /**
   * Put these items in `list`, in order, reusing the elements of those unchanged (an
   * open menu stays open); items keyed `prefix…` that are not wanted any more go.
   */
  sync(list, prefix, wanted) {
    wanted.forEach(({ key, signature, build }, index) => {
      let item = this.items.get(key);
      if (!item || item.signature !== signature) {
        const el = build();
        if (item) item.el.replaceWith(el);
        item = { signature, el };
        this.items.set(key, item);
      }
      // Move only what is out of place: moving a node would blur a focused menu in it.
      const here = list.children[index] ?? null;
      if (here !== item.el) list.insertBefore(item.el, here);
    });
    while (list.children.length > wanted.length) list.lastElementChild.remove();
    const keep = new Set(wanted.map((item) => item.key));
    for (const key of [...this.items.keys()]) {
      if (key.startsWith(prefix) && !keep.has(key)) this.items.delete(key);
    }
  }

  memberItem(member, now) {
    const muted = isMuted(member, now);
    const actions = this.members.actionsFor(member, now);
    if (this.openDirect && !member.isMe && member.user.id !== null) {
      actions.unshift({ action: "message", body: {}, label: "Message" });
    }
    // Readers (not members) have no id: their usernames key them, apart from any id.
    const key = member.user.id === null ? `m:@${member.user.username}` : `m:${member.user.id}`;
    const signature = JSON.stringify([
      member.user.username,
      member.user.display_name ?? "",
      member.role,
      muted,
      muted ? member.muted_until : null,
      member.online,
      member.isMe,
      actions.map((action) => action.label),
    ]);
    return { key, signature, build: () => this.drawMember(member, muted, actions) };
  }

  drawMember(member, muted, actions) {
    const { username } = member.user;
    const li = h("li", "member");
    li.classList.toggle("is-online", member.online);
    li.dataset.username = username;
    if (member.user.id !== null) li.dataset.userId = member.user.id;
    if (member.role) li.dataset.role = member.role;
    li.dataset.muted = String(muted);

    const main = h("span", "member-main");
    main.append(...personNameParts(member.user, "member-name", "member-handle"));
    if (member.isMe) main.append(h("span", "member-you", "you"));
    if (member.role === "owner" || member.role === "moderator") {
      main.append(h("span", `role-badge role-${member.role}`, ROLE_LABELS[member.role]));
    }
    if (muted) {
      const marker = h("span", "member-muted", "muted");
      marker.title = member.muted_until
        ? `Muted until ${this.formatUntil(member.muted_until)}`
        : "Muted until unmuted";
      main.append(marker);
    }
    const presence = h("span", "visually-hidden", member.online ? "(online)" : "(offline)");
    main.append(presence);
    li.append(avatar(username), main);
    if (actions.length) li.append(this.drawMenu(username, actions));
    return li;
  }

  drawMenu(username, actions) {
    const menu = h("details", "member-menu");
    const summary = h("summary", "member-menu-button", "⋯");
    summary.setAttribute("aria-label", `Actions for ${username}`);
    summary.title = `Actions for ${username}`;
    const items = h("div", "member-menu-items");
    items.setAttribute("role", "group");
    items.setAttribute("aria-label", `Actions for ${username}`);
    for (const action of actions) {
      const button = h("button", "member-menu-item", action.label);
      button.type = "button";
      button.dataset.action = action.action;
      button.dataset.body = JSON.stringify(action.body);
      if (action.asksReason) button.dataset.asksReason = "true";
      if (action.action === "ban" || action.action === "remove") button.classList.add("is-danger");
      items.append(button);
    }
    menu.append(summary, items);
    return menu;
  }

  bannedItem(entry) {
    const { username } = entry.user;
    const mayUnban = this.members.mayUnban();
    return {
      key: `b:${entry.user.id}`,
      signature: JSON.stringify([username, entry.user.display_name ?? "", mayUnban]),
      build: () => {
        const li = h("li", "member is-banned");
        li.dataset.username = username;
        li.dataset.userId = entry.user.id;
        const main = h("span", "member-main");
        main.append(...personNameParts(entry.user, "member-name", "member-handle"));
        li.append(avatar(username), main);
        if (mayUnban) {
          const button = h("button", "btn btn-ghost btn-sm member-unban", "Unban");
          button.type = "button";
          button.dataset.action = "unban";
          button.dataset.body = "{}";
          button.setAttribute("aria-label", `Unban ${username}`);
          li.append(button);
        }
        return li;
      },
    };
  }

  /** Replace a menu's buttons with "why?" (optional) and a confirming button. */
  askReason(button) {
    const li = button.closest("li.member");
    const { username } = li.dataset;
    const verb = button.dataset.action === "ban" ? "Ban" : "Remove";
    const form = h("form", "member-reason");
    form.dataset.action = button.dataset.action;
    const label = h("label", "member-reason-label", "Reason (optional)");
    const field = h("input", "member-reason-input");
    field.type = "text";
    field.name = "reason";
    field.maxLength = 500; // the server's limit
    field.id = `reason-${li.dataset.userId}`;
    label.htmlFor = field.id;
    const confirm = h("button", "btn btn-sm member-reason-confirm", `${verb} ${username}`);
    confirm.type = "submit";
    const cancel = h("button", "btn btn-ghost btn-sm", "Cancel");
    cancel.type = "button";
    cancel.dataset.action = "cancel-reason";
    const buttons = h("div", "member-reason-buttons");
    buttons.append(confirm, cancel);
    form.append(label, field, buttons);
    button.closest(".member-menu-items").replaceWith(form);
    field.focus();
  }

  // --- acting -------------------------------------------------------------------------------

  onClick(event) {
    const button = event.target.closest("button[data-action]");
    if (!button || button.type === "submit") return;
    const li = button.closest("li.member");
    if (button.dataset.action === "cancel-reason") {
      this.closeMenu(li);
    } else if (button.dataset.action === "message") {
      this.message(li);
    } else if (button.dataset.asksReason === "true") {
      this.askReason(button);
    } else {
      this.act(li, button.dataset.action, JSON.parse(button.dataset.body || "{}"));
    }
  }

  onSubmit(event) {
    const form = event.target.closest("form.member-reason");
    if (!form) return;
    event.preventDefault();
    const reason = form.elements.reason.value.trim();
    this.act(form.closest("li.member"), form.dataset.action, reason ? { reason } : {});
  }

  onKeydown(event) {
    if (event.key !== "Escape") return;
    const menu = event.target.closest("details.member-menu");
    if (!menu?.open) return;
    event.preventDefault();
    this.closeMenu(menu.closest("li.member"));
  }

  /** Close a member's menu (restoring its buttons) and give the focus back to it. */
  closeMenu(li) {
    const key = `m:${li.dataset.userId}`;
    this.items.delete(key); // force a fresh item: its menu may hold a reason form
    this.render();
    this.items.get(key)?.el.querySelector("summary")?.focus();
  }

  /** Go to the direct conversation with a member (made if it does not exist). */
  async message(li) {
    try {
      await this.openDirect(li.dataset.username);
    } catch (error) {
      this.showNotice(error.detail || "That did not work; try again.");
    }
  }

  async act(li, action, body) {
    const username = li.dataset.username;
    const user = { id: Number(li.dataset.userId), username };
    for (const control of li.querySelectorAll("button, input")) control.disabled = true;
    li.classList.add("is-busy");
    try {
      const data = await this.api.post(memberActionUrl(this.membersUrl, username, action), body);
      // The room hears of it too (member.updated / member.removed); this is just sooner.
      if (action === "ban") this.members.remove(user, "banned");
      else if (action === "remove") this.members.remove(user, "removed");
      else if (action === "unban") this.members.unbanned(user);
      else if (data?.member) this.members.update(data.member);
    } catch (error) {
      this.showNotice(error.detail || "That did not work; try again.");
    }
    this.items.delete(`${action === "unban" ? "b" : "m"}:${user.id}`);
    this.render();
  }
}
