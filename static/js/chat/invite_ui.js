// invite_ui.js: the room page's "Invite people" button and its dialog: invite by
// username (names suggested from the people search as one types), the room's pending
// invitations with "Revoke", and, for those who moderate the room, its invite links
// (create with an expiry and a use limit, copy, revoke).
//
// The button shows only to those who may invite (invitations.js's canInvite, from the
// `view` frame's `me` and the room). The dialog reads its lists each time it opens; the
// pending invitations then follow `invitation.updated` frames (another moderator
// invites or revokes, an invitee answers) without a reload.

import {
  canInvite,
  invitationActionUrl,
  inviteLinkRevokeUrl,
  linkRequest,
  linkSummary,
  PendingInvitations,
  usersSearchUrl,
} from "./invitations.js";
import { h } from "./render.js";

// How long typing pauses before the names are asked for.
const SEARCH_DELAY_MS = 150;

export class InviteView {
  /** root: [data-js="invite"], with data-private, data-invitations-url, data-links-url. */
  constructor({ tab, api, root, slug, timers = globalThis }) {
    Object.assign(this, { tab, api, root, slug, timers });
    const find = (name) => root.querySelector(`[data-js="${name}"]`);
    this.ui = {
      open: find("invite-open"),
      dialog: find("invite-dialog"),
      close: find("invite-close"),
      form: find("invite-form"),
      username: find("invite-username"),
      suggestions: find("invite-suggestions"),
      status: find("invite-status"),
      pending: find("invite-pending"),
      pendingEmpty: find("invite-pending-empty"),
      linksSection: find("invite-links-section"),
      linkForm: find("invite-link-form"),
      linkHours: find("invite-link-hours"),
      linkUses: find("invite-link-uses"),
      links: find("invite-links"),
    };
    this.urls = { invitations: root.dataset.invitationsUrl, links: root.dataset.linksUrl };
    this.room = { private: root.dataset.private === "true" };
    this.me = null;
    this.pending = new PendingInvitations();
    this.searchTimer = null;
    this.searched = "";
  }

