"""WebSocket authentication from the Django session, tolerant of a database outage."""

import logging

from channels.auth import AuthMiddleware
from channels.sessions import CookieMiddleware, InstanceSessionWrapper, SessionMiddleware
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError

logger = logging.getLogger(__name__)

AUTH_UNAVAILABLE = "chat.auth_unavailable"


class ResilientAuthMiddleware(AuthMiddleware):
    """Resolve scope["user"]; when the database is down, mark the scope instead of raising.

    A handshake that reaches the consumer can be closed with a code that tells the
    client to come back (4503); an exception here would be a bare HTTP 500.
    """

    async def resolve_scope(self, scope):
        try:
            await super().resolve_scope(scope)
        except DatabaseError:
            logger.warning("Session lookup failed; the socket will be told to retry.")
            scope["user"]._wrapped = AnonymousUser()
            scope[AUTH_UNAVAILABLE] = True


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
    """Cookies, session and user, as AuthMiddlewareStack, but surviving a database outage."""
    return CookieMiddleware(WebSocketSessionMiddleware(ResilientAuthMiddleware(inner)))
