"""Which pages may open a WebSocket: only this site's own (cross-site WebSocket hijacking).

A browser sends the session cookie with any WebSocket handshake, whichever page opens
it, so the Origin header is what tells this site's pages from others. Cookies are not
isolated by port or scheme, so "this site" is the exact origin (scheme, host and port)
the handshake reached, as Django's CSRF check compares a form post's Origin, plus the
origins listed in CSRF_TRUSTED_ORIGINS.

A handshake that carries an API token (`Authorization: Bearer`) is not judged by its
Origin: no browser sends that header on its own, so no other site's page can borrow it,
and such a handshake is signed in by the token alone, never by the cookie (auth.py).
Bots and scripts, which send no Origin, connect that way.
"""

from typing import NamedTuple
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

from .auth import bearer_token

DEFAULT_PORTS = {"http": 80, "https": 443}


class Origin(NamedTuple):
    """A web origin with its port spelled out, so `http://h` equals `http://h:80`."""

    scheme: str
    host: str  # lowercase; an IPv6 address in brackets, as in a Host header
    port: int


def parse_origin(text: str | None) -> Origin | None:
    """Read an http(s) origin; None for anything else (no origin, "null", a path, a user)."""
    if not text or text == "null":
        return None
    try:
        parts = urlsplit(text)
        hostname, port = parts.hostname, parts.port  # .port raises on a malformed port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not hostname or "@" in parts.netloc:
        return None
    if parts.path not in {"", "/"} or parts.query or parts.fragment:
        return None
    host = f"[{hostname}]" if ":" in hostname else hostname
    return Origin(parts.scheme, host, DEFAULT_PORTS[parts.scheme] if port is None else port)


class _Handshake(HttpRequest):
    """A handshake seen as a Django request, to reuse Django's Host and proxy rules."""

    def __init__(self, scope):
        super().__init__()
        self._secure_socket = scope.get("scheme") == "wss"
        for name, value in scope.get("headers", []):
            name = name.decode("latin-1")
            if "_" in name:  # X_Forwarded_Proto must not pass for X-Forwarded-Proto
                continue
            key = "HTTP_" + name.upper().replace("-", "_")
            value = value.decode("latin-1")
            # Repeated headers are joined as Django's ASGI handler does; two Hosts then
            # fail host validation.
            self.META[key] = f"{self.META[key]},{value}" if key in self.META else value
        server = scope.get("server")
        if "HTTP_HOST" not in self.META and server:
            # What Django would fall back on (SERVER_NAME and SERVER_PORT), as a Host.
            address, port = server
            address = f"[{address}]" if ":" in address else address
            self.META["HTTP_HOST"] = f"{address}:{port}"

    def _get_scheme(self):
        return "https" if self._secure_socket else "http"

    def names_a_host(self) -> bool:
        forwarded = settings.USE_X_FORWARDED_HOST and "HTTP_X_FORWARDED_HOST" in self.META
        return forwarded or "HTTP_HOST" in self.META


def origin_allowed(origin: str | None, scope) -> bool:
    """Tell whether a handshake's Origin names a page of this site.

    Allowed: the site's own origin as the handshake reached it (the socket's scheme, the
    host and port of its Host header, which must be one of ALLOWED_HOSTS), and the
    origins of CSRF_TRUSTED_ORIGINS ("https://*.example.com" for every subdomain).
    Refused: anything else, including no Origin, "null", the same host on another port
    or scheme, and any http page when the site is secure (a downgraded or spoofed page).
    """
    page = parse_origin(origin)
    if page is None:
        return False
    handshake = _Handshake(scope)
    scheme = "https" if _secure(scope, handshake) else "http"
    if scheme == "https" and page.scheme != "https":
        return False
    if not handshake.names_a_host():
        # No browser gets here (browsers always send Host, and the servers refuse a
        # handshake without one): only in-process test communicators, judged by the Origin alone.
        return validate_host(page.host, settings.ALLOWED_HOSTS)
    try:
        domain, port = split_domain_port(handshake.get_host())
    except DisallowedHost:
        return False
    site = Origin(scheme, domain, int(port) if port else DEFAULT_PORTS[scheme])
    return page == site or _trusted(page)


def _secure(scope, handshake: _Handshake) -> bool:
    """Tell whether the site was reached over TLS, or serves only https pages."""
    # Behind a TLS proxy the socket arrives as ws, and SECURE_PROXY_SSL_HEADER (read by
    # Django's request.scheme) says what the browser used.
    return (
        scope.get("scheme") == "wss"
        or settings.CHAT_REQUIRE_HTTPS_ORIGIN
        or handshake.scheme == "https"
    )


def _trusted(page: Origin) -> bool:
    """Tell whether CSRF_TRUSTED_ORIGINS lists the page's origin, as Django's CSRF check."""
    for entry in settings.CSRF_TRUSTED_ORIGINS:
        trusted = parse_origin(entry)
        if trusted is None or (trusted.scheme, trusted.port) != (page.scheme, page.port):
            continue
        if trusted.host.startswith("*."):
            if is_same_domain(page.host, trusted.host[1:]):
                return True
        elif trusted.host == page.host:
            return True
    return False


class _Denier(WebsocketDenier):
    """channels' WebsocketDenier, without a receive on the channel layer: it hears nothing."""

    channel_layer_alias = None


class SameSiteOriginValidator:
    """ASGI middleware: deny (HTTP 403) a WebSocket handshake from another site's page;
    a handshake with an API token passes whatever its Origin (see above)."""

    # An ASGI 3 application, though __call__ is not a coroutine function: it returns the
    # application's own coroutine rather than awaiting it in a frame of its own, which
    # would stay suspended for as long as the socket is open.
    _asgi_single_callable = True

    def __init__(self, application):
        self.application = application

    def __call__(self, scope, receive, send):
        if bearer_token(scope) is not None:
            return self.application(scope, receive, send)
        origins = [value for name, value in scope.get("headers", []) if name == b"origin"]
        origin = origins[0].decode("latin-1") if len(origins) == 1 else None
        if origin_allowed(origin, scope):
            return self.application(scope, receive, send)
        return _Denier()(scope, receive, send)