  listen() {
    const { open, close, dialog, form, username, linkForm, pending, links } = this.ui;
    this.tab.on("view", (frame) => {
      if (frame.room?.slug !== this.slug) return;
      this.room = { ...this.room, ...frame.room };
      this.me = frame.me ?? this.me;
      this.draw();
    });
    this.tab.on("member.updated", (frame) => {
      const member = frame.member;
      if (frame.room !== this.slug || !this.me || member?.user?.id !== this.me.id) return;
      const role = member.role;
      const moderates = this.me.staff || role === "owner" || role === "moderator";
      this.me = { ...this.me, role, can_moderate: moderates };
      this.draw();
    });
    this.tab.on("invitation.updated", (frame) => {
      if (frame.room !== this.slug || !frame.invitation) return;
      if (this.pending.apply(frame.invitation)) this.drawPending();
    });
    this.tab.on("hello", () => {
      // Frames may have been missed while the socket was down: read the lists again.
      if (this.ui.dialog.open) this.refresh();
    });
    this.tab.on("room.updated", (frame) => {
      if (frame.room?.slug !== this.slug) return;
      this.room = { ...this.room, ...frame.room };
      this.draw();
    });
    open.addEventListener("click", () => this.show());
    close.addEventListener("click", () => dialog.close());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.invite();
    });
    username.addEventListener("input", () => this.searchSoon());
    linkForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.createLink();
    });
    pending.addEventListener("click", (event) => this.onPendingClick(event));
    links.addEventListener("click", (event) => this.onLinkClick(event));
  }

  allowed() {
    return canInvite(this.me, this.room);
  }

  /** Show or hide what the reader may use. */
  draw() {
    const allowed = this.allowed();
    this.ui.open.hidden = !allowed;
    this.ui.linksSection.hidden = !this.me?.can_moderate;
    if (!allowed && this.ui.dialog.open) this.ui.dialog.close();
  }

  show() {
    if (!this.allowed()) return;
    this.setStatus("");
    if (!this.ui.dialog.open) this.ui.dialog.showModal();
    this.ui.username.focus();
    this.refresh();
  }

  setStatus(text, { error = false } = {}) {
    this.ui.status.textContent = text;
    this.ui.status.classList.toggle("is-error", error);
  }

  async refresh() {
    this.pending.fetching();
    try {
      const { invitations } = await this.api.get(this.urls.invitations);
      this.pending.reset(invitations);
    } catch (error) {
      this.pending.failed();
      this.setStatus(error.detail || "Could not load the invitations.", { error: true });
      return;
    }
    this.drawPending();
    if (!this.me?.can_moderate) return;
    try {
      const { links } = await this.api.get(this.urls.links);
      this.drawLinks(links);
    } catch (error) {
      this.setStatus(error.detail || "Could not load the invite links.", { error: true });
    }
  }

  // --- inviting ----------------------------------------------------------------

  searchSoon() {
    this.timers.clearTimeout(this.searchTimer);
    this.searchTimer = this.timers.setTimeout(() => this.search(), SEARCH_DELAY_MS);
  }

  async search() {
    const prefix = this.ui.username.value.trim();
    if (!prefix || prefix === this.searched) return;
    this.searched = prefix;
    try {
      const { users } = await this.api.get(usersSearchUrl(prefix));
      if (this.ui.username.value.trim() !== prefix) return; // typed on meanwhile
      this.ui.suggestions.replaceChildren(
        ...users.map((user) => {
          const option = h("option");
          option.value = user.username;
          return option;
        }),
      );
    } catch {
      // Suggestions are a help: typing the whole name still works.
    }
  }

  async invite() {
    const username = this.ui.username.value.trim().replace(/^@/, "");
    if (!username) return;
    const button = this.ui.form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await this.api.post(this.urls.invitations, { username });
      this.setStatus(`Invited @${username}.`);
      this.ui.username.value = "";
      this.searched = "";
      await this.refresh();
    } catch (error) {
      this.setStatus(error.detail || "Could not invite them; try again.", { error: true });
    } finally {
      button.disabled = false;
      this.ui.username.focus();
    }
  }

  drawPending() {
    const invitations = this.pending.list();
    this.ui.pending.replaceChildren(...invitations.map((item) => this.renderInvitation(item)));
    this.ui.pendingEmpty.hidden = invitations.length > 0;
  }

  renderInvitation(invitation) {
    const li = h("li", "invite-item");
    li.dataset.id = invitation.id;
    const main = h("span", "invite-item-main");
    main.append(h("span", "invite-who", `@${invitation.invitee.username}`));
    if (invitation.inviter) {
      main.append(h("span", "invite-meta", ` invited by @${invitation.inviter.username}`));
    }
    const revoke = h("button", "btn btn-ghost btn-sm", "Revoke");
    revoke.type = "button";
    revoke.dataset.action = "revoke-invitation";
    li.append(main, revoke);
    return li;
  }

  async onPendingClick(event) {
    const button = event.target.closest('button[data-action="revoke-invitation"]');
    if (!button) return;
    button.disabled = true;
    const id = button.closest("li").dataset.id;
    try {
      await this.api.post(invitationActionUrl(id, "revoke"), {});
      this.setStatus("Invitation revoked.");
      await this.refresh();
    } catch (error) {
      button.disabled = false;
      this.setStatus(error.detail || "Could not revoke it; try again.", { error: true });
    }
  }

  // --- invite links --------------------------------------------------------------

  async createLink() {
    const request = linkRequest({ hours: this.ui.linkHours.value, uses: this.ui.linkUses.value });
    if (request.error) {
      this.setStatus(request.error, { error: true });
      return;
    }
    try {
      await this.api.post(this.urls.links, request.body);
      this.ui.linkHours.value = "";
      this.ui.linkUses.value = "";
      this.setStatus("Invite link created.");
      await this.refresh();
    } catch (error) {
      this.setStatus(error.detail || "Could not create the link; try again.", { error: true });
    }
  }

  drawLinks(links) {
    this.ui.links.replaceChildren(...links.map((link) => this.renderLink(link)));
  }

  renderLink(link) {
    const li = h("li", "invite-item invite-link");
    li.dataset.id = link.id;
    const url = h("input", "input input-sm invite-link-url");
    url.readOnly = true;
    url.value = link.url;
    url.setAttribute("aria-label", "Invite link");
    const summary = h("span", "invite-meta", linkSummary(link));
    const copy = h("button", "btn btn-sm", "Copy");
    copy.type = "button";
    copy.dataset.action = "copy-link";
    const revoke = h("button", "btn btn-ghost btn-sm", "Revoke");
    revoke.type = "button";
    revoke.dataset.action = "revoke-link";
    li.append(url, summary, copy, revoke);
    return li;
  }

  async onLinkClick(event) {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const li = button.closest("li");
    if (button.dataset.action === "copy-link") {
      const input = li.querySelector("input");
      try {
        await navigator.clipboard.writeText(input.value);
        this.setStatus("Link copied.");
      } catch {
        input.select(); // no clipboard access: selected, for Ctrl+C
        this.setStatus("Press Ctrl+C to copy the link.");
      }
      return;
    }
    if (button.dataset.action !== "revoke-link") return;
    button.disabled = true;
    try {
      await this.api.post(inviteLinkRevokeUrl(li.dataset.id), {});
      this.setStatus("Invite link revoked.");
      await this.refresh();
    } catch (error) {
      button.disabled = false;
      this.setStatus(error.detail || "Could not revoke the link; try again.", { error: true });
    }
  }
}
