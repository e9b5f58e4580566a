// profile_card_ui.js: the profile card. A person's name (a button with data-profile, made
// by render.js's personName) opens a small card beside it: who they are, when they
// joined, the rooms the reader shares with them, and "Message" to go to their direct
// conversation (made on the way if there is none); one's own card links to the page
// where one edits it. people.js's profileCardModel decides what the card says; this
// draws it and handles the keyboard and the mouse.
//
// The card is a non-modal dialog: it takes the focus when it opens; Escape closes it and
// gives the focus back to the name; a click outside it, or the focus leaving it, closes it.

import { cardPosition, profileCardModel, profileUrl } from "./people.js";
import { avatar, h } from "./render.js";

let cardsMade = 0; // each card's heading gets an id of its own, for aria-labelledby

export class ProfileCard {
  /**
   * api: an Api; usersUrl: GET /api/users/ (a person's card is <usersUrl><username>/);
   * openDirect(username): open (or make) the direct conversation with them, null for
   * no "Message" button where none exists yet; navigate(url): go to a page;
   * editUrl: where one edits one's own profile; currentSlug: the room in view.
   */
  constructor({
    api,
    usersUrl,
    openDirect = null,
    navigate,
    editUrl = null,
    currentSlug = null,
    doc = document,
    win = window,
  }) {
    Object.assign(this, { api, usersUrl, openDirect, navigate, editUrl, currentSlug, doc, win });
    this.card = null; // the open card's element
    this.anchor = null; // the name it opened from
    this.loadSeq = 0; // answers for a card that is no longer open are dropped
  }

  /** Open a card from any person's name inside `root`. */
  listen(root) {
    root.addEventListener("click", (event) => {
      const name = event.target.closest("button[data-profile]");
      if (name && root.contains(name)) this.toggle(name);
    });
    // A click elsewhere closes the card. The path, not the target: a click in the card
    // may have replaced the element clicked.
    this.doc.addEventListener("click", (event) => {
      if (!this.card) return;
      const path = event.composedPath();
      if (!path.includes(this.card) && !path.includes(this.anchor)) this.close();
    });
    this.win.addEventListener("resize", () => this.place());
    // The timeline and the member list scroll by themselves: follow the name.
    this.doc.addEventListener("scroll", () => this.place(), { capture: true, passive: true });
  }

  toggle(name) {
    if (this.card && this.anchor === name) this.close({ restoreFocus: true });
    else this.open(name);
  }

  /** Open the card of the person `name` names, and ask the server what it says. */
  async open(name) {
    this.close();
    const username = name.dataset.profile;
    this.anchor = name;
    this.card = this.drawFrame(username, name.textContent);
    this.doc.body.append(this.card);
    this.place();
    this.card.focus();
    const seq = ++this.loadSeq;
    const card = this.card;
    try {
      const answer = await this.api.get(profileUrl(this.usersUrl, username));
      if (seq !== this.loadSeq) return;
      const model = profileCardModel(answer, {
        currentSlug: this.currentSlug,
        editUrl: this.editUrl,
      });
      this.fill(card, model);
    } catch (error) {
      if (seq !== this.loadSeq) return;
      this.setStatus(card, error.detail || "Could not load this profile; try again.", true);
    }
    this.place();
  }

  /** Close the open card; give the focus back to its name when the keyboard closed it. */
  close({ restoreFocus = false } = {}) {
    if (!this.card) return;
    const { anchor } = this;
    this.loadSeq += 1;
    this.card.remove();
    this.card = null;
    this.anchor = null;
    if (restoreFocus && anchor?.isConnected) anchor.focus();
  }

  /** Put the card beside its name, inside the window. */
  place() {
    if (!this.card) return;
    if (!this.anchor?.isConnected) {
      this.close(); // the name was redrawn away (the member left, the message went)
      return;
    }
    const page = this.doc.documentElement;
    const { top, left } = cardPosition(
      this.anchor.getBoundingClientRect(),
      { width: this.card.offsetWidth, height: this.card.offsetHeight },
      { width: page.clientWidth, height: page.clientHeight },
    );
    this.card.style.top = `${top}px`;
    this.card.style.left = `${left}px`;
  }

