"""Writes of API tokens: make one, revoke one, sign a request in with one."""

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from chat import errors, events, ratelimit

from .models import TOKEN_NAME_MAX, ApiToken
from .selectors import active_tokens

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "chat_"
# Shown in lists: "chat_" and 7 characters of the random part.
PREFIX_LENGTH = 12
# Longer than any token this site makes ("chat_" and 43 characters): not worth hashing.
TOKEN_LENGTH_MAX = 128
# last_used_at is written at most this often per token, not on every request.
LAST_USED_PRECISION = timedelta(minutes=1)


class TooManyTokens(errors.ChatError):
    """A person already holds API_TOKENS_PER_USER tokens that still sign in."""

    code = "too_many_tokens"


def key_hash(raw: str) -> str:
    """Return the hash a token is kept and looked up by."""
    return hashlib.sha256(raw.encode()).hexdigest()


def _clean_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise errors.Empty("Give the token a name, to know it by later.")
    name = name.strip()
    if len(name) > TOKEN_NAME_MAX:
        raise errors.TooLong(f"A token's name is limited to {TOKEN_NAME_MAX} characters.")
    return name


def _clean_scope(scope) -> str:
    if scope not in ApiToken.Scope.values:
        raise errors.Invalid('The scope must be "read" or "write".')
    return scope


@transaction.atomic
def token_create(
    *, user, name: str, scope: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Make a token for `user`; return it and its text, which is never kept nor shown again.

    Refused: a bad name or scope, an expiry not in the future, more than
    API_TOKENS_PER_USER tokens that still sign in, and too many made lately.
    """
    name, scope = _clean_name(name), _clean_scope(scope)
    if expires_at is not None and expires_at <= timezone.now():
        raise errors.Invalid("The expiry must be in the future.")
    if active_tokens(user=user).count() >= settings.API_TOKENS_PER_USER:
        raise TooManyTokens(
            f"You have {settings.API_TOKENS_PER_USER} tokens already: revoke one first."
        )
    ratelimit.require_token(
        key=f"api-token-create:{user.pk}",
        capacity=settings.API_TOKEN_CREATES,
        period=settings.API_TOKEN_CREATES_PERIOD,
        refusal="You have made many tokens lately; try again in {wait}.",
    )
    return issue_token(user=user, name=name, scope=scope, expires_at=expires_at)


def issue_token(*, user, name: str, scope: str, expires_at=None, **fields) -> tuple[ApiToken, str]:
    """Make and store a new token, with no check (token_create checks); return it and its
    text. The text is kept nowhere: only its hash and its first characters are."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        scope=scope,
        prefix=raw[:PREFIX_LENGTH],
        key_hash=key_hash(raw),
        expires_at=expires_at,
        **fields,
    )
    return token, raw


@transaction.atomic
def token_revoke(*, token: ApiToken, by) -> ApiToken:
    """Revoke a token (its owner, or staff): it signs nothing in from now on, and the
    sockets it opened close (4401) as soon as this commits. Revoking twice does nothing."""
    if by.pk != token.user_id and not by.is_staff:
        raise errors.NotFound("No such token.")
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token.refresh_from_db(fields=["revoked_at"])
    if revoked:
        events.emit(
            events.Event(
                events.SESSION_CHECK, {"ended_token": token.pk}, events.to_users([token.user_id])
            )
        )
    return token


def token_authenticate(raw: str) -> ApiToken | None:
    """Return the token whose text is `raw`, with its user, if it signs in; else None
    (unknown, revoked, expired, or its user deactivated).

    Looked up by hash: the index is searched with a digest the caller cannot steer, so
    its timing tells nothing of stored tokens. Marks the token used, at most once a minute.
    """
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > TOKEN_LENGTH_MAX:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=key_hash(raw)).first()
    now = timezone.now()
    if token is None or not token.is_active(now) or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_PRECISION)
        try:
            ApiToken.objects.filter(stale, pk=token.pk).update(last_used_at=now)
        except DatabaseError as error:
            # Only a record of use: the request itself must not fail for it.
            logger.warning("Could not mark API token %s used: %s", token.pk, error)
        else:
            token.last_used_at = now
    return token
