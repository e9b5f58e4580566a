// room.js: the live client of the room a page shows. app.js calls startRoom with the
// tab's connection (docs/protocol.md, protocol 2); this finds the page's elements,
// builds the parts in static/js/chat/ and wires them together; room_client.js says what
// happens on each frame of the room in view.
//
// The server renders the page with the latest messages, so the room reads without
// JavaScript. This takes the page over: it views the room on the tab's socket, keeps the
// timeline complete by revision, sends through an outbox that survives reconnects and
// reloads, shows presence, typing and the members, lets moderators act on them, moves
// the read marker as the reader sees messages, and shows where the new ones start.
//
// Rules kept throughout:
// - User-supplied text goes into the DOM with textContent only, never innerHTML.
// - Configuration comes from data- attributes on #room (no inline script: CSP).
// - Frames from a socket that is no longer the current one are ignored (socket.js).

import { Api, csrfTokenFrom } from "./chat/api.js";
import { DEFAULT_LIMITS } from "./chat/attachments.js";
import { AttachmentViewer } from "./chat/attachments_ui.js";
import { Composer } from "./chat/composer.js";
import { DirectForm, DirectOpener } from "./chat/direct_ui.js";
import { Members } from "./chat/members.js";
import { Jump } from "./chat/jump.js";
import { MembershipControls } from "./chat/leave_ui.js";
import { MembersView } from "./chat/members_ui.js";
import { MentionsUI } from "./chat/mentions_ui.js";
import { MessageActions } from "./chat/message_actions_ui.js";
import { Outbox } from "./chat/outbox.js";
import { OutboxView } from "./chat/outbox_ui.js";
import { ProfileCard } from "./chat/profile_card_ui.js";
import { syncFrame } from "./chat/protocol.js";
import { ReactionsView } from "./chat/reactions_ui.js";
import { RepliesView, ReplyBar } from "./chat/replies_ui.js";
import { formatUntil, toInt } from "./chat/render.js";
import { RoomClient } from "./chat/room_client.js";
import { ReadMarker } from "./chat/read_marker.js";
import { RoomPrefsView } from "./chat/room_prefs_ui.js";
import { RoomsView } from "./chat/rooms_ui.js";
import { StatusView } from "./chat/status_ui.js";
import { GapWatcher, Timeline } from "./chat/store.js";
import { InviteView } from "./chat/invite_ui.js";
import { TimelineView } from "./chat/timeline_ui.js";
import { TimelineWindow } from "./chat/timeline_window.js";
import { TimelineWindowView } from "./chat/timeline_window_ui.js";
import { TypingIndicator, typingText } from "./chat/typing.js";
import { UnreadView } from "./chat/unread_ui.js";
import { UploadsView } from "./chat/uploads_ui.js";

// The elements room.js needs, by their data-js name (ui.roomName for "room-name").
const ELEMENTS = [
  "room-name", "room-icon", "room-topic", "archived-badge", "conn-state", "online-count",
  "notice", "notice-text", "notice-close", "timeline", "load-earlier", "history-note",
  "messages", "outbox", "new-pill", "typing", "composer", "input", "counter", "send",
  "members-panel", "members-count", "members-close", "member-list", "banned-section",
  "banned-list", "unread-bar", "unread-text", "mark-read", "room-notify", "notify-level",
  "notify-muted", "room-leave", "join-bar", "join-room",
];

function readConfig(el) {
  const d = el.dataset;
  return {
    slug: d.roomSlug,
    rev: toInt(d.roomRev),
    url: d.roomUrl,
    me: { id: toInt(d.userId), username: d.username, staff: d.staff === "true" },
    wsPath: d.wsPath,
    apiUrl: d.apiUrl,
    membersUrl: d.membersUrl || "", // empty while the server has no members API
    loginUrl: d.loginUrl,
    hasMore: d.hasMore === "true",
    archived: d.archived === "true",
    limits: {
      bodyMax: toInt(d.bodyMax) || 4000,
      frameMax: toInt(d.frameMax) || 16384,
      ...uploadLimits({
        upload_max_bytes: toInt(d.uploadMax),
        upload_types: d.uploadTypes ? d.uploadTypes.split(",") : undefined,
        attachments_max: toInt(d.attachmentsMax),
      }),
    },
    uploadUrl: d.uploadUrl || "", // empty while the server takes no files
    mentionAllMax: d.mentionAllMax ? toInt(d.mentionAllMax) : null, // null: the server decides
  };
}

