// rooms_ui.js: the room as the page shows it: the header (name, topic, lock, archived
// badge; title.js keeps the tab's title) and the sidebar of rooms, kept current by room.updated,
// rooms.updated and rooms.removed.

import { directTitle, isDirect } from "./direct_ui.js";
import { h } from "./render.js";

const LOCK = "\u{1F512}";

function roomIcon(room) {
  if (isDirect(room)) return "@";
  return room.private ? LOCK : "#";
}

export class RoomsView {
  /**
   * root: #room; ui: {roomName, roomIcon, roomTopic, archivedBadge, sidebarRooms,
   * sidebarDirect}; roomUrl(slug): the page of a room.
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
    // A direct conversation keeps the others' names the page was rendered with (its
    // room object carries no people); a room shows its name.
    if (isDirect(room)) {
      if (room.members) roomName.textContent = directTitle(room);
    } else {
      roomName.textContent = room.name;
    }
    roomTopic.textContent = room.topic || "";
    roomTopic.hidden = !room.topic;
    if (icon && typeof room.private === "boolean") icon.textContent = roomIcon(room);
  }

  sidebarItem(slug) {
    for (const list of [this.ui.sidebarRooms, this.ui.sidebarDirect]) {
      for (const li of list?.children ?? []) {
        if (li.dataset.slug === slug) return li;
      }
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
    const direct = isDirect(room);
    let li = this.sidebarItem(room.slug);
    if (!li && direct) {
      if (!room.members || !this.ui.sidebarDirect) return; // named once its state comes
      li = this.newSidebarItem(room);
      this.ui.sidebarDirect.prepend(li); // the newest conversation is the latest active
    } else if (!li) {
      li = this.newSidebarItem(room);
      const firstArchived = this.ui.sidebarRooms.querySelector(".sidebar-room.is-archived");
      this.ui.sidebarRooms.insertBefore(li, firstArchived?.closest("li") ?? null);
    }
    const link = li.querySelector(".sidebar-room");
    const name = li.querySelector(".sidebar-room-name");
    if (!direct) name.textContent = room.name;
    else if (room.members) name.textContent = directTitle(room);
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
