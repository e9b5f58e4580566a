import assert from "node:assert/strict";
import { test } from "node:test";

import { DirectOpener, directTitle, isDirect } from "../chat/direct_ui.js";

test("a conversation is called by the other people's names", () => {
  const room = { kind: "direct", members: [{ id: 2, username: "bob" }, { id: 3, username: "carol" }] };
  assert.equal(directTitle(room), "bob, carol");
  assert.equal(directTitle({ kind: "direct", members: [] }), "Only you");
  assert.ok(isDirect(room));
  assert.ok(!isDirect({ kind: "room" }));
});

test("opening posts the names and goes to the conversation's page", async () => {
  const posted = [];
  const visited = [];
  const api = {
    post: async (url, body) => {
      posted.push([url, body]);
      return { room: { slug: "dm-1", url: "/rooms/dm-1/" }, created: true };
    },
  };
  const opener = new DirectOpener({ api, url: "/api/direct/", navigate: (url) => visited.push(url) });
  await opener.open(["bob"]);
  assert.deepEqual(posted, [["/api/direct/", { usernames: ["bob"] }]]);
  assert.deepEqual(visited, ["/rooms/dm-1/"]);
});
