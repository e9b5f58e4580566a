// room_client.js: what the page does with each frame from the server, and with the end
// of the socket: it moves the stores (timeline, outbox, members) and tells the views.
// Every part is passed in, so node can drive it with the real stores and fake views.

import { mutedComposerText, mutedNoticeText } from "./members.js";
import { CLOSE_NOT_FOUND, closedReasonOutboxText, isMessage } from "./protocol.js";

// Why a room closed that leaves it listed: a public room lets the user back in (a
// private one goes by rooms.removed).
const SIDEBAR_KEEPS = new Set(["removed", "left"]);
const MUTE_END_MARGIN_MS = 25; // look again just after a mute ends, not just before

// What the page says when the server closed the room to us without saying why.
export const ROOM_GONE_TEXT = "This room no longer exists.";
export const NO_ACCESS_TEXT = "You no longer have access to this room.";
export const EDIT_UNCONFIRMED_TEXT =
  "The connection dropped before your edit was confirmed. If it does not show, edit again.";

export class RoomClient {
  /**
   * parts: {me, limits, timeline, gaps, members, socket, outbox, view, composer, typing,
   * rooms, membersView, status, goToLogin, formatUntil, timers, now}. Views:
   * - view: TimelineView; composer: Composer; typing: TypingIndicator;
   * - rooms: RoomsView; membersView: MembersView; status: StatusView.
   */
  constructor(parts) {
    Object.assign(this, { timers: globalThis, now: Date.now }, parts);
    this.muteTimer = null;
    this.closed = null; // why the room is lost to us, once it is
    // Authors missing from the member list, asked about once each: someone the server
    // does not list must not cost a request per message.
    this.askedAbout = new Set();
    this.handlers = {
      hello: (frame) => this.onHello(frame),
      sync: (frame) => this.onSync(frame),
      "message.new": (frame) => this.onMessageEvent(frame),
      "message.updated": (frame) => this.onMessageEvent(frame),
      "message.deleted": (frame) => this.onMessageEvent(frame),
      "message.reactions": (frame) => this.onMessageEvent(frame),
      presence: (frame) => this.onPresence(frame),
      typing: (frame) => this.onTyping(frame),
      "room.updated": (frame) => frame.room && this.applyRoom(frame.room),
      "rooms.updated": (frame) => this.rooms.updateSidebar(frame.room),
      "rooms.removed": (frame) => this.rooms.removeFromSidebar(frame.room),
      "member.updated": (frame) => this.onMemberUpdated(frame),
      "member.removed": (frame) => this.onMemberRemoved(frame),
      "room.closed": (frame) => this.onRoomClosed(frame),
      error: (frame) => this.onError(frame),
      pong: (frame) => this.onPong(frame),
    };
  }

  /**
   * A frame about the list of rooms, whatever room it is about (protocol 2): the sidebar
   * follows the rooms that appear and go.
   */
  handleSidebar(frame) {
    if (frame.type === "rooms.updated" || frame.type === "room.joined") {
      this.rooms.updateSidebar(frame.room);
    } else if (frame.type === "rooms.removed") {
      this.rooms.removeFromSidebar(frame.room);
    } else if (frame.type === "room.closed" && !SIDEBAR_KEEPS.has(frame.reason)) {
      this.rooms.removeFromSidebar({ slug: frame.room });
    }
  }

  /** Take one frame; unknown types are ignored (the protocol may grow new frames). */
  handle(frame) {
    if (Object.hasOwn(this.handlers, frame.type)) this.handlers[frame.type](frame);
  }

  // --- the room and my place in it --------------------------------------------------------

  applyRoom(room) {
    this.rooms.applyHeader(room);
    this.rooms.updateSidebar(room);
    this.setArchived(Boolean(room.archived));
  }

  setArchived(archived) {
    this.rooms.setArchived(archived);
    this.composer.setArchived(archived);
  }

