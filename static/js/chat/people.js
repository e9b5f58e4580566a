// people.js: how the page names a person. Every user record the server sends carries
// `display_name` ("" when the person chose none) beside the `username`; people are shown
// by the first and told apart (and mentioned) by the second. Pure: no DOM.

/** The name to show for a user: their display name, else their username. */
export function displayName(user) {
  const chosen = typeof user?.display_name === "string" ? user.display_name.trim() : "";
  return chosen || String(user?.username ?? "");
}

/** Whether a user has a display name of their own (so "@username" tells more). */
export function hasDisplayName(user) {
  return displayName(user) !== String(user?.username ?? "");
}

/** "@username": how people are mentioned, and told apart when two share a name. */
export function handle(user) {
  return `@${user?.username ?? ""}`;
}

/** One line for a person where there is room for both: "Alice Liddell (@alice)", or "@alice". */
export function nameWithHandle(user) {
  return hasDisplayName(user) ? `${displayName(user)} (${handle(user)})` : handle(user);
}

/** A list of people as the server titles a direct conversation: "Alice Liddell, bob". */
export function namesList(users) {
  return (users ?? []).map(displayName).join(", ");
}

/** The API address of a person's profile card: GET <usersUrl><username>/. */
export function profileUrl(usersUrl, username) {
  return `${usersUrl}${encodeURIComponent(username)}/`;
}

const joinedDate = new Intl.DateTimeFormat(undefined, { dateStyle: "long" });

/** "Joined 2 March 2026", or "" when the date is missing or not a date. */
export function joinedText(iso, formatDate = (date) => joinedDate.format(date)) {
  const date = new Date(iso ?? "");
  return Number.isNaN(date.getTime()) ? "" : `Joined ${formatDate(date)}`;
}

/**
 * What a profile card shows, from the answer of GET /api/users/<username>/:
 * {username, name, handle, showHandle, staff, joined, rooms: [{label, url, current}],
 * message: {username, url} | null, editUrl: string | null}.
 *
 * `message.url` is the existing conversation's page (null: it is made on the way).
 * Nobody messages themselves, and the conversation in view needs no button to reach it;
 * only one's own card offers `editUrl`.
 */
export function profileCardModel(answer, { currentSlug = null, editUrl = null, formatDate } = {}) {
  const user = answer?.user ?? {};
  const isSelf = Boolean(answer?.is_self);
  const direct = answer?.direct ?? null;
  const rooms = Array.isArray(answer?.rooms_in_common) ? answer.rooms_in_common : [];
  return {
    username: String(user.username ?? ""),
    name: displayName(user),
    handle: handle(user),
    staff: Boolean(user.staff),
    joined: joinedText(user.date_joined, formatDate),
    rooms: rooms
      .filter((room) => typeof room?.url === "string" && typeof room.name === "string")
      .map((room) => ({
        label: `#${room.name}`,
        url: room.url,
        current: room.slug === currentSlug,
      })),
    message:
      isSelf || (direct && direct.slug === currentSlug)
        ? null
        : { username: String(user.username ?? ""), url: direct?.url ?? null },
    editUrl: isSelf ? editUrl : null,
  };
}

// How far a card keeps from what it opened from, and from the window's edges (px).
const CARD_GAP = 6;
const CARD_MARGIN = 8;

/**
 * Where a card of `size` ({width, height}) goes for a name at `anchor` (a DOMRect-like
 * {top, bottom, left}) in a `viewport` ({width, height}): below the name, or above it when
 * there is no room below, and never past the window's edges. Returns {top, left} (px).
 */
export function cardPosition(anchor, size, viewport) {
  const below = anchor.bottom + CARD_GAP;
  const above = anchor.top - CARD_GAP - size.height;
  const fitsBelow = below + size.height <= viewport.height - CARD_MARGIN;
  const top = fitsBelow || above < CARD_MARGIN ? below : above;
  const widest = viewport.width - size.width - CARD_MARGIN;
  const left = Math.max(CARD_MARGIN, Math.min(anchor.left, widest));
  return {
    top: Math.max(CARD_MARGIN, Math.min(top, viewport.height - size.height - CARD_MARGIN)),
    left,
  };
}
