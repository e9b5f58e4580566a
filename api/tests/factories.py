"""Tokens for the tests, written directly (no rate limit, no cap), as the service makes them."""

from api.services import issue_token


def make_token(user, *, scope: str = "write", name: str = "bot", expires_at=None, revoked_at=None):
    """Create a token of the user's; return (token, its text)."""
    return issue_token(
        user=user, name=name, scope=scope, expires_at=expires_at, revoked_at=revoked_at
    )


def bearer(raw: str) -> dict:
    """The test client's keyword arguments for `Authorization: Bearer <raw>`."""
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
