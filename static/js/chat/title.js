// title.js: the tab's title shows what waits for the user: "(3) #general" on a room's
// page, "(3) Rooms" elsewhere. Muted rooms keep their counts but stay out of the total.

/** The title for a total of unread messages and the page's own name. */
export function titleText(total, base) {
  return total > 0 ? `(${total > 999 ? "999+" : total}) ${base}` : base;
}

export class TitleCount {
  /** tab: the Tab; doc: the document; base: the page's own title to start with. */
  constructor({ tab, doc = globalThis.document, base = doc.title }) {
    Object.assign(this, { tab, doc, base });
  }

  listen() {
    this.tab.rooms.onChange(() => this.draw());
    // The room in view names the page; a rename renames it.
    const named = (frame) => {
      // A direct conversation keeps the title the page has: the others' names.
      if (frame.room?.kind === "direct") return;
      if (frame.room?.slug && frame.room.slug === this.tab.viewing && frame.room.name) {
        this.base = `#${frame.room.name}`;
        this.draw();
      }
    };
    this.tab.on("view", named);
    this.tab.on("room.updated", named);
    this.draw();
  }

  draw() {
    this.doc.title = titleText(this.tab.rooms.totalUnread(), this.base);
  }
}
