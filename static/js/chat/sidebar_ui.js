// sidebar_ui.js: each room's unread count and mention badge wherever the page lists
// rooms (the room page's sidebar, the room list), live from the tab's RoomStates.
// An element with data-unread-slug="<slug>" gets the badges of that room.

import { h } from "./render.js";

/** The text of an unread count badge ("99+" past 99), or "" for none. */
export function countText(count) {
  if (!Number.isInteger(count) || count <= 0) return "";
  return count > 99 ? "99+" : String(count);
}

/** What a screen reader hears after the room's name. */
export function badgeLabel(room) {
  const parts = [];
  if (room.unread > 0) parts.push(`${room.unread} unread`);
  if (room.mentions > 0) parts.push(`${room.mentions} mentioning you`);
  return parts.join(", ");
}

export class SidebarBadges {
  /** tab: the Tab; root: where to look for [data-unread-slug] elements. */
  constructor({ tab, root }) {
    this.tab = tab;
    this.root = root;
  }

  listen() {
    this.tab.rooms.onChange((slug) => (slug ? this.draw(slug) : this.drawAll()));
    // A room joined is listed by the page only after the store has it: draw it then.
    this.tab.on("room.joined", (frame) => this.draw(frame.room.slug));
    this.drawAll();
  }

  elements(slug) {
    const all = this.root.querySelectorAll("[data-unread-slug]");
    return slug ? [...all].filter((el) => el.dataset.unreadSlug === slug) : [...all];
  }

  drawAll() {
    for (const el of this.elements(null)) this.drawInto(el, this.tab.rooms.get(el.dataset.unreadSlug));
  }

  draw(slug) {
    for (const el of this.elements(slug)) this.drawInto(el, this.tab.rooms.get(slug));
  }

  drawInto(el, room) {
    let badges = el.querySelector(".unread-badges");
    if (!badges) {
      badges = h("span", "unread-badges");
      badges.append(h("span", "badge-mention"), h("span", "badge-unread"));
      el.append(badges);
    }
    const [mention, unread] = badges.children;
    const muted = Boolean(room?.notify?.muted);
    const mentions = room?.mentions ?? 0;
    mention.textContent = mentions > 0 ? `@${countText(mentions)}` : "";
    mention.hidden = mentions <= 0;
    unread.textContent = countText(room?.unread ?? 0);
    unread.hidden = !unread.textContent;
    el.classList.toggle("has-unread", (room?.unread ?? 0) > 0);
    el.classList.toggle("has-mention", mentions > 0);
    el.classList.toggle("is-muted-room", muted);
    const label = room ? badgeLabel(room) : "";
    badges.setAttribute("aria-label", label);
    badges.hidden = !label;
  }
}
