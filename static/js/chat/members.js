// members.js: who is in the room, their roles and mutes, who is online, and what I may
// do to whom. The server is the judge of every action; this only mirrors its rules to
// hide what it would refuse. Pure: no DOM, no window; the clock is passed in.

export const ROLE_LABELS = { owner: "Owner", moderator: "Moderator", member: "Member" };
const ROLE_ORDER = { owner: 0, moderator: 1, member: 2 };

export const MUTE_CHOICES = [
  { minutes: 10, label: "Mute 10 minutes" },
  { minutes: 60, label: "Mute 1 hour" },
  { minutes: 24 * 60, label: "Mute 1 day" },
  { minutes: null, label: "Mute until unmuted" },
];

// setTimeout fires at once past 2^31 - 1 ms (24.8 days), and a mute may last a year:
// wait at most a day, then look again.
export const LONGEST_WAIT_MS = 24 * 60 * 60 * 1000;

/** Order members as the server does: owners, moderators, members, then by username. */
export function compareMembers(a, b) {
  const byRole = (ROLE_ORDER[a.role] ?? 3) - (ROLE_ORDER[b.role] ?? 3);
  if (byRole) return byRole;
  const [x, y] = [a.user.username, b.user.username];
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Tell whether a member (or me) is muted at `now`: muted_until null means until unmuted. */
export function isMuted(member, now) {
  if (!member?.muted) return false;
  if (!member.muted_until) return true;
  const until = Date.parse(member.muted_until);
  return Number.isNaN(until) || until > now;
}

/** The composer's words for a mute: "You are muted until 14:05." */
export function mutedComposerText(until, formatTime) {
  return until ? `You are muted until ${formatTime(until)}.` : "You are muted in this room.";
}

/** The notice after a refused send: "You are muted in this room (until 14:05)." */
export function mutedNoticeText(until, formatTime) {
  return until
    ? `You are muted in this room (until ${formatTime(until)}).`
    : "You are muted in this room.";
}

export class Members {
  /** me: {id, username, staff} until hello says more. */
  constructor({ me }) {
    this.me = {
      id: me.id,
      username: me.username,
      staff: Boolean(me.staff),
      role: null,
      muted: false,
      muted_until: null,
      can_moderate: Boolean(me.staff),
      can_manage_roles: Boolean(me.staff),
    };
    this.byId = new Map(); // user id -> {user, role, muted, muted_until}
    this.banned = null; // [{user}] for those who may see it, else null
    this.online = []; // usernames with a socket open in the room
    this.loaded = false; // the member list came from the server (else only `online` is known)
  }

  /** Take hello.me or the API's me; fields the server left out keep what they were. */
  setMe(me) {
    if (!me) return;
    const keys = ["role", "muted", "muted_until", "staff", "can_moderate", "can_manage_roles"];
    for (const key of keys) if (key in me) this.me[key] = me[key];
    // An older server says nothing of roles: staff may still moderate.
    if (!("can_moderate" in me)) this.me.can_moderate = this.derivedCanModerate();
    if (!("can_manage_roles" in me)) this.me.can_manage_roles = this.derivedCanManageRoles();
  }

  derivedCanModerate() {
    return this.me.staff || this.me.role === "owner" || this.me.role === "moderator";
  }

  derivedCanManageRoles() {
    return this.me.staff || this.me.role === "owner";
  }

  /** Take the answer of GET members/: {members, banned?, me}. */
  load(data) {
    this.byId.clear();
    for (const member of Array.isArray(data?.members) ? data.members : []) {
      if (member?.user) this.byId.set(member.user.id, normalise(member));
    }
    this.banned = Array.isArray(data?.banned) ? data.banned.filter((b) => b?.user) : null;
    if (data?.me) this.setMe(data.me);
    this.loaded = true;
  }

  /** Take the online list (usernames). */
  setOnline(usernames) {
    this.online = Array.isArray(usernames) ? usernames.filter((u) => typeof u === "string") : [];
  }

  /**
   * Tell whether the author of a new message is missing from a loaded member list: a
   * reader's first message in a public room makes them a member, with no frame to say so.
   */
  isNewMember(user) {
    return this.loaded && Boolean(user) && !this.byId.has(user.id);
  }

  /** Take member.updated (or an action's answer); return whether it is about me. */
  update(member) {
    if (!member?.user) return false;
    const fresh = normalise(member);
    if (this.loaded) this.byId.set(fresh.user.id, fresh);
    if (this.banned) this.banned = this.banned.filter((b) => b.user.id !== fresh.user.id);
    if (fresh.user.id !== this.me.id) return false;
    this.me.role = fresh.role;
    this.me.muted = fresh.muted;
    this.me.muted_until = fresh.muted_until;
    this.me.can_moderate = this.derivedCanModerate();
    this.me.can_manage_roles = this.derivedCanManageRoles();
    return true;
  }

  /** Take member.removed: the user left the room (removed or banned). */
  remove(user, reason) {
    if (!user) return;
    this.byId.delete(user.id);
    if (reason === "banned" && this.banned && !this.banned.some((b) => b.user.id === user.id)) {
      this.banned = [...this.banned, { user }];
    }
  }

  /** Take an unban: the user is no longer in the banned list. */
  unbanned(user) {
    if (this.banned) this.banned = this.banned.filter((b) => b.user.id !== user.id);
  }

  /**
   * The people to show, in order, each {user, role, muted, muted_until, online, isMe}:
   * the members, then those online who are not (readers of a public room who have not
   * posted: role null, and no id, since presence names people by username). Before the
   * member list has come (or from a server without it), only the people online.
   */
  list() {
    const online = new Set(this.online);
    const members = this.loaded ? [...this.byId.values()].sort(compareMembers) : [];
    const listed = new Set(members.map((member) => member.user.username));
    const readers = this.online
      .filter((username) => !listed.has(username))
      .map((username) => ({ user: { id: null, username }, role: null }))
      .sort(compareMembers);
    return [...members, ...readers].map((member) => ({
      ...member,
      online: online.has(member.user.username),
      isMe: member.user.username === this.me.username,
    }));
  }

  /** Mirror the server's rules: nobody acts on themselves; moderators on members only;
   * owners on anyone but owners; staff on anyone. */
  mayActOn(member) {
    if (!member?.user || member.user.id === null || member.user.id === this.me.id) return false;
    if (!this.me.can_moderate) return false;
    if (this.me.staff) return true;
    if (this.me.role === "owner") return member.role !== "owner";
    if (this.me.role === "moderator") return member.role === "member";
    return false;
  }

  /** The actions I may take on a member: [{action, body, label}] (action is the URL's). */
  actionsFor(member, now) {
    if (!this.mayActOn(member)) return [];
    const actions = isMuted(member, now)
      ? [{ action: "unmute", body: {}, label: "Unmute" }]
      : MUTE_CHOICES.map(({ minutes, label }) => ({ action: "mute", body: { minutes }, label }));
    actions.push(
      { action: "remove", body: {}, label: "Remove from room", asksReason: true },
      { action: "ban", body: {}, label: "Ban", asksReason: true },
    );
    if (this.me.can_manage_roles) {
      for (const role of ["moderator", "member"]) {
        if (member.role !== role) {
          actions.push({ action: "role", body: { role }, label: `Make ${role}` });
        }
      }
    }
    return actions;
  }

  mayUnban() {
    return this.me.can_moderate;
  }

  /** My mute now: {muted, until}, until an ISO time or null (until unmuted). */
  myMute(now) {
    const muted = isMuted(this.me, now);
    return { muted, until: muted ? this.me.muted_until : null };
  }

  /** Milliseconds until the next mute shown here ends by itself, or null for none. */
  nextExpiryDelay(now) {
    let next = null;
    for (const member of [this.me, ...this.byId.values()]) {
      if (!isMuted(member, now) || !member.muted_until) continue;
      const until = Date.parse(member.muted_until);
      if (next === null || until < next) next = until;
    }
    return next === null ? null : Math.min(LONGEST_WAIT_MS, Math.max(0, next - now));
  }
}

function normalise(member) {
  return {
    user: {
      id: member.user.id,
      username: String(member.user.username ?? ""),
      display_name: String(member.user.display_name ?? ""),
    },
    role: member.role ?? "member",
    muted: Boolean(member.muted),
    muted_until: member.muted ? (member.muted_until ?? null) : null,
  };
}
