"""The HTTP API (docs/protocol.md, "The HTTP API") over the standard library's urllib,
run in a thread so that the event loop never blocks. Errors become ApiError."""

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from .connection import Servers
from .errors import ApiError, AuthenticationError, ConnectionUnavailable


class _Unreachable(ConnectionUnavailable):
    """The server could not be reached at all (not an answer of it)."""


class HttpApi:
    """Requests to the current server; a request that cannot reach it is tried on the
    next, and so on, each server once (every request of this API may be repeated: a
    message send carries its client_id)."""

    def __init__(
        self,
        base_urls: Sequence[str],
        headers: Callable[[str], dict[str, str]],
        *,
        timeout: float = 15.0,
    ) -> None:
        self.servers = Servers([url.rstrip("/") for url in base_urls])
        self.headers = headers
        self.timeout = timeout

    @property
    def base_url(self) -> str:
        return self.servers.current

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Send a request; return (status, JSON body). Raise ApiError for a 4xx or 5xx."""
        if query:
            path += "?" + urlencode({k: v for k, v in query.items() if v is not None})
        servers = len(self.servers.urls)
        for tried in range(1, servers + 1):
            server = self.servers.current
            try:
                return await asyncio.to_thread(
                    self._request, method, server + path, body, self.headers(server)
                )
            except _Unreachable:
                self.servers.fail_over(server)
                if tried == servers:
                    raise
        raise AssertionError("unreachable: the last try raises")

    def _request(
        self, method: str, url: str, body: dict[str, Any] | None, headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json", **headers}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"not an http(s) URL: {url}")
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 (checked above)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return response.status, _json(response.read())
        except urllib.error.HTTPError as error:
            raise _api_error(error.code, _json(error.read()), error.headers) from None
        except (urllib.error.URLError, OSError, TimeoutError) as error:
            raise _Unreachable(f"{method} {url}: {error}") from error

    # --- endpoints ----------------------------------------------------------------------

    async def rooms(self) -> list[dict[str, Any]]:
        _, data = await self.request("GET", "/api/rooms/")
        return list(data.get("rooms") or [])

    async def messages_page(
        self, slug: str, *, before: int | None = None, limit: int = 50
    ) -> dict[str, Any]:
        _, data = await self.request(
            "GET", f"/api/rooms/{quote(slug)}/messages/", query={"before": before, "limit": limit}
        )
        return data

    async def since(self, slug: str, rev: int) -> dict[str, Any]:
        _, data = await self.request(
            "GET", f"/api/rooms/{quote(slug)}/messages/", query={"since": rev}
        )
        return data

    async def send(
        self, slug: str, body: str, *, client_id: str, reply_to: int | None = None
    ) -> tuple[bool, dict[str, Any]]:
        """Post a message; return (created now, the stored message)."""
        payload: dict[str, Any] = {"client_id": client_id, "body": body}
        if reply_to is not None:
            payload["reply_to"] = reply_to
        status, data = await self.request(
            "POST", f"/api/rooms/{quote(slug)}/messages/", body=payload
        )
        return status == 201, data["message"]

    async def mark_read(self, slug: str, rev: int) -> dict[str, Any]:
        _, data = await self.request("POST", f"/api/rooms/{quote(slug)}/read/", body={"rev": rev})
        return dict(data.get("room") or {})

    async def search(self, q: str, *, before: int | None = None, limit: int = 20) -> dict[str, Any]:
        _, data = await self.request(
            "GET", "/api/search/", query={"q": q, "before": before, "limit": limit}
        )
        return data

    async def react(self, slug: str, message_id: int, emoji: str, *, add: bool) -> dict[str, Any]:
        path = f"/api/rooms/{quote(slug)}/messages/{message_id}/reactions/{quote(emoji, safe='')}/"
        _, data = await self.request("PUT" if add else "DELETE", path)
        return dict(data.get("message") or {})


def _json(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _api_error(status: int, data: dict[str, Any], headers: Any) -> ApiError | Exception:
    found = data.get("error")
    error: dict[str, Any] = found if isinstance(found, dict) else {}
    code = str(error.get("code") or "http_error")
    detail = str(error.get("detail") or f"HTTP {status}")
    if status == 401:
        return AuthenticationError(4401, detail)
    if status >= 500:
        return ConnectionUnavailable(f"the server answered {status}: {detail}")
    retry_after = error.get("retry_after")
    return ApiError(status, code, detail, retry_after=retry_after)
