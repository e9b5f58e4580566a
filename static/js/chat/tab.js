// tab.js: the tab's one connection (docs/protocol.md, protocol 2) and what it keeps:
// the user's rooms with their counts (RoomStates), the room in view, and a bus on
// which every other part of the page (sidebar, title, bell, alerts, the room page)
// hears the frames it cares about.
//
// The socket itself (reconnect, backoff, pings, close codes) is socket.js's RoomSocket;
// this decides what each frame means for the tab. After every hello the room in view
// is opened again with the revision the page holds, so its catch-up stays exact.

import { frameSlug, RoomStates } from "./room_states.js";

// Frames that concern the room in view only, handed to its client (room_client.js).
const VIEW_FRAMES = new Set([
  "sync", "history", "message.new", "message.updated", "message.deleted",
  "message.reactions", "presence", "typing", "room.updated", "member.updated",
  "member.removed", "room.closed", "pong",
]);
// Frames about the list of rooms that the room page's sidebar shows, whatever the room.
const SIDEBAR_FRAMES = new Set(["rooms.updated", "rooms.removed", "room.joined", "room.closed"]);
// Room commands of protocol 1, which name the room in view on this protocol.
const ROOM_COMMANDS = new Set([
  "message.send", "message.edit", "message.delete", "reaction.add", "reaction.remove",
  "typing", "sync", "history",
]);
const STALE_REFETCH_MS = 500;

export class Tab {
  /**
   * - me: {id, username, staff}; api: Api; roomsUrl: GET /api/rooms/;
   * - makeSocket(handlers) -> RoomSocket: handlers are {onFrame, onState, onDown, onStop};
   * - doc: the document (visibility and focus); timers: setTimeout and clearTimeout.
   */
  constructor({ me, api, roomsUrl, makeSocket, doc = globalThis.document, timers = globalThis }) {
    Object.assign(this, { me, api, roomsUrl, doc, timers });
    this.rooms = new RoomStates({ me });
    this.listeners = new Map(); // frame type -> Set of functions
    this.page = null; // the room in view: {slug, client, since(), lost}
    this.staleTimer = null;
    this.socket = makeSocket({
      onFrame: (frame) => this.handle(frame),
      onState: (name) => this.emit("state", { type: "state", state: name }),
      onDown: () => this.down(),
      onStop: (code, verdict) => this.stopped(code, verdict),
    });
  }

  get viewing() {
    return this.page && !this.page.lost ? this.page.slug : null;
  }

  start() {
    this.socket.connect();
  }

  /** Hear every frame of `type` ("hello" too, and "state" for the connection's). */
  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
    return () => this.listeners.get(type).delete(fn);
  }

  emit(type, frame) {
    for (const fn of [...(this.listeners.get(type) ?? [])]) fn(frame);
  }

  /** Whether the user can see this tab now: shown and focused. */
  visible() {
    return this.doc?.visibilityState === "visible" && Boolean(this.doc?.hasFocus?.());
  }

  /** Send a frame; a room command names the room in view. Return whether it went out. */
  send(frame) {
    if (ROOM_COMMANDS.has(frame.type)) {
      if (!this.viewing) return false;
      frame = { ...frame, room: this.page.slug };
    }
    return this.socket.send(frame);
  }

  /**
   * Show a room in this tab: `client` (room_client.js) gets its frames, and `since()`
   * is the revision the page holds, asked for again after every reconnect.
   */
  view(slug, { client, since }) {
    this.page = { slug, client, since, lost: false };
    if (this.socket.live) this.sendView();
  }

  /** What the room client takes for its socket: the tab's, seen from one room. */
  roomSocket() {
    return {
      markLive: () => {},
      // The room is lost (room.closed): the tab goes on, without it.
      finish: () => {
        if (this.page) this.page.lost = true;
      },
    };
  }

  sendView() {
    const { slug, since } = this.page;
    this.socket.send({ type: "view", room: slug, since: since() });
  }

  /** Move my read marker of a room forward (every tab and device hears of it). */
  markRead(slug, rev) {
    const room = this.rooms.get(slug);
    if (!room || !Number.isInteger(rev) || rev <= room.last_read_rev) return false;
    return this.socket.send({ type: "read", room: slug, rev });
  }

  handle(frame) {
    if (frame.type === "hello") {
      this.onHello(frame);
      return;
    }
    if (frame.type === "rooms") {
      this.rooms.add(frame.rooms); // the rest of the hello's rooms
      this.emit("rooms", frame);
      return;
    }
    this.rooms.apply(frame);
    if (this.rooms.stale().length) this.refetchSoon();
    const slug = frameSlug(frame);
    const client = this.page?.client;
    if (client && !this.page.lost) {
      if (frame.type === "view") client.handle({ ...frame, type: "hello" });
      else if (VIEW_FRAMES.has(frame.type) && slug === this.page.slug) client.handle(frame);
      else if (SIDEBAR_FRAMES.has(frame.type)) client.handleSidebar?.(frame);
      else if (frame.type === "error" && (slug === null || slug === this.page.slug)) {
        client.handle(frame);
      }
    } else if (client && SIDEBAR_FRAMES.has(frame.type)) {
      client.handleSidebar?.(frame);
    }
    this.emit(frame.type, frame);
  }

  onHello(frame) {
    this.socket.markLive();
    if (frame.me) this.me = { ...this.me, ...frame.me };
    this.rooms.reset(frame.rooms);
    if (this.page && !this.page.lost) this.sendView();
    this.emit("hello", frame);
  }

  /** Counts that crossed a newer event (two processes): fetch the rooms again. */
  refetchSoon() {
    if (this.staleTimer !== null || !this.roomsUrl) return;
    this.staleTimer = this.timers.setTimeout(async () => {
      this.staleTimer = null;
      try {
        const { rooms } = await this.api.get(this.roomsUrl);
        this.rooms.reset(rooms);
      } catch {
        // The next hello brings them; nothing else to do.
      }
    }, STALE_REFETCH_MS);
  }

  down() {
    if (this.page?.client && !this.page.lost) this.page.client.down();
    this.emit("down", { type: "down" });
  }

  stopped(code, verdict) {
    if (this.page?.client && !this.page.lost) this.page.client.stopped(code, verdict);
    this.emit("stopped", { type: "stopped", code, verdict });
  }

  reconnectNow() {
    this.socket.reconnectNow();
  }
}
