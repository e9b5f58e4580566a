// app.js: every page of a signed-in user. It opens the tab's one connection
// (docs/protocol.md, protocol 2) and starts what lives on every page: the unread counts
// wherever rooms are listed, the tab's title, the bell, the announcement banner,
// desktop alerts and the search box. On a room's page it hands the room over to room.js.
//
// Configuration comes from data- attributes on <body> (no inline script: CSP).

import { AnnouncementBanner } from "./chat/announcements_ui.js";
import { Api, csrfTokenFrom } from "./chat/api.js";
import { BellView } from "./chat/bell_ui.js";
import { DesktopAlerts } from "./chat/desktop_alerts.js";
import { DirectoryView } from "./chat/directory_ui.js";
import { Inbox } from "./chat/inbox.js";
import { InboxPage } from "./chat/inbox_page.js";
import { SearchPage } from "./chat/search_page.js";
import { SearchBox } from "./chat/search_ui.js";
import { SidebarBadges } from "./chat/sidebar_ui.js";
import { RoomSocket } from "./chat/socket.js";
import { Tab } from "./chat/tab.js";
import { TitleCount } from "./chat/title.js";
import { toInt } from "./chat/render.js";
import { startRoom } from "./room.js";

function csrfToken() {
  return (
    csrfTokenFrom(document.cookie) ??
    document.querySelector("input[name=csrfmiddlewaretoken]")?.value ??
    null
  );
}

function start(body) {
  const d = body.dataset;
  const me = { id: toInt(d.userId), username: d.username, staff: d.staff === "true" };
  const api = new Api({ csrfToken });
  const tab = new Tab({
    me,
    api,
    roomsUrl: d.roomsUrl,
    makeSocket: (handlers) =>
      new RoomSocket({
        url: () => {
          const scheme = window.location.protocol === "https:" ? "wss" : "ws";
          return `${scheme}://${window.location.host}${d.wsPath}`;
        },
        isOffline: () => navigator.onLine === false,
        ...handlers,
      }),
  });
  new SidebarBadges({ tab, root: document }).listen();
  new DesktopAlerts({
    tab,
    root: document.querySelector('[data-js="desktop-alerts"]'),
    Notification: window.Notification ?? null,
    locks: navigator.locks ?? null,
    BroadcastChannel: window.BroadcastChannel ?? null,
    location: window.location,
    window,
  }).listen();
  const roomRoot = document.getElementById("room");
  new TitleCount({ tab, base: roomTitle(roomRoot) }).listen();
  if (roomRoot) startRoom(roomRoot, tab);
  const directoryRoot = document.getElementById("directory");
  if (directoryRoot) new DirectoryView({ tab, root: directoryRoot }).listen();
  // Search: the top bar's box on every page, and the results page.
  const searchForm = document.querySelector('[data-js="search-form"]');
  if (searchForm) new SearchBox({ form: searchForm, api, tab }).listen();
  const searchRoot = document.getElementById("search");
  if (searchRoot) new SearchPage({ root: searchRoot, api, tab }).listen();

  window.addEventListener("online", () => tab.reconnectNow());
  window.addEventListener("offline", () => {
    if (!tab.socket.live && !tab.socket.stopped) tab.emit("state", { type: "state", state: "offline" });
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") tab.reconnectNow();
  });
  // The inbox: one store, drawn by the bell, the banner and (on its page) the inbox page.
  const inbox = new Inbox();
  inbox.listen(tab);
  for (const [View, selector] of [
    [BellView, '[data-js="bell"]'],
    [AnnouncementBanner, '[data-js="announcement"]'],
    [InboxPage, "#inbox"],
  ]) {
    const root = document.querySelector(selector);
    if (root) new View({ tab, inbox, root }).listen();
  }
  tab.start();
  return tab;
}

if (document.body.dataset.userId) start(document.body);

/** The page's title for the tab: "#name" for a room, the others' names for a direct one. */
function roomTitle(roomRoot) {
  if (!roomRoot) return document.title;
  const { roomName, roomKind } = roomRoot.dataset;
  return roomKind === "direct" ? roomName : `#${roomName}`;
}
