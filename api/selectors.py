"""Reads of API tokens."""

from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import ApiToken


def _signing_in(now) -> Q:
    return Q(revoked_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def active_tokens(*, user) -> QuerySet[ApiToken]:
    """Return the user's tokens that are neither revoked nor expired."""
    return ApiToken.objects.filter(_signing_in(timezone.now()), user=user)


def user_tokens(*, user) -> list[ApiToken]:
    """Return all the user's tokens, newest first, revoked and expired ones included."""
    return list(ApiToken.objects.filter(user=user))


def live_token_ids(token_ids: set[int]) -> set[int]:
    """Return those of `token_ids` that still sign their user in (one query)."""
    if not token_ids:
        return set()
    live = ApiToken.objects.filter(
        _signing_in(timezone.now()), pk__in=token_ids, user__is_active=True
    )
    return set(live.values_list("pk", flat=True))
