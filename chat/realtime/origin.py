"""Which pages may open a WebSocket: only this site's own (cross-site WebSocket hijacking).

A browser sends the session cookie with any WebSocket handshake, whichever page opens
it, so the Origin header is what tells this site's pages from others.
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import validate_host


def origin_allowed(origin: str | None, *, secure_socket: bool) -> bool:
    """Tell whether a handshake's Origin names a page of this site.

    Refused: no Origin, "null" (sandboxed frames, files), a host outside ALLOWED_HOSTS
    (a sibling subdomain included, unless a ".domain" pattern allows it), and an http
    page opening a secure socket (a downgraded or spoofed page).
    """
    if not origin or origin == "null":
        return False
    try:
        parts = urlsplit(origin)
        hostname, _port = parts.hostname, parts.port  # .port raises on a malformed port
    except ValueError:
        return False
    if parts.scheme not in {"http", "https"} or not hostname:
        return False
    if (secure_socket or settings.CHAT_REQUIRE_HTTPS_ORIGIN) and parts.scheme != "https":
        return False
    if parts.path not in {"", "/"} or parts.query or parts.fragment or parts.username:
        return False
    host = f"[{hostname}]" if ":" in hostname else hostname
    return validate_host(host, settings.ALLOWED_HOSTS)


class SameSiteOriginValidator:
    """ASGI middleware: deny (HTTP 403) a WebSocket handshake from another site's page."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        origins = [value for name, value in scope.get("headers", []) if name == b"origin"]
        origin = origins[0].decode("latin-1") if len(origins) == 1 else None
        if origin_allowed(origin, secure_socket=scope.get("scheme") == "wss"):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
