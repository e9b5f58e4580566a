import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { PendingInvitations, pendingAfter } from "../chat/invitations.js";

const invitation = (id, status = "pending", invitee = `user${id}`) => ({
  id,
  room: { slug: "hideout", name: "Hideout" },
  inviter: { id: 1, username: "alice" },
  invitee: { id: 100 + id, username: invitee },
  status,
});

const ids = (list) => list.map((item) => item.id);

describe("a room's pending invitations after an invitation.updated", () => {
  test("a new pending invitation takes its place, newest first", () => {
    const list = [invitation(9), invitation(4)];
    assert.deepEqual(ids(pendingAfter(list, invitation(12))), [12, 9, 4]);
    assert.deepEqual(ids(pendingAfter(list, invitation(6))), [9, 6, 4]);
    assert.deepEqual(ids(pendingAfter(list, invitation(2))), [9, 4, 2]);
    assert.deepEqual(ids(pendingAfter([], invitation(2))), [2]);
    assert.deepEqual(ids(list), [9, 4], "the list given is left unchanged");
  });

  test("accepted, declined and revoked invitations leave the list", () => {
    const list = [invitation(9), invitation(6), invitation(4)];
    assert.deepEqual(ids(pendingAfter(list, invitation(6, "accepted"))), [9, 4]);
    assert.deepEqual(ids(pendingAfter(list, invitation(9, "declined"))), [6, 4]);
    assert.deepEqual(ids(pendingAfter(list, invitation(4, "revoked"))), [9, 6]);
    // One the list never held: nothing to take out, nothing added.
    assert.deepEqual(ids(pendingAfter(list, invitation(5, "revoked"))), [9, 6, 4]);
  });

  test("one already held is replaced where it is, never twice", () => {
    const list = [invitation(9), invitation(6, "pending", "bob")];
    const renamed = invitation(6, "pending", "robert");
    const after = pendingAfter(list, renamed);
    assert.deepEqual(ids(after), [9, 6]);
    assert.equal(after[1].invitee.username, "robert");
  });
});

describe("PendingInvitations", () => {
  test("frames before the first fetch draw nothing; after it they keep the list", () => {
    const pending = new PendingInvitations();
    assert.equal(pending.apply(invitation(3)), false);
    assert.equal(pending.loaded, false);
    assert.deepEqual(pending.list(), []);
    pending.fetching();
    pending.reset([invitation(5)]);
    assert.equal(pending.apply(invitation(7)), true);
    assert.equal(pending.apply(invitation(5, "accepted")), true);
    assert.deepEqual(ids(pending.list()), [7]);
  });

  test("a change heard while a fetch is on its way is applied to its answer", () => {
    const pending = new PendingInvitations();
    pending.fetching();
    // The fetch read the list before 5 was revoked and before 8 was made.
    pending.apply(invitation(5, "revoked"));
    pending.apply(invitation(8));
    pending.reset([invitation(5), invitation(2)]);
    assert.deepEqual(ids(pending.list()), [8, 2]);
    // Once answered, an old change is not applied to the next fetch's answer.
    pending.fetching();
    pending.reset([invitation(5), invitation(2)]);
    assert.deepEqual(ids(pending.list()), [5, 2]);
  });

  test("overlapping fetches each get what was heard while any was on its way", () => {
    const pending = new PendingInvitations();
    pending.fetching();
    pending.apply(invitation(6));
    pending.fetching();
    pending.reset([invitation(2)]);
    assert.deepEqual(ids(pending.list()), [6, 2]);
    pending.apply(invitation(2, "declined"));
    pending.reset([invitation(6), invitation(2)]); // the second read before the decline
    assert.deepEqual(ids(pending.list()), [6]);
  });

  test("a failed fetch keeps the list and stops collecting", () => {
    const pending = new PendingInvitations();
    pending.fetching();
    pending.reset([invitation(4)]);
    pending.fetching();
    pending.apply(invitation(9));
    pending.failed();
    assert.deepEqual(ids(pending.list()), [9, 4]);
    assert.equal(pending.heard, null);
  });
});
