"""WebSocket authentication: an API token (`Authorization: Bearer`) or the Django session,
tolerant of a database outage.

A handshake to one of the chat's own sockets that carries a Bearer token is signed in by
that token alone: its cookie is never read, so a bad token is a signed-out socket, not a
fall back on the session. Tokens come only from the header, never from the URL (URLs are
kept in logs). The app that keeps tokens (api) registers how they are read
(set_token_authority), so that chat depends on no such app.
"""

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from channels import auth as channels_auth
from channels.db import database_sync_to_async
from channels.sessions import InstanceSessionWrapper, SessionMiddleware
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError
from django.http import parse_cookie

logger = logging.getLogger(__name__)

AUTH_UNAVAILABLE = "chat.auth_unavailable"
# The API token that signed the socket in, in its scope; absent when the session did.
API_TOKEN = "chat.api_token"
# What a read-only token is told when it tries to change something (HTTP and sockets).
READ_ONLY_DETAIL = "This token may only read."

# The chat's sockets, the only ones a token opens: the tab socket (/ws/) and the room
# sockets (/ws/rooms/<slug>/). Any other (the staff dashboard) is for the session alone.
TOKEN_SOCKET_PATH = re.compile(r"\A/ws/(?:rooms/[^/]+/)?\Z")


@dataclass(frozen=True)
class TokenAuthority:
    """How tokens are read. `authenticate(raw)` returns the token (with `pk`, `user`,
    `may_write` and `expires_at`) or None; `live(ids)` returns those of `ids` that still
    sign their user in. Both are synchronous and use the database."""

    authenticate: Callable[[str], Any]
    live: Callable[[set[int]], set[int]]


_authority: TokenAuthority | None = None


def set_token_authority(authority: TokenAuthority | None) -> None:
    """Register how tokens are read (done by the api app when it is ready)."""
    global _authority
    _authority = authority


def token_authority() -> TokenAuthority | None:
    return _authority


def parse_bearer(value: str | None) -> str | None:
    """Return the token of an `Authorization` header's value, or None unless its scheme
    is Bearer (another scheme is not ours to read). An empty token is "" (refused)."""
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


def bearer_token(scope) -> str | None:
    """Return the Bearer token of a handshake to a chat socket; None when it has none.

    Only a single `Authorization` header counts: with none, two, or another scheme the
    session signs the socket in, and the Origin check applies (origin.py).
    """
    if scope.get("type") != "websocket" or not TOKEN_SOCKET_PATH.match(scope.get("path", "")):
        return None
    values = [value for name, value in scope.get("headers", []) if name == b"authorization"]
    if len(values) != 1:
        return None
    return parse_bearer(values[0].decode("latin-1"))


def _authenticate(raw: str):
    return None if _authority is None else _authority.authenticate(raw)


async def resolve_user(scope) -> None:
    """Set scope["user"], from the Bearer token when there is one, else the session;
    when the database is down, mark the scope instead of raising.

    A handshake that reaches the consumer can be closed with a code that tells the
    client to come back (4503); an exception here would be a bare HTTP 500.
    """
    raw = bearer_token(scope)
    try:
        if raw is None:
            scope["user"] = await channels_auth.get_user(scope)
            return
        token = await database_sync_to_async(_authenticate)(raw)
        scope["user"] = AnonymousUser() if token is None else token.user
        scope[API_TOKEN] = token
    except DatabaseError:
        logger.warning("Session lookup failed; the socket will be told to retry.")
        scope["user"] = AnonymousUser()
        scope[AUTH_UNAVAILABLE] = True


def _cookies(scope) -> dict[str, str]:
    """Return the handshake's cookies, as channels' CookieMiddleware reads them."""
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            return parse_cookie(value.decode("latin1"))
    return {}


class SocketAuthMiddleware:
    """Put the cookies, the session and the user (resolve_user) in a socket's scope, as
    channels' AuthMiddlewareStack does, in one step.

    channels' stack is three middlewares, each copying the scope and each suspended in
    its `await` for as long as the socket is open: here one frame, and its copy of the
    scope is handed on rather than kept. The session and the user are there themselves,
    not behind lazy objects: they are resolved before anything reads them. The session
    keeps its key, not the data read to sign the user in (read again if anything asks:
    a socket never writes its session). `send` is not wrapped: see
    WebSocketSessionMiddleware.
    """

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        return await self.inner(await self.signed_in(scope), receive, send)

    async def signed_in(self, scope) -> dict:
        """Return a copy of the scope with its cookies, session and user."""
        cookies = _cookies(scope)
        store_class = import_module(settings.SESSION_ENGINE).SessionStore
        session = store_class(cookies.get(settings.SESSION_COOKIE_NAME))
        scope = dict(scope, cookies=cookies, session=session)
        await resolve_user(scope)
        scope["session"] = store_class(session.session_key)
        return scope


class WebSocketSessionMiddleware(SessionMiddleware):
    """Put the session in the scope, as SessionMiddleware, without wrapping `send`.

    channels' wrapper saves a modified session when an HTTP response starts; a WebSocket
    never sets a cookie, yet the wrapper inspects the session on every frame sent: three
    lazy-object lookups per frame per socket.
    """

    async def __call__(self, scope, receive, send):
        wrapper = InstanceSessionWrapper(scope, send)
        await wrapper.resolve_session()
        return await self.inner(wrapper.scope, receive, send)


def ResilientAuthMiddlewareStack(inner):
    """Cookies, session and user, as AuthMiddlewareStack, but surviving a database outage
    and signing in the bearer of an API token."""
    return SocketAuthMiddleware(inner)
