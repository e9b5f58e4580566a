// rooms_ui.js: the room as the page shows it: the header (name, topic, lock, archived
// badge; title.js keeps the tab's title) and the sidebar of rooms, kept current by room.updated,
// rooms.updated and rooms.removed.

import { h } from "./render.js";

const LOCK = "\u{1F512}";

function roomIcon(room) {
  return room.private ? LOCK : "#";
}

export class RoomsView {
  /**
   * root: #room; ui: {roomName, roomIcon, roomTopic, archivedBadge, sidebarRooms};
   * roomUrl(slug): the page of a room.
   */
  constructor({ root, ui, roomUrl }) {
    this.root = root;
    this.ui = ui;
    this.roomUrl = roomUrl;
  }

  /** An archived room can be read but not written to (the composer says so itself). */
  setArchived(archived) {
    this.root.classList.toggle("is-archived", archived);
    this.ui.archivedBadge.hidden = !archived;
  }

  /** Show the current room's name, topic, privacy and archived state (hello, room.updated). */
  applyHeader(room) {
    const { roomName, roomIcon: icon, roomTopic } = this.ui;
    roomName.textContent = room.name;
    roomTopic.textContent = room.topic || "";
    roomTopic.hidden = !room.topic;
    if (icon && typeof room.private === "boolean") icon.textContent = roomIcon(room);
  }

  sidebarItem(slug) {
    for (const li of this.ui.sidebarRooms?.children ?? []) {
      if (li.dataset.slug === slug) return li;
    }
    return null;
  }

  /**
   * A room in the sidebar changed (renamed, made private or public, archived), or one
   * appeared in it (created, or opened to the user): the server lists it by activity,
   * and a room new to the list has none yet, so it goes last before the archived ones.
   */
  updateSidebar(room) {
    if (!room?.slug || typeof room.name !== "string") return;
    let li = this.sidebarItem(room.slug);
    if (!li) {
      li = this.newSidebarItem(room);
      const firstArchived = this.ui.sidebarRooms.querySelector(".sidebar-room.is-archived");
      this.ui.sidebarRooms.insertBefore(li, firstArchived?.closest("li") ?? null);
    }
    const link = li.querySelector(".sidebar-room");
    li.querySelector(".sidebar-room-name").textContent = room.name;
    if (typeof room.private === "boolean") {
      li.querySelector(".sidebar-room-icon").textContent = roomIcon(room);
    }
    if (typeof room.archived === "boolean") link?.classList.toggle("is-archived", room.archived);
  }

  newSidebarItem(room) {
    const li = h("li");
    li.dataset.slug = room.slug;
    const link = h("a", "sidebar-room");
    link.href = this.roomUrl(room.slug);
    link.dataset.unreadSlug = room.slug; // its counts (sidebar_ui.js)
    const icon = h("span", "sidebar-room-icon", roomIcon(room));
    icon.setAttribute("aria-hidden", "true");
    link.append(icon, h("span", "sidebar-room-name"));
    li.append(link);
    return li;
  }

  /** A room is no longer in the user's sidebar. */
  removeFromSidebar(room) {
    if (room?.slug) this.sidebarItem(room.slug)?.remove();
  }
}
