"""`Authorization: Bearer <token>` on the HTTP API (docs/protocol.md, "Tokens").

On the API's paths (/api/, and /files/ that messages link to) a Bearer token signs the
request in as the token's user: `request.user`, and `request.api_token`. Such a request
is exempt from the CSRF check, which protects cookies a browser sends on its own; no
browser sends this header on its own, and the session plays no part. A token that does
not sign in is answered 401 at once (the session is not tried instead); a read-only one
is answered 403 on anything but GET, HEAD and OPTIONS. Any other Authorization scheme,
or any other path, is left alone: the session applies, with its CSRF check.

After AuthenticationMiddleware (whose user it replaces); CsrfViewMiddleware, though
listed before, checks in process_view, which runs after every middleware has seen the
request.
"""

import logging

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.db import DatabaseError
from django.http import JsonResponse
from django.utils.decorators import sync_and_async_middleware

from chat.realtime.auth import READ_ONLY_DETAIL, parse_bearer

from .errors import error_response
from .services import token_authenticate

logger = logging.getLogger(__name__)

TOKEN_PATHS = ("/api/", "/files/")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
INVALID_DETAIL = "This token is unknown, revoked or expired."


def _bearer(request) -> str | None:
    if not request.path_info.startswith(TOKEN_PATHS):
        return None
    return parse_bearer(request.META.get("HTTP_AUTHORIZATION"))


def _sign_in(request, raw: str) -> JsonResponse | None:
    """Sign the request in with the token `raw`; return the refusal, if it is refused."""
    try:
        token = token_authenticate(raw)
    except DatabaseError as error:
        logger.warning("API token lookup failed: %s", error)
        return error_response("server_error", "The server could not do that; try again.", 500)
    if token is None:
        response = error_response("unauthenticated", INVALID_DETAIL, 401)
        response["WWW-Authenticate"] = "Bearer"
        return response
    if not token.may_write and request.method not in SAFE_METHODS:
        return error_response("forbidden", READ_ONLY_DETAIL, 403)
    user = token.user

    async def auser():
        return user

    request.user, request.auser, request.api_token = user, auser, token
    request._dont_enforce_csrf_checks = True
    return None


@sync_and_async_middleware
def bearer_token_middleware(get_response):
    """Sign in requests to the API that carry a Bearer token (see above)."""
    if iscoroutinefunction(get_response):

        async def middleware(request):
            request.api_token = None
            raw = _bearer(request)
            if raw is not None:
                refused = await sync_to_async(_sign_in)(request, raw)
                if refused is not None:
                    return refused
            return await get_response(request)

    else:

        def middleware(request):
            request.api_token = None
            raw = _bearer(request)
            if raw is not None:
                refused = _sign_in(request, raw)
                if refused is not None:
                    return refused
            return get_response(request)

    return middleware
