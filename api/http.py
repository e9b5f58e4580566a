"""The HTTP API as one django-ninja NinjaAPI (docs/protocol.md, "The HTTP API").

Each area's views module has its Router; this module mounts them, says how a request
signs in (a Bearer token or the session), and maps what goes wrong onto the documented
error body `{"error": {"code", "detail", ...}}` in one place. Its OpenAPI schema is
served at /api/schema/ and a browsable page at /api/docs/.

The operations' URLs are mounted by each app's urls.py under the names they always had
(`chat:api_rooms`, `notifications:api_notifications`, ...), through `routes()`. Ninja
marks its views CSRF-exempt and leaves the check to a cookie auth class; ours are not:
Django's CsrfViewMiddleware checks a session's unsafe requests exactly as it checks any
page's, and api/middleware.py has already lifted the check for a Bearer token's.
"""

import functools
import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import DatabaseError
from django.urls import URLPattern, path, register_converter
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.urls import get_openapi_urls, get_root_url
from ninja.parser import Parser
from ninja.security import APIKeyCookie, HttpBearer

from chat import (
    errors,
    views_attachments,
    views_direct,
    views_invitations,
    views_people,
    views_reactions,
    views_search,
)
from chat import views as chat_views
from chat.models import SLUG_PATTERN
from chat.realtime import protocol
from chat.realtime.frames_in import decode_request_body
from chat.realtime.protocol import BAD_FRAME, BAD_JSON, TOO_LONG
from notifications import views as notification_views

from .errors import error_response, error_response_from
from .schemas import declared_length_too_long

logger = logging.getLogger(__name__)

UNAUTHENTICATED_DETAIL = "Log in first, or send an API token."


# --- path converters: the URLs' own patterns, so a malformed part is a 404 as before ---


class _PatternConverter:
    regex = ""

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value) -> str:
        return str(value)


class RoomSlugConverter(_PatternConverter):
    regex = SLUG_PATTERN


class UsernameConverter(_PatternConverter):
    regex = r"[\w.@+-]{1,150}"


class ActionConverter(_PatternConverter):
    regex = r"[a-z]{1,20}"


class EmojiConverter(_PatternConverter):
    # Percent-encoded in the path (views_reactions.py); Django has decoded it.
    regex = r"[^/]{1,32}"


class MessageIdConverter(_PatternConverter):
    regex = r"[0-9]{1,16}"


register_converter(RoomSlugConverter, "room")
register_converter(UsernameConverter, "username")
register_converter(ActionConverter, "action")
register_converter(EmojiConverter, "emoji")
register_converter(MessageIdConverter, "message_id")


# --- signing in: api/middleware.py and Django's session have already done it --------


class BearerToken(HttpBearer):
    """`Authorization: Bearer <token>` (a personal API token, docs/protocol.md "Tokens")."""

    def __call__(self, request):
        # api/middleware.py signed the request in and answered a bad token already.
        return request.user if getattr(request, "api_token", None) is not None else None

    def authenticate(self, request, token):  # pragma: no cover - __call__ decides
        return None


class SessionCookie(APIKeyCookie):
    """The browser's session cookie; its unsafe requests need the CSRF token
    (X-CSRFToken), which Django's CsrfViewMiddleware checks before the view."""

    param_name = settings.SESSION_COOKIE_NAME

    def __call__(self, request):
        user = request.user
        return user if user.is_authenticated else None

    def authenticate(self, request, key):  # pragma: no cover - __call__ decides
        return None


class ProtocolParser(Parser):
    """Read a JSON body by a frame's rules: its size, strict JSON, bounded nesting."""

    def parse_body(self, request):
        return decode_request_body(request.body)


api = NinjaAPI(
    parser=ProtocolParser(),
    title="Chat HTTP API",
    version="1",
    description="The HTTP API of docs/protocol.md. Errors are "
    '`{"error": {"code": ..., "detail": ...}}` with the status the code documents.',
    urls_namespace="ninja_api",
    openapi_url="/schema/",
    docs_url="/docs/",
    docs=Swagger(settings={"persistAuthorization": False}),
    auth=[BearerToken(), SessionCookie()],
)