  setOnline(usernames) {
    this.members.setOnline(usernames);
    this.membersView.render();
  }

  /**
   * Show my mute in the composer (and everyone's in the list), and look again when the
   * next one ends by itself.
   */
  refreshMutes() {
    this.timers.clearTimeout(this.muteTimer);
    this.muteTimer = null;
    const now = this.now();
    const { muted, until } = this.members.myMute(now);
    this.composer.setMuted(muted ? mutedComposerText(until, this.formatUntil) : null);
    this.membersView.render();
    const delay = this.members.nextExpiryDelay(now);
    if (delay !== null) {
      const wait = delay + MUTE_END_MARGIN_MS;
      this.muteTimer = this.timers.setTimeout(() => this.refreshMutes(), wait);
    }
  }

  /** My role or mute may have changed: redraw what depends on them. */
  myRightsChanged(couldModerate) {
    if (this.members.me.can_moderate !== couldModerate) {
      this.view.redrawActions();
      // Moderators are told who is banned; others are not: ask again.
      if (this.members.loaded) this.membersView.refresh();
    }
    this.refreshMutes();
  }

  /**
   * The room is lost to this user (banned, removed, made private, deleted): say so for
   * good, close the composer, and fail what is still waiting to be sent.
   */
  loseRoom(text, outboxText, reason) {
    this.closed = reason;
    this.stopTimers();
    this.status.markClosed(reason);
    this.status.setConnState("closed");
    this.status.showNotice(text, { sticky: true });
    this.composer.close(text);
    this.outbox.close(outboxText);
    this.typing.clear();
    this.membersView.setLive(false);
  }

  /** No socket will come again: stop what only a live room needs (sync, the mute's end). */
  stopTimers() {
    this.timers.clearTimeout(this.muteTimer);
    this.muteTimer = null;
    this.gaps.cancel();
  }

  /** The socket closed for good (socket.js's onStop). */
  stopped(code, verdict) {
    this.stopTimers();
    if (verdict.action === "login") {
      this.status.setConnState("offline");
      this.goToLogin();
    } else if (verdict.roomLost) {
      const reason = code === CLOSE_NOT_FOUND ? "gone" : "forbidden";
      this.loseRoom(verdict.text, verdict.outboxText, reason);
    } else {
      this.status.setConnState("offline");
      this.status.showNotice(verdict.text, { sticky: true });
      this.composer.close(verdict.text);
    }
  }

  /** The socket went away, for now or for good (socket.js's onDown). */
  down() {
    this.gaps.socketLost();
    this.typing.clear();
    this.membersView.setLive(false);
    // An edit not answered on this socket may never have reached the server, and nothing
    // resends edits: say so rather than leave it "saving" for ever (a sync shows it if
    // it was stored).
    if (this.view.hasSavingEdit()) {
      this.view.clearSaving();
      this.status.showNotice(EDIT_UNCONFIRMED_TEXT);
    }
  }

  // --- frames -------------------------------------------------------------------------------

  onHello(frame) {
    this.socket.markLive();
    const couldModerate = this.members.me.can_moderate;
    if (frame.me) this.members.setMe(frame.me);
    if (frame.limits?.body_max) this.limits.bodyMax = frame.limits.body_max;
    if (frame.limits?.frame_max) this.limits.frameMax = frame.limits.frame_max;
    if (frame.room) this.applyRoom(frame.room);
    this.membersView.setLive(true);
    this.setOnline(frame.online);
    // We connected with ?since=R; the sync frames that follow bring us to hello.rev.
    // Until they do we count as behind, so that if they never come, we ask.
    this.timeline.noteKnownRevision(frame.rev);
    this.gaps.watch();
    this.outbox.flush();
    this.composer.update();
    this.myRightsChanged(couldModerate);
    // A server that speaks of roles has the member list (older ones: the people online).
    if (frame.me && "role" in frame.me) this.membersView.refresh();
  }