  // --- drawing ------------------------------------------------------------------------------

  /** The card while its answer is on the way: the name shown, "@username", "Loading…". */
  drawFrame(username, shownName) {
    cardsMade += 1;
    const card = h("div", "profile-card");
    card.setAttribute("role", "dialog");
    card.tabIndex = -1;
    const title = h("h2", "profile-card-name", shownName || username);
    title.id = `profile-card-name-${cardsMade}`;
    card.setAttribute("aria-labelledby", title.id);

    const close = h("button", "profile-card-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", "Close");
    close.addEventListener("click", () => this.close({ restoreFocus: true }));
    const names = h("div", "profile-card-names");
    names.append(title, h("p", "profile-card-handle", `@${username}`));
    const head = h("div", "profile-card-head");
    head.append(avatar(username), names, close);

    const body = h("div", "profile-card-body");
    const status = h("p", "profile-card-status", "Loading…");
    status.setAttribute("role", "status");
    card.append(head, body, status);

    card.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      event.preventDefault();
      event.stopPropagation(); // the members drawer closes on Escape too: not this time
      this.close({ restoreFocus: true });
    });
    card.addEventListener("focusout", (event) => {
      const to = event.relatedTarget;
      // Back to its own name: the click that follows toggles the card.
      if (to && !card.contains(to) && to !== this.anchor && card === this.card) this.close();
    });
    return card;
  }

  /** Show what the server said of the person. */
  fill(card, model) {
    const find = (selector) => card.querySelector(selector);
    find(".profile-card-name").textContent = model.name;
    const handle = find(".profile-card-handle");
    handle.textContent = model.handle;
    if (model.staff) handle.append(" ", h("span", "profile-card-staff", "Staff"));

    const body = find(".profile-card-body");
    const parts = [];
    if (model.joined) parts.push(h("p", "profile-card-joined", model.joined));
    parts.push(this.drawRooms(card, model.rooms));
    const actions = this.drawActions(model);
    if (actions.childElementCount) parts.push(actions);
    body.replaceChildren(...parts);
    this.setStatus(card, "");
  }

  drawRooms(card, rooms) {
    const section = h("section", "profile-card-section");
    const title = h("h3", "profile-card-subtitle", "Rooms in common");
    title.id = `${card.getAttribute("aria-labelledby")}-rooms`;
    section.setAttribute("aria-labelledby", title.id);
    section.append(title);
    if (!rooms.length) {
      section.append(h("p", "profile-card-empty", "No rooms in common."));
      return section;
    }
    const list = h("ul", "profile-card-rooms");
    for (const room of rooms) {
      const link = h("a", "profile-card-room", room.label);
      link.href = room.url;
      if (room.current) link.setAttribute("aria-current", "page");
      const item = h("li");
      item.append(link);
      list.append(item);
    }
    section.append(list);
    return section;
  }

  drawActions(model) {
    const actions = h("div", "profile-card-actions");
    if (model.message && (model.message.url || this.openDirect)) {
      const button = h("button", "btn btn-primary btn-sm profile-card-message", "Message");
      button.type = "button";
      button.addEventListener("click", () => this.message(model.message, button));
      actions.append(button);
    }
    if (model.editUrl) {
      const link = h("a", "btn btn-sm profile-card-edit", "Edit your profile");
      link.href = model.editUrl;
      actions.append(link);
    }
    return actions;
  }

  /** Go to the conversation with the person: the existing one, or one made now. */
  async message({ username, url }, button) {
    if (url) {
      this.navigate(url);
      return;
    }
    const card = this.card;
    button.disabled = true;
    try {
      await this.openDirect(username);
    } catch (error) {
      button.disabled = false;
      if (card !== this.card) return; // closed meanwhile
      this.setStatus(card, error.detail || "That did not work; try again.", true);
    }
  }

  setStatus(card, text, isError = false) {
    const status = card.querySelector(".profile-card-status");
    status.textContent = text;
    status.hidden = !text;
    status.classList.toggle("is-error", isError);
    status.setAttribute("role", isError ? "alert" : "status");
  }
}
