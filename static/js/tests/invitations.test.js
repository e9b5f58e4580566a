import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { applyEvent, notificationLink } from "../chat/inbox.js";
import {
  answerInvitation,
  canInvite,
  invitationActionUrl,
  isPendingInvitation,
  linkRequest,
  linkSummary,
  usersSearchUrl,
} from "../chat/invitations.js";

const invitation = (id, status, read = false) => ({
  id,
  kind: "invitation",
  read,
  room: { slug: "secret", name: "Secret" },
  invitation: { id: 50 + id, status },
});

describe("who may invite (chat/policy.py's can_invite)", () => {
  test("moderators anywhere, members of a public room, nobody else", () => {
    assert.equal(canInvite({ role: "owner", can_moderate: true }, { private: true }), true);
    assert.equal(canInvite({ role: "member", can_moderate: false }, { private: true }), false);
    assert.equal(canInvite({ role: "member", can_moderate: false }, { private: false }), true);
    assert.equal(canInvite({ role: null, can_moderate: false }, { private: false }), false);
    assert.equal(canInvite({ role: null, staff: true, can_moderate: true }, { private: true }), true);
    assert.equal(canInvite(null, { private: false }), false);
  });
});

describe("invitations in the inbox", () => {
  test("only a pending invitation waits for an answer", () => {
    assert.equal(isPendingInvitation(invitation(1, "pending")), true);
    assert.equal(isPendingInvitation(invitation(1, "accepted", true)), false);
    assert.equal(isPendingInvitation({ id: 2, kind: "mention", invitation: null }), false);
  });

  test("notification.updated replaces the one held and adds none", () => {
    const start = { notifications: [invitation(3, "pending"), invitation(1, "pending")], unread: 2 };
    const answered = invitation(3, "accepted", true);
    const after = applyEvent(start, "notification.updated", { notification: answered, unread: 1 });
    assert.deepEqual(after.notifications, [answered, start.notifications[1]]);
    assert.equal(after.unread, 1);
    const other = applyEvent(start, "notification.updated", {
      notification: invitation(9, "declined", true),
      unread: 2,
    });
    assert.deepEqual(other.notifications, start.notifications);
  });

  test("an invitation leads to its room only once accepted", () => {
    const urls = { inboxUrl: "/notifications/", roomUrl: (slug) => `/rooms/${slug}/` };
    assert.equal(notificationLink(invitation(1, "pending"), urls), "/notifications/");
    assert.equal(notificationLink(invitation(1, "accepted", true), urls), "/rooms/secret/");
  });

  test("answering posts to the invitation's action; nothing else is an answer", async () => {
    const posted = [];
    const api = { post: async (url, body) => posted.push([url, body]) && { ok: true } };
    await answerInvitation(api, 7, "accept");
    await answerInvitation(api, 7, "decline");
    assert.deepEqual(posted, [
      ["/api/invitations/7/accept/", {}],
      ["/api/invitations/7/decline/", {}],
    ]);
    assert.throws(() => answerInvitation(api, 7, "revoke"));
    assert.equal(invitationActionUrl(7, "revoke"), "/api/invitations/7/revoke/");
    assert.equal(usersSearchUrl("b&o"), "/api/users/?q=b%26o");
  });
});

describe("invite links", () => {
  const now = Date.parse("2026-03-01T12:00:00Z");
  test("read as their uses and expiry", () => {
    const link = { uses: 2, max_uses: 10, expires_at: "2026-03-01T17:00:00Z" };
    assert.equal(linkSummary(link, now), "2 of 10 uses · expires in 5 h");
    assert.equal(linkSummary({ uses: 0, max_uses: null, expires_at: null }, now), "0 uses · never expires");
    assert.equal(linkSummary({ ...link, expires_at: "2026-03-01T11:00:00Z" }, now), "2 of 10 uses · expired");
    assert.equal(linkSummary({ ...link, expires_at: "2026-03-08T12:00:00Z" }, now), "2 of 10 uses · expires in 7 d");
  });

  test("the form's fields become the API's body; empty is no limit", () => {
    assert.deepEqual(linkRequest({ hours: "24", uses: "" }), {
      body: { expires_in_hours: 24, max_uses: null },
    });
    assert.deepEqual(linkRequest({ hours: "", uses: " 3 " }), {
      body: { expires_in_hours: null, max_uses: 3 },
    });
    assert.match(linkRequest({ hours: "1.5", uses: "" }).error, /Hours/);
    assert.match(linkRequest({ hours: "", uses: "0" }).error, /Uses/);
  });
});