  onSync(frame) {
    if (!Number.isInteger(frame.rev)) return;
    const { view } = this;
    const { result } = view.followingBottom(() =>
      this.timeline.applySync(frame, (msg) => view.apply(msg)),
    );
    if (!view.isAtBottom() && result.includes("inserted")) view.showNewPill();
    this.gaps.answered(frame);
  }

  onMessageEvent(frame) {
    const msg = frame.message;
    if (!isMessage(msg)) return;
    const { view } = this;
    const own = msg.author.id === this.me.id;
    const { result, wasAtBottom } = view.followingBottom(() => view.apply(msg));
    if (frame.type === "message.new") {
      // null: held below a window detached from the live end (timeline_window.js).
      if (own && result !== null) view.scrollToBottom();
      else if (result === "inserted" && !wasAtBottom) view.showNewPill();
      this.typing.set(msg.author.username, false);
      // A reader's first message made them a member: list them as one (moderators may
      // then act on them).
      if (this.members.isNewMember(msg.author) && !this.askedAbout.has(msg.author.id)) {
        this.askedAbout.add(msg.author.id);
        this.membersView.refresh();
      }
    }
    this.timeline.noteRevision(msg.rev);
    this.gaps.watch();
  }

  onPresence(frame) {
    this.setOnline(frame.online);
    if (frame.status === "offline") this.typing.set(frame.user, false);
  }

  onTyping(frame) {
    if (typeof frame.user !== "string" || frame.user === this.me.username) return;
    this.typing.set(frame.user, Boolean(frame.active));
  }

  // pong carries the room's revision: the only sign of a gap when the last live event
  // itself was lost and nothing has come after it.
  onPong(frame) {
    this.timeline.noteKnownRevision(frame.rev);
    this.gaps.watch();
  }

  onError(frame) {
    const entry = frame.client_id ? this.outbox.get(frame.client_id) : undefined;
    if (frame.code === "muted") {
      // Not stored, and not worth retrying: the composer closes until the mute ends.
      const until = typeof frame.until === "string" ? frame.until : null;
      const couldModerate = this.members.me.can_moderate;
      this.members.setMe({ muted: true, muted_until: until });
      this.myRightsChanged(couldModerate);
      const text = mutedNoticeText(until, this.formatUntil);
      if (entry) this.outbox.fail(entry, text);
      else this.view.clearSaving(); // a refused edit
      this.status.showNotice(text);
      return;
    }
    if (entry) {
      this.outbox.onError(entry, frame);
      return;
    }
    // sync requests are refused with rate_limited and retry_after too, without a
    // client_id: the watcher asks again when told. It is the reader's business only
    // when an edit of theirs may be the one refused.
    if (frame.code === "rate_limited" && !frame.client_id) {
      const ours = this.gaps.refused(Number(frame.retry_after));
      if (ours && !this.view.hasSavingEdit()) return;
    }
    // An edit or delete was refused, or similar: say why, and undo an edit's "saving".
    this.view.clearSaving();
    if (frame.client_id) return; // about a message this page no longer holds
    this.status.showNotice(frame.detail || "The server refused that.");
  }

  onMemberUpdated(frame) {
    const couldModerate = this.members.me.can_moderate;
    if (this.members.update(frame.member)) this.myRightsChanged(couldModerate);
    else this.membersView.render();
  }

  onMemberRemoved(frame) {
    this.members.remove(frame.user, frame.reason);
    this.membersView.render();
  }

  onRoomClosed(frame) {
    const reason = typeof frame.reason === "string" ? frame.reason : "closed";
    const fallback = reason === "deleted" ? ROOM_GONE_TEXT : NO_ACCESS_TEXT;
    const text = typeof frame.detail === "string" && frame.detail ? frame.detail : fallback;
    // The server closes the socket next (4403/4404): never reconnect, whatever the code.
    this.socket.finish("room.closed");
    this.loseRoom(text, closedReasonOutboxText(reason), reason);
  }
}