/**
 * The upload limits in the page's terms from the server's (hello's `limits`, or the
 * page's data- attributes): what is missing keeps its default.
 */
function uploadLimits(limits, base = DEFAULT_LIMITS) {
  const types = limits?.upload_types;
  return {
    uploadMax: limits?.upload_max_bytes || base.uploadMax,
    uploadTypes: Array.isArray(types)
      ? types.map((type) => String(type).trim()).filter(Boolean)
      : base.uploadTypes,
    attachmentsMax: limits?.attachments_max || base.attachmentsMax,
  };
}

// Where an upload not yet sent is dropped (docs/protocol.md, "Attachments").
const attachmentUrl = (id) => `/api/attachments/${encodeURIComponent(id)}/`;

function findElements(el) {
  const ui = {};
  for (const name of ELEMENTS) {
    const key = name.replace(/-(\w)/g, (_, letter) => letter.toUpperCase());
    ui[key] = el.querySelector(`[data-js="${name}"]`);
  }
  ui.sidebarRooms = el.querySelector(".sidebar-rooms");
  ui.sidebarDirect = el.querySelector(".sidebar-direct");
  return ui;
}

// sessionStorage may be missing or refuse access (storage disabled): the outbox then
// lives as long as the page.
function sessionStore() {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

function csrfToken() {
  return (
    csrfTokenFrom(document.cookie) ??
    document.querySelector("input[name=csrfmiddlewaretoken]")?.value ??
    null
  );
}

/** Redraw the messages of `user` shown under another display name (not one being edited). */
function renameAuthor(view, user) {
  const name = user.display_name;
  if (typeof name !== "string") return; // a server without display names
  for (const [id, shown] of view.views) {
    const msg = view.timeline.get(id);
    if (!msg || msg.author.id !== user.id || (msg.author.display_name ?? "") === name) continue;
    msg.author = { ...msg.author, display_name: name };
    if (!shown.editing) view.redraw(id);
  }
}

/** Take over the room page `root` (#room), on the tab's connection. */
export function startRoom(root, tab) {
  const cfg = readConfig(root);
  const ui = findElements(root);
  const goToLogin = () => {
    const next = window.location.pathname + window.location.search;
    window.location.assign(`${cfg.loginUrl}?next=${encodeURIComponent(next)}`);
  };

  // Stores.
  const timeline = new Timeline({ rev: cfg.rev, hasMore: cfg.hasMore });
  const members = new Members({ me: cfg.me });

  // The tab's connection, seen from this room: commands name it, frames about it come.
  const socket = tab.roomSocket();
  const send = (frame) => tab.send(frame);
  const gaps = new GapWatcher({ timeline, requestSync: (since) => send(syncFrame(since)) });

  // Views.
  const status = new StatusView({ root, ui });
  const showNotice = (text, options) => status.showNotice(text, options);
  const view = new TimelineView({
    ui,
    timeline,
    me: () => members.me,
    onSnapshot: (msg) => outbox.settle(msg, cfg.me.id),
    historyUrl: cfg.apiUrl,
    onUnauthenticated: goToLogin,
    showNotice,
    mentionName: (id) => members.byId.get(id)?.user.username,
  });
  // Which stretch of history is shown: the live end, or pages around a message far back.
  const historyApi = new Api({ csrfToken });
  const timelineWindow = new TimelineWindow({
    timeline,
    view,
    fetchPage: async (params) => {
      const url = new URL(cfg.apiUrl, window.location.href);
      for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
      try {
        return await historyApi.get(url);
      } catch (error) {
        if (error.status === 401) goToLogin();
        throw error;
      }
    },
    onChange: () => {
      windowView.render();
      unreadView.placeLine(); // its message may be drawn afresh by the pages
    },
  });
  const windowView = new TimelineWindowView({ ui, timelineWindow, showNotice });
  const messageActions = new MessageActions({
    view,
    send,
    showNotice,
    confirm: (question) => window.confirm(question),
  });
  const reactions = new ReactionsView({ list: ui.messages, send, showNotice });
  const replyBar = new ReplyBar({ composer: ui.composer, input: ui.input });
  const uploads = cfg.uploadUrl
    ? new UploadsView({
        composer: ui.composer,
        input: ui.input,
        dropArea: root.querySelector(".room-main"),
        dropParent: root.querySelector(".timeline-wrap"),
        limits: cfg.limits,
        uploadUrl: cfg.uploadUrl,
        deleteUrl: attachmentUrl,
        csrfToken,
        api: new Api({ csrfToken }),
        onChange: () => composer.update(),
      })
    : null;
  const composer = new Composer({
    ui,
    limits: cfg.limits,
    roomName: () => ui.roomName.textContent,
    send,
    onSubmit: (body, reply, files) => {
      outbox.queue(body, reply, files);
      // What is sent goes at the live end: back to it from a stretch of history.
      if (timelineWindow.detached) windowView.goToPresent();
      else view.scrollToBottom();
    },
    showNotice,
    mentions: new MentionsUI({ input: ui.input, members, mentionAllMax: cfg.mentionAllMax }),
    confirm: (question) => window.confirm(question),
    replyBar,
    attachments: uploads,
  });
  const outboxView = new OutboxView({
    list: ui.outbox,
    username: cfg.me.username,
    onEdit: (entry) => {
      // The entry goes only once the composer holds its text, or the text would be lost.
      if (composer.offer(entry.body, entry.reply, entry.attachments)) outbox.remove(entry);
      else if (composer.text()) showNotice("Send or clear your draft first, then edit this one.");
    },
    onDismiss: (entry) => outbox.remove(entry),
  });
  const outbox = new Outbox({
    slug: cfg.slug,
    send,
    storage: sessionStore(),
    onAdd: (entry) => outboxView.add(entry),
    onChange: (entry) => outboxView.draw(entry),
    onRemove: (entry) => outboxView.remove(entry),
  });
  const typing = new TypingIndicator({
    onChange: (names) => {
      ui.typing.textContent = typingText(names);
    },
  });
  // Every room's page is at the same place as this one's, with its own slug.
  const roomUrl = (slug) => cfg.url.replace(/[^/]+\/$/, `${encodeURIComponent(slug)}/`);
  const rooms = new RoomsView({ root, ui, roomUrl });
  // "Message" on a member, and the sidebar's "New message": a direct conversation.
  const directOpener = root.dataset.directUrl
    ? new DirectOpener({
        api: new Api({ csrfToken }),
        url: root.dataset.directUrl,
        navigate: (url) => window.location.assign(url),
      })
    : null;
  const membersView = new MembersView({
    ui: {
      panel: ui.membersPanel,
      list: ui.memberList,
      count: ui.membersCount,
      bannedSection: ui.bannedSection,
      bannedList: ui.bannedList,
      onlineCount: ui.onlineCount,
      toggle: ui.onlineCount,
      close: ui.membersClose,
    },
    members,
    api: new Api({ csrfToken }),
    membersUrl: cfg.membersUrl,
    showNotice,
    formatUntil,
    onLoad: () => view.redrawMentions(),
    openDirect: directOpener ? (username) => directOpener.open([username]) : null,
  });

  const client = new RoomClient({
    me: cfg.me,
    limits: cfg.limits,
    timeline,
    gaps,
    members,
    socket,
    outbox,
    view,
    composer,
    typing,
    rooms,
    membersView,
    status,
    goToLogin,
    formatUntil,
  });

  uploads?.listen(); // before the composer's first redraw, which may disable it
  outbox.restore(view.adoptServerRendered(cfg.slug));
  view.renderHistoryStatus();
  client.setArchived(cfg.archived);
  for (const part of [status, view, windowView, messageActions, reactions, composer, membersView]) {
    part.listen();
  }
  outboxView.listen(outbox);
  tab.on("state", (frame) => status.setConnState(frame.state));
  // The server's upload limits may have changed since the page was rendered.
  tab.on("hello", (frame) => {
    if (frame.limits) Object.assign(cfg.limits, uploadLimits(frame.limits, cfg.limits));
  });
  new AttachmentViewer().listen(ui.messages);
  // At the bottom of a detached window the reader has seen its messages, not the room's
  // newest (Timeline.revAtBottom); a window about to move shows nothing to count.
  const seenTimeline = {
    get rev() {
      return timelineWindow.moving ? null : timeline.revAtBottom();
    },
  };
  new ReadMarker({ tab, slug: cfg.slug, timeline: seenTimeline, ui }).listen();
  const unreadView = new UnreadView({ tab, slug: cfg.slug, ui });
  unreadView.listen();
  new RoomPrefsView({
    tab,
    slug: cfg.slug,
    ui: { root: ui.roomNotify, level: ui.notifyLevel, muted: ui.notifyMuted },
    showNotice,
  }).listen();
  new MembershipControls({
    tab,
    slug: cfg.slug,
    root,
    ui: { leave: ui.roomLeave, joinBar: ui.joinBar, join: ui.joinRoom },
    roomName: () => ui.roomName.textContent,
    confirm: (question) => window.confirm(question),
    navigate: (url) => window.location.assign(url),
    showNotice,
  }).listen();
  // A new display name shows on the person's messages at once, as in the member list.
  tab.on("member.updated", (frame) => {
    const user = frame.member?.user;
    if (frame.room === cfg.slug && user) renameAuthor(view, user);
  });
  // A person's name, in a message or the member list, opens their profile card.
  if (root.dataset.usersUrl) {
    new ProfileCard({
      api: new Api({ csrfToken }),
      usersUrl: root.dataset.usersUrl,
      openDirect: directOpener ? (username) => directOpener.open([username]) : null,
      navigate: (url) => window.location.assign(url),
      editUrl: root.dataset.profileSettingsUrl || null,
      currentSlug: cfg.slug,
    }).listen(root);
  }
  const directForm = root.querySelector('[data-js="direct-form"]');
  if (directOpener && directForm) {
    new DirectForm({
      ui: {
        toggle: root.querySelector('[data-js="direct-new"]'),
        form: directForm,
        input: root.querySelector('[data-js="direct-username"]'),
        suggestions: root.querySelector('[data-js="direct-suggestions"]'),
      },
      api: new Api({ csrfToken }),
      usersUrl: directForm.dataset.usersUrl,
      opener: directOpener,
      showNotice,
    }).listen();
  }
  const inviteRoot = root.querySelector('[data-js="invite"]');
  if (inviteRoot) {
    new InviteView({ tab, api: new Api({ csrfToken }), root: inviteRoot, slug: cfg.slug }).listen();
  }
  view.scrollToBottom();
  view.fillView();
  const jump = new Jump({ timelineWindow, ui, showNotice });
  jump.listen(); // a link to one message (#message-<id>, ?around=<id>)
  // A reply's quote jumps to its original; "Reply" starts one.
  new RepliesView({ list: ui.messages, timeline, bar: replyBar, jump, showNotice }).listen();
  // Frames of this room go to the client from now on; after every hello the tab views
  // the room again from the revision the page holds.
  tab.view(cfg.slug, { client, since: () => timeline.rev });
}
