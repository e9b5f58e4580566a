// invitations.js: invitations and invite links as data (docs/protocol.md,
// "Invitations"): who may invite, the URLs of the API, answering an invitation, how a
// link reads, and a room's pending invitations kept live. invite_ui.js (the room's
// dialog), bell_ui.js and inbox_page.js (the Accept and Decline buttons) draw from it.
// Pure apart from the Api passed in.

export const MY_INVITATIONS_URL = "/api/invitations/";
export const USERS_URL = "/api/users/";

/** The URL of an action on an invitation: accept, decline or revoke. */
export function invitationActionUrl(invitationId, action) {
  return `${MY_INVITATIONS_URL}${encodeURIComponent(invitationId)}/${action}/`;
}

export function inviteLinkRevokeUrl(linkId) {
  return `/api/invite-links/${encodeURIComponent(linkId)}/revoke/`;
}

export function usersSearchUrl(prefix) {
  return `${USERS_URL}?q=${encodeURIComponent(prefix)}`;
}

/**
 * Whether `me` (the view frame's me: role, can_moderate) may invite into a room: those
 * who moderate it (staff too), or any member of a public room (chat/policy.py).
 */
export function canInvite(me, room) {
  if (!me) return false;
  if (me.can_moderate) return true;
  return Boolean(room && !room.private && me.role);
}

/** Whether a notification is an invitation still waiting for its answer. */
export function isPendingInvitation(notification) {
  return notification?.kind === "invitation" && notification.invitation?.status === "pending";
}

/**
 * Accept or decline an invitation; resolve with the server's answer (accepting gives
 * {invitation, room: {slug, url}}). Rejects with the ApiError of a refusal.
 */
export function answerInvitation(api, invitationId, action) {
  if (action !== "accept" && action !== "decline") {
    throw new Error(`not an answer: ${action}`);
  }
  return api.post(invitationActionUrl(invitationId, action), {});
}

const HOUR_MS = 3_600_000;

/** How an invite link reads: "2 of 10 uses · expires in 5 h", "no limit". */
export function linkSummary(link, now = Date.now()) {
  const parts = [];
  parts.push(link.max_uses == null ? `${link.uses} uses` : `${link.uses} of ${link.max_uses} uses`);
  if (link.expires_at) {
    const left = Date.parse(link.expires_at) - now;
    if (left <= 0) parts.push("expired");
    else if (left < HOUR_MS) parts.push("expires within the hour");
    else if (left < 48 * HOUR_MS) parts.push(`expires in ${Math.round(left / HOUR_MS)} h`);
    else parts.push(`expires in ${Math.round(left / (24 * HOUR_MS))} d`);
  } else {
    parts.push("never expires");
  }
  return parts.join(" · ");
}

/** The numbers a link form holds ("" is no limit) as the API's body, or an error text. */
export function linkRequest({ hours, uses }) {
  const parse = (value, name) => {
    const text = String(value ?? "").trim();
    if (text === "") return null;
    const number = Number(text);
    if (!Number.isInteger(number) || number < 1) throw new Error(`${name} must be a whole number above 0.`);
    return number;
  };
  try {
    return { body: { expires_in_hours: parse(hours, "Hours"), max_uses: parse(uses, "Uses") } };
  } catch (error) {
    return { error: error.message };
  }
}

/**
 * A room's pending invitations after one of them changed (an `invitation.updated`
 * frame's `invitation`): a pending one is added in its place (newest first, by id) or
 * replaced; an accepted, declined or revoked one leaves. `list` is left unchanged.
 */
export function pendingAfter(list, invitation) {
  const others = list.filter((item) => item.id !== invitation.id);
  if (invitation.status !== "pending") return others;
  if (others.length < list.length) {
    return list.map((item) => (item.id === invitation.id ? invitation : item));
  }
  const at = others.findIndex((item) => item.id < invitation.id);
  return at === -1 ? [...others, invitation] : [...others.slice(0, at), invitation, ...others.slice(at)];
}

/**
 * The pending invitations of one room, as its invite dialog shows them: fetched with
 * GET /api/rooms/<slug>/invitations/, then kept by `invitation.updated` frames. A frame
 * heard while a fetch is on its way is applied to the fetch's answer too, which may
 * have been read before that change.
 */
export class PendingInvitations {
  constructor() {
    this.items = null; // null until a fetch answered
    this.heard = null; // the changes heard while fetches are on their way
    this.fetches = 0;
  }

  get loaded() {
    return this.items !== null;
  }

  list() {
    return this.items ?? [];
  }

  /** A fetch of the list starts. */
  fetching() {
    if (this.fetches++ === 0) this.heard = [];
  }

  /** A fetch answered with the room's pending invitations (newest first). */
  reset(invitations) {
    let items = [...invitations];
    for (const invitation of this.heard ?? []) items = pendingAfter(items, invitation);
    this.items = items;
    this.fetchDone();
  }

  /** A fetch failed: the list stays as it was. */
  failed() {
    this.fetchDone();
  }

  fetchDone() {
    this.fetches = Math.max(0, this.fetches - 1);
    if (this.fetches === 0) this.heard = null;
  }

  /** An invitation of the room changed; return whether the list is to be drawn again. */
  apply(invitation) {
    this.heard?.push(invitation);
    if (this.items === null) return false;
    this.items = pendingAfter(this.items, invitation);
    return true;
  }
}