api.add_router("", chat_views.rooms_router)
api.add_router("", chat_views.members_router)
api.add_router("", chat_views.directory_router)
api.add_router("", views_reactions.router)
api.add_router("", views_attachments.router)
api.add_router("", views_invitations.router)
api.add_router("", views_direct.router)
api.add_router("", views_people.router)
api.add_router("", views_search.router)
api.add_router("", notification_views.router)


# --- errors: the documented body, whatever raised it --------------------------------


@api.exception_handler(errors.ChatError)
def _chat_error(request, error):
    return error_response_from(error)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, error):
    response = error_response("unauthenticated", UNAUTHENTICATED_DETAIL, 401)
    # A 401 names how to authenticate (RFC 9110): the session, or a Bearer token.
    response["WWW-Authenticate"] = "Bearer"
    return response


# Where ninja says a parameter came from, and our views' names for the body and query.
PARAMETER_PLACES = ("body", "payload", "query", "path")


@api.exception_handler(ValidationError)
def _invalid(request, error):
    problem = error.errors[0] if error.errors else {}
    where = [str(part) for part in problem.get("loc", ()) if part not in PARAMETER_PLACES]
    # No body at all where one is required: no bytes are not JSON (docs/protocol.md).
    if problem.get("type") in ("json_invalid", "missing") and not where:
        return error_response(BAD_JSON, "The request body is not valid JSON.")
    # The field's whole path: 'usernames.0', not '0'.
    name = ".".join(where) or "body"
    return error_response(BAD_FRAME, f"'{name}': {problem.get('msg', 'invalid')}.")


@api.exception_handler(HttpError)
def _http_error(request, error):
    # Ninja wraps what the parser raised ("Cannot parse request body"); answer the cause.
    if isinstance(error.__cause__, errors.ChatError):
        return error_response_from(error.__cause__)
    if error.status_code == 400 and "json" in str(error).lower():
        return error_response(BAD_JSON, "The request body is not valid JSON.")
    return error_response(BAD_FRAME, str(error), error.status_code)


@api.exception_handler(RequestDataTooBig)
def _too_big(request, error):
    return error_response(TOO_LONG, f"Requests are limited to {settings.CHAT_FRAME_MAX} bytes.")


@api.exception_handler(TooManyFieldsSent)
def _too_many_fields(request, error):
    return error_response(BAD_FRAME, "Too many query parameters.")


@api.exception_handler(DatabaseError)
def _database_error(request, error):
    # Never a half-done answer: the client resends by client_id.
    logger.warning("API request %s failed: %s", request.path, error)
    return error_response(protocol.SERVER_ERROR, "The server could not do that; try again.", 500)


# --- URLs ----------------------------------------------------------------------------


def _csrf_checked(view):
    """Return `view` without ninja's csrf_exempt mark (see the module's docstring), and
    refusing a JSON body by its declared length before it is read."""

    def checked(request, *args, **kwargs):
        json_body = not request.content_type.startswith("multipart/")
        if json_body and declared_length_too_long(request):
            detail = f"Requests are limited to {settings.CHAT_FRAME_MAX} bytes."
            return error_response(TOO_LONG, detail)
        return view(request, *args, **kwargs)

    # Not functools.wraps: it would copy the csrf_exempt attribute too.
    return functools.update_wrapper(checked, view, updated=())


@functools.cache
def _operation_patterns() -> dict[str, URLPattern]:
    patterns, _app, _namespace = api.urls
    return {pattern.name: pattern for pattern in patterns if isinstance(pattern, URLPattern)}


def routes(*names: str) -> list[URLPattern]:
    """Return the URL patterns of the operations `names`, to mount under /api/."""
    found = _operation_patterns()
    return [
        path(f"api/{found[name].pattern}", _csrf_checked(found[name].callback), name=name)
        for name in names
    ]


def schema_urls():
    """Return the URLs of the schema, its page and the API's root, for myproject/urls.py."""
    return ([*get_openapi_urls(api), get_root_url(api)], "ninja", api.urls_namespace)
