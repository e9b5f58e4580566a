"""WebSocket authentication from the Django session, tolerant of a database outage."""

import logging

from channels.auth import AuthMiddleware
from channels.sessions import CookieMiddleware, SessionMiddleware
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


def ResilientAuthMiddlewareStack(inner):
    """Cookies, session and user, as AuthMiddlewareStack, but surviving a database outage."""
    return CookieMiddleware(SessionMiddleware(ResilientAuthMiddleware(inner)))
