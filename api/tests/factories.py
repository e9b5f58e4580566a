"""Tokens for the tests, written directly (no rate limit, no cap), as the service makes them."""

import secrets

from api.models import ApiToken
from api.services import PREFIX_LENGTH, TOKEN_PREFIX, key_hash


def make_token(user, *, scope: str = "write", name: str = "bot", expires_at=None, revoked_at=None):
    """Create a token of the user's; return (token, its text)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        scope=scope,
        prefix=raw[:PREFIX_LENGTH],
        key_hash=key_hash(raw),
        expires_at=expires_at,
        revoked_at=revoked_at,
    )
    return token, raw


def bearer(raw: str) -> dict:
    """The test client's keyword arguments for `Authorization: Bearer <raw>`."""
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
