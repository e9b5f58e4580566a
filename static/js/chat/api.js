// api.js: JSON over HTTP with the page's session (docs/protocol.md, "The HTTP API").
// Errors come back as ApiError with the server's code and detail. Pure apart from the
// fetch and the cookie string, both passed in.

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

/** Read Django's CSRF token from a cookie string ("a=1; csrftoken=…"), or null. */
export function csrfTokenFrom(cookies) {
  for (const part of String(cookies ?? "").split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === "csrftoken") return decodeURIComponent(value.join("="));
  }
  return null;
}

/** The URL of a moderation action on a member: <members>/<username>/<action>/. */
export function memberActionUrl(membersUrl, username, action) {
  return `${membersUrl}${encodeURIComponent(username)}/${action}/`;
}

export class Api {
  /** csrfToken() -> string|null: read when posting, since Django may rotate it. */
  constructor({ fetchImpl = (...args) => globalThis.fetch(...args), csrfToken = () => null }) {
    this.fetch = fetchImpl;
    this.csrfToken = csrfToken;
  }

  get(url) {
    return this.request(url, { method: "GET" });
  }

  post(url, body) {
    const headers = { "Content-Type": "application/json" };
    const token = this.csrfToken();
    if (token) headers["X-CSRFToken"] = token;
    return this.request(url, { method: "POST", headers, body: JSON.stringify(body ?? {}) });
  }

  async request(url, { headers = {}, ...init }) {
    let response;
    try {
      response = await this.fetch(url, {
        ...init,
        headers: { Accept: "application/json", ...headers },
        credentials: "same-origin",
      });
    } catch {
      throw new ApiError(0, "network", "Could not reach the server; try again.");
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null; // Django's HTML pages (a CSRF failure, a bad slug's 404)
    }
    if (response.ok) return data;
    const error = data?.error;
    const detail =
      error?.detail ||
      (response.status === 403
        ? "That is not allowed (try reloading the page)."
        : `The server answered ${response.status}.`);
    throw new ApiError(response.status, error?.code || "http", detail);
  }
}
