// leave_ui.js: my membership of the room in view, from its page: "Leave" in the header
// for a member (asked first, then off to the room list), and "Join" above the composer
// for a reader of a public room. The tab's room states say whether I am a member now, on
// every tab (room.joined, room.closed, rooms.removed); changes go to the HTTP API
// (docs/protocol.md, "Joining, leaving and the directory").

/** The question asked before leaving: a private room needs a new invitation. */
export function leaveQuestion(name, isPrivate) {
  const back = isPrivate
    ? "It is private: you will need a new invitation to come back."
    : "You can join it again from the directory.";
  return `Leave ${name}? ${back}`;
}

export class MembershipControls {
  /**
   * tab: the Tab; slug: the room in view; root: #room (its is-archived class);
   * ui: {leave, joinBar, join} (leave and joinBar carry data-url, leave data-next);
   * roomName(): the room's name now; confirm(question) -> bool; navigate(url);
   * showNotice(text).
   */
  constructor({ tab, slug, root, ui, roomName, confirm, navigate, showNotice }) {
    Object.assign(this, { tab, slug, root, ui, roomName, confirm, navigate, showNotice });
    this.ready = false; // the tab knows my rooms (after its first hello)
    this.busy = false;
  }

  listen() {
    if (!this.ui.leave && !this.ui.joinBar) return;
    this.tab.on("hello", () => {
      this.ready = true;
      this.draw();
    });
    this.tab.rooms.onChange((slug) => {
      if (slug === null || slug === this.slug) this.draw();
    });
    // Archiving shows in the header (room.updated); a lost room takes both away.
    for (const type of ["room.updated", "room.closed"]) this.tab.on(type, () => this.draw());
    this.ui.leave?.addEventListener("click", () => this.leave());
    this.ui.join?.addEventListener("click", () => this.join());
    this.draw();
  }

  /** Whether I am a member, per the tab (null until it knows). */
  isMember() {
    return this.ready ? Boolean(this.tab.rooms.get(this.slug)) : null;
  }

  draw() {
    const member = this.isMember();
    const lost = Boolean(this.tab.page?.lost); // room.closed: the page is done with it
    const archived = Boolean(this.root?.classList.contains("is-archived"));
    if (this.ui.leave) {
      this.ui.leave.hidden = member !== true || lost;
      this.ui.leave.disabled = this.busy;
    }
    if (this.ui.joinBar) {
      this.ui.joinBar.hidden = member !== false || lost || archived;
      if (this.ui.join) this.ui.join.disabled = this.busy;
    }
  }

  async leave() {
    if (this.busy) return;
    const room = this.tab.rooms.get(this.slug);
    if (!this.confirm(leaveQuestion(this.roomName(), Boolean(room?.private)))) return;
    this.busy = true;
    this.draw();
    try {
      await this.tab.api.post(this.ui.leave.dataset.url, {});
      this.navigate(this.ui.leave.dataset.next);
    } catch (error) {
      this.showNotice(error?.detail || "Could not leave the room; try again.");
    } finally {
      this.busy = false;
      this.draw();
    }
  }

  async join() {
    if (this.busy) return;
    this.busy = true;
    this.draw();
    try {
      // room.joined follows on every tab of mine, this one included: it hides the bar.
      await this.tab.api.post(this.ui.joinBar.dataset.url, {});
    } catch (error) {
      this.showNotice(error?.detail || "Could not join the room; try again.");
    } finally {
      this.busy = false;
      this.draw();
    }
  }
}
