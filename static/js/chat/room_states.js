// room_states.js: the user's rooms as a tab knows them (revision, read marker, unread
// and mention counts, role, notification settings), from hello's snapshot and the
// frames that follow. An exact port of chat/snapshot.py, the reference the server's
// tests hold it to: a snapshot with the events applied equals a fresh fetch.
//
// Counts are never computed here from scratch: the server sends them in the snapshot
// and with each read marker's move; a message event moves them by the same rules the
// server counts rows with (not mine, created after the marker, not deleted).

const MESSAGE_KINDS = new Set([
  "message.new", "message.updated", "message.deleted", "message.reactions",
]);

/** Whether a message mentions `me` (by name, or @room; @here names those online). */
export function mentionsMe(message, me) {
  return message.mention_all === "room" || (message.mentions ?? []).includes(me);
}

function clone(value) {
  return structuredClone(value);
}

/** Return the rooms (by slug) after one frame; `rooms` is left unchanged. */
export function applyFrame(rooms, frame, me) {
  const next = clone(rooms);
  const kind = frame.type;
  if (MESSAGE_KINDS.has(kind)) {
    const message = frame.message;
    const room = next[message?.room];
    if (room && message.rev > room.rev) applyMessage(room, kind, message, me);
  } else if (kind === "room.read") {
    const read = frame.room;
    const room = next[read?.slug];
    if (room && read.rev >= room.rev) Object.assign(room, read);
    else if (room) {
      // Counts older than messages already applied (two server processes crossed):
      // keep the marker, and fetch this room's state again.
      room.last_read_rev = Math.max(room.last_read_rev, read.last_read_rev);
      room.stale = true;
    }
  } else if (kind === "member.updated" && frame.member?.user) {
    const room = next[frame.room];
    const user = frame.member.user;
    if (room && user.id === me) room.role = frame.member.role;
    else if (room?.members) {
      // A conversation is called by its people's names: someone took a new one.
      room.members = room.members.map((member) => (member.id === user.id ? user : member));
    }
  } else if (kind === "member.removed" && frame.user?.id === me) {
    delete next[frame.room];
  } else if (kind === "rooms.removed") {
    delete next[frame.room?.slug];
  } else if (kind === "room.joined") {
    next[frame.room.slug] = frame.room;
  } else if (kind === "room.closed") {
    delete next[frame.room];
  } else if (kind === "preferences.updated") {
    for (const changed of frame.rooms ?? []) {
      if (next[changed.slug]) next[changed.slug].notify = changed.notify;
    }
  } else if (kind === "room.updated" || kind === "rooms.updated") {
    const room = next[frame.room?.slug];
    if (room) {
      for (const key of ["name", "topic", "private", "archived"]) {
        if (key in frame.room) room[key] = frame.room[key];
      }
    }
  } else {
    return rooms;
  }
  return next;
}

function applyMessage(room, kind, message, me) {
  room.rev = message.rev;
  if (kind === "message.reactions") return; // the revision only: never unread, never a mention
  const counts = message.author.id !== me && message.created_rev > room.last_read_rev;
  const mentioned = room.unread_mentions;
  const at = mentioned.indexOf(message.id);
  if (kind === "message.deleted") {
    if (counts) room.unread -= 1;
    if (at !== -1) mentioned.splice(at, 1);
  } else if (counts) {
    if (kind === "message.new") room.unread += 1;
    if (mentionsMe(message, me) && at === -1) {
      mentioned.push(message.id);
      mentioned.sort((a, b) => a - b);
    } else if (!mentionsMe(message, me) && at !== -1) {
      mentioned.splice(at, 1);
    }
  }
  room.mentions = mentioned.length;
}

/** The frames that can change a room state (the others pass by). */
export const ROOM_STATE_FRAMES = new Set([
  ...MESSAGE_KINDS, "room.read", "member.updated", "member.removed", "rooms.removed",
  "room.joined", "room.closed", "preferences.updated", "room.updated", "rooms.updated",
]);

export class RoomStates {
  constructor({ me }) {
    this.me = me;
    this.rooms = {};
    this.listeners = new Set();
  }

  /** Replace everything with a snapshot (hello, or a fresh GET /api/rooms/). */
  reset(list) {
    this.rooms = Object.fromEntries((list ?? []).map((room) => [room.slug, clone(room)]));
    this.changed(null);
  }

  /** Add the rooms of a `rooms` frame: the rest of a hello too large for one frame. */
  add(list) {
    for (const room of list ?? []) this.rooms[room.slug] = clone(room);
    this.changed(null);
  }

  /** Apply a frame; return the slug whose state changed (or null, or undefined if none). */
  apply(frame) {
    if (!ROOM_STATE_FRAMES.has(frame.type)) return undefined;
    const before = this.rooms;
    this.rooms = applyFrame(before, frame, this.me.id);
    if (this.rooms === before) return undefined;
    const slug = frameSlug(frame);
    this.changed(slug);
    return slug;
  }

  get(slug) {
    return this.rooms[slug];
  }

  all() {
    return Object.values(this.rooms);
  }

  /** Slugs of rooms whose counts may be out of date (see room.read). */
  stale() {
    return this.all().filter((room) => room.stale).map((room) => room.slug);
  }

  /** Unread messages in rooms that are not muted: the number in the tab's title. */
  totalUnread() {
    let total = 0;
    for (const room of this.all()) if (!room.notify?.muted) total += room.unread;
    return total;
  }

  onChange(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  changed(slug) {
    for (const fn of [...this.listeners]) fn(slug);
  }
}

/** The slug of the room a protocol 2 frame is about, or null. */
export function frameSlug(frame) {
  if (typeof frame.room === "string") return frame.room;
  if (typeof frame.room?.slug === "string") return frame.room.slug;
  if (typeof frame.message?.room === "string") return frame.message.room;
  return null;
}
