import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { Api, ApiError, csrfTokenFrom, memberActionUrl } from "../chat/api.js";

function fakeFetch(status, body, calls = []) {
  return async (url, init) => {
    calls.push([url, init]);
    return {
      ok: status >= 200 && status < 300,
      status,
      json: async () => {
        if (typeof body === "string") throw new SyntaxError("not JSON");
        return body;
      },
    };
  };
}

describe("csrfTokenFrom", () => {
  test("finds Django's cookie among others", () => {
    assert.equal(csrfTokenFrom("a=1; csrftoken=abc%3D; b=2"), "abc=");
    assert.equal(csrfTokenFrom("csrftoken=xyz"), "xyz");
    assert.equal(csrfTokenFrom("xcsrftoken=no; other=1"), null);
    assert.equal(csrfTokenFrom(""), null);
  });
});

describe("memberActionUrl", () => {
  test("escapes the username", () => {
    assert.equal(
      memberActionUrl("/api/rooms/general/members/", "bob", "ban"),
      "/api/rooms/general/members/bob/ban/",
    );
    assert.equal(
      memberActionUrl("/api/rooms/general/members/", "a+b@c.d", "mute"),
      "/api/rooms/general/members/a%2Bb%40c.d/mute/",
    );
  });
});

describe("Api", () => {
  test("POST sends JSON with the CSRF token, and returns the answer", async () => {
    const calls = [];
    const api = new Api({
      fetchImpl: fakeFetch(200, { member: null }, calls),
      csrfToken: () => "tok",
    });
    assert.deepEqual(await api.post("/x/", { minutes: 10 }), { member: null });
    const [url, init] = calls[0];
    assert.equal(url, "/x/");
    assert.equal(init.method, "POST");
    assert.equal(init.headers["X-CSRFToken"], "tok");
    assert.equal(init.headers["Content-Type"], "application/json");
    assert.equal(init.body, '{"minutes":10}');
    assert.equal(init.credentials, "same-origin");
  });

  test("an error answer becomes ApiError with the server's code and detail", async () => {
    const api = new Api({
      fetchImpl: fakeFetch(403, { error: { code: "forbidden", detail: "Owners only." } }),
    });
    await assert.rejects(api.post("/x/", {}), (error) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.status, 403);
      assert.equal(error.code, "forbidden");
      assert.equal(error.detail, "Owners only.");
      return true;
    });
  });

  test("an HTML error page still gives a readable detail", async () => {
    const api = new Api({ fetchImpl: fakeFetch(403, "<html>CSRF</html>") });
    await assert.rejects(api.post("/x/", {}), (error) => error.detail.includes("not allowed"));
    const broken = new Api({ fetchImpl: fakeFetch(502, "<html>") });
    await assert.rejects(broken.get("/x/"), (error) => error.detail.includes("502"));
  });

  test("a network failure is an ApiError too", async () => {
    const api = new Api({
      fetchImpl: async () => {
        throw new TypeError("Failed to fetch");
      },
    });
    await assert.rejects(api.get("/x/"), (error) => error.code === "network");
  });
});
