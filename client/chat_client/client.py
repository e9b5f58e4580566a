"""The client: HTTP API calls, and rooms followed over their sockets."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .backoff import Backoff
from .connection import server_url, socket_base
from .errors import ConnectionUnavailable
from .events import Message
from .http import HttpApi
from .outbox import new_client_id
from .room import AttemptObserver, FrameObserver, Room


@dataclass
class Settings:
    """How the client keeps its sockets alive (seconds)."""

    # A ping after this long without a frame; no answer within pong_timeout: dead.
    ping_interval: float = 20.0
    pong_timeout: float = 10.0
    open_timeout: float = 10.0
    # How long a gap in revisions may last before asking for a sync (frames of two server
    # processes may cross on the way).
    gap_wait: float = 1.0
    # A socket up this long resets the backoff.
    stable_after: float = 10.0
    backoff: Backoff = field(default_factory=Backoff)
    # False: a room stops (ConnectionUnavailable) when its socket closes or cannot be
    # opened, instead of connecting again.
    reconnect: bool = True


@dataclass(frozen=True)
class SearchResult:
    message: Message
    room: dict[str, Any]
    highlight: str


class Client:
    """Talk to a chat server at `url` (e.g. http://127.0.0.1:8000) as one person.

    `url` may be a list: the processes of one deployment with no balancer in front.
    Sockets and HTTP requests go to the first, and move on to the next, round-robin,
    when one cannot be reached.

    Sign in with an API token (`token=`, made on /settings/tokens/) or a browser
    session (`session_cookie=`, the `sessionid` cookie; HTTP writes then also need
    `csrf_token=`, the `csrftoken` cookie)."""

    def __init__(
        self,
        url: str | Sequence[str],
        *,
        token: str | None = None,
        session_cookie: str | None = None,
        csrf_token: str | None = None,
        settings: Settings | None = None,
        http_timeout: float = 15.0,
    ) -> None:
        if (token is None) == (session_cookie is None):
            raise ValueError("Give either token= or session_cookie=.")
        self.urls = [server_url(one) for one in ([url] if isinstance(url, str) else url)]
        if not self.urls:
            raise ValueError("Give at least one server URL.")
        self.url = self.urls[0]
        self.ws_base = socket_base(self.url)
        self.token = token
        self.session_cookie = session_cookie
        self.csrf_token = csrf_token
        self.settings = settings or Settings()
        self.http = HttpApi(self.urls, self._http_headers, timeout=http_timeout)

    # --- credentials --------------------------------------------------------------------

    def _http_headers(self, server: str) -> dict[str, str]:
        if self.token is not None:
            return {"Authorization": f"Bearer {self.token}"}
        cookies = [f"sessionid={self.session_cookie}"]
        # Django's CSRF check wants a page of the very server the request reaches.
        headers = {"Origin": server, "Referer": server + "/"}
        if self.csrf_token:
            cookies.append(f"csrftoken={self.csrf_token}")
            headers["X-CSRFToken"] = self.csrf_token
        headers["Cookie"] = "; ".join(cookies)
        return headers

    def socket_headers(self, server: str | None = None) -> dict[str, str]:
        """Headers of a socket handshake to `server` (default: the first): the token, or
        the cookie and an Origin of that server (the socket refuses any other)."""
        if self.token is not None:
            return {"Authorization": f"Bearer {self.token}"}
        return {"Cookie": f"sessionid={self.session_cookie}", "Origin": server or self.url}

    # --- HTTP ---------------------------------------------------------------------------

    async def rooms(self) -> list[dict[str, Any]]:
        """Return the rooms the caller is a member of (GET /api/rooms/)."""
        return await self.http.rooms()

    async def history_pages(
        self, slug: str, *, before: int | None = None, page_size: int = 50
    ) -> AsyncIterator[list[Message]]:
        """Yield pages of a room's history going back in time, each oldest first."""
        while True:
            page = await self.http.messages_page(slug, before=before, limit=page_size)
            messages = [Message.from_json(data) for data in page.get("messages") or []]
            if messages:
                yield messages
            if not page.get("has_more") or not messages:
                return
            before = messages[0].id

    async def history(
        self, slug: str, *, limit: int | None = None, before: int | None = None
    ) -> AsyncIterator[Message]:
        """Yield a room's messages newest first, at most `limit` of them."""
        count = 0
        page_size = min(100, limit) if limit else 100
        async for page in self.history_pages(slug, before=before, page_size=page_size):
            for message in reversed(page):
                if limit is not None and count >= limit:
                    return
                count += 1
                yield message

    async def send(
        self,
        slug: str,
        body: str,
        *,
        client_id: str | None = None,
        reply_to: int | None = None,
        attempts: int = 5,
    ) -> Message:
        """Send over HTTP; return the stored message. A server unreachable or failing
        (5xx) is retried with the same client_id, so the message is stored once."""
        client_id = client_id or new_client_id()
        for attempt in range(attempts):
            try:
                _, data = await self.http.send(slug, body, client_id=client_id, reply_to=reply_to)
                return Message.from_json(data)
            except ConnectionUnavailable:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(self.settings.backoff.delay(attempt))
        raise AssertionError("unreachable")

    async def mark_read(self, slug: str, rev: int) -> dict[str, Any]:
        """Move the read marker of a room forward to `rev`; return the room's counts."""
        return await self.http.mark_read(slug, rev)

    async def react(self, slug: str, message_id: int, emoji: str, *, add: bool = True) -> Message:
        """Add (or take back) a reaction over HTTP; return the message as it now is."""
        return Message.from_json(await self.http.react(slug, message_id, emoji, add=add))

    async def search(self, query: str, *, limit: int | None = None) -> AsyncIterator[SearchResult]:
        """Yield the messages matching `query`, newest first, page after page."""
        before: int | None = None
        count = 0
        while True:
            page = await self.http.search(query, before=before, limit=20)
            for result in page.get("results") or []:
                if limit is not None and count >= limit:
                    return
                count += 1
                yield SearchResult(
                    message=Message.from_json(result["message"]),
                    room=dict(result.get("room") or {}),
                    highlight=str(result.get("highlight") or ""),
                )
            before = page.get("next")
            if before is None:
                return

    # --- live ---------------------------------------------------------------------------

    def room(
        self,
        slug: str,
        *,
        since: int | None = None,
        on_frame: FrameObserver | None = None,
        on_attempt: AttemptObserver | None = None,
    ) -> Room:
        """Follow a room: `async with client.room("general") as room: async for event in room`.

        Without `since` the events start from now; with it, from after that revision.
        `on_frame(direction, frame)` sees every frame "received" and "sent", and
        `on_attempt(attempt)` how each connection attempt ended (for logs)."""
        return Room(self, slug, since=since, on_frame=on_frame, on_attempt=on_attempt)
