"""Account safety: how often one may guess a password, sign up, or ask for a reset mail.

Signing in is limited by *failures*, per account and per client address, in a window
that starts at the first failure: after ACCOUNT_LOGIN_FAILURES_PER_ACCOUNT failures for
one username, or ACCOUNT_LOGIN_FAILURES_PER_ADDRESS from one address, every attempt is
refused *before* the password is checked until the window ends. Both counts are kept
for any username typed, so a lock looks the same for an existing and an unknown account.
A successful sign-in forgets the account's failures, never the address's: an attacker who
owns one account can't use it to wipe the count while guessing at others.

Why a counter of our own rather than chat/ratelimit.py's token bucket: a bucket takes a
token per attempt, while a lock must look without taking (a refused attempt costs
nothing and checks nothing), count only failures, and forget an account's failures on
success. Why not django-axes: it brings a database table or handler, a middleware and
an authentication backend, and one failure limit for every lockout parameter, where we
want a tighter limit per account than per address. The counter is two cache keys per
subject, updated with the cache's atomic `add` and `incr` (SET NX and INCR on Redis), so
every server process sharing the cache shares the lock.

Sign-ups and reset mails count *requests*, so they use the token bucket as it is.
"""

import hashlib
import ipaddress
import logging
import math
import time

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

from .. import ratelimit
from ..errors import RateLimited

logger = logging.getLogger(__name__)

LOGIN_LOCKED = "Too many failed sign-in attempts. Try again in {wait}."


def client_address(request) -> str:
    """Return the address to count a request against.

    REMOTE_ADDR is the client's own address: behind nginx, the server's --proxy-headers puts
    the forwarded one there. An IPv6 client usually holds a whole /64, so the /64 counts.
    """
    address = request.META.get("REMOTE_ADDR") or "unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 4:
        return str(parsed)
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False))


def _account_key(username: str) -> str:
    # Hashed: usernames are free text, and cache keys should not be.
    digest = hashlib.sha256(username.casefold().encode()).hexdigest()[:32]
    return f"login-failures:account:{digest}"


def _address_key(address: str) -> str:
    return f"login-failures:address:{address}"


def _locked_for(key: str, limit: int) -> float:
    """Return the seconds left in the window of `key` if it holds `limit` failures, else 0."""
    values = cache.get_many([key, f"{key}:until"])
    if values.get(key, 0) < limit:
        return 0.0
    until = values.get(f"{key}:until")
    window = settings.ACCOUNT_LOGIN_LOCK_PERIOD
    return window if until is None else max(0.0, until - time.time())


def _count_failure(key: str) -> None:
    """Add a failure to `key`; the first one opens a window of ACCOUNT_LOGIN_LOCK_PERIOD."""
    window = settings.ACCOUNT_LOGIN_LOCK_PERIOD
    timeout = math.ceil(window)
    started = cache.add(key, 1, timeout=timeout)
    if not started:
        try:
            # 1 means the key expired between add and incr, and Redis's INCR made a new
            # one that never expires: give it the window's timeout.
            started = cache.incr(key) == 1
            if started:
                cache.touch(key, timeout)
        except ValueError:  # other caches refuse to incr a key that expired meanwhile
            cache.set(key, 1, timeout=timeout)
            started = True
    if started:
        cache.set(f"{key}:until", time.time() + window, timeout=timeout)


def login_check(*, username: str, address: str) -> None:
    """Refuse a sign-in attempt while its account or its address is locked.

    Raise RateLimited with the same detail whichever is locked and whether or not the
    account exists.
    """
    try:
        wait = max(
            _locked_for(_account_key(username), settings.ACCOUNT_LOGIN_FAILURES_PER_ACCOUNT),
            _locked_for(_address_key(address), settings.ACCOUNT_LOGIN_FAILURES_PER_ADDRESS),
        )
    except RedisError:
        # Fail open, as chat/ratelimit.py does: the password is still checked.
        logger.warning("Login throttle unavailable; allowing a sign-in.", exc_info=True)
        return
    if wait > 0:
        raise RateLimited(LOGIN_LOCKED.format(wait=ratelimit.wait_in_words(wait)), retry_after=wait)


def login_failed(*, username: str, address: str) -> None:
    """Count a failed sign-in against its account and its address."""
    try:
        _count_failure(_account_key(username))
        _count_failure(_address_key(address))
    except RedisError:
        logger.warning("Login throttle unavailable; a failure went uncounted.", exc_info=True)


def login_succeeded(*, username: str) -> None:
    """Forget the account's failures (never the address's)."""
    key = _account_key(username)
    try:
        cache.delete_many([key, f"{key}:until"])
    except RedisError:
        logger.warning("Login throttle unavailable; failures kept.", exc_info=True)


def password_confirm(*, user, password: str, address: str) -> bool:
    """Check a signed-in user's password before a change to their account.

    It counts like a sign-in: a session alone must not allow unlimited guesses.
    """
    username = user.get_username()
    login_check(username=username, address=address)
    if user.check_password(password):
        login_succeeded(username=username)
        return True
    login_failed(username=username, address=address)
    return False


def signup_allow(*, address: str) -> None:
    """Take one of the address's sign-ups; raise RateLimited when it has none left."""
    ratelimit.require_token(
        key=f"signup:{address}",
        capacity=settings.ACCOUNT_SIGNUPS_PER_ADDRESS,
        period=settings.ACCOUNT_SIGNUPS_PERIOD,
        refusal="Too many accounts were created from your network. Try again in {wait}.",
    )


def password_reset_allow(*, address: str) -> None:
    """Take one of the address's reset requests; raise RateLimited when it has none left."""
    ratelimit.require_token(
        key=f"password-reset:{address}",
        capacity=settings.ACCOUNT_RESETS_PER_ADDRESS,
        period=settings.ACCOUNT_RESETS_PERIOD,
        refusal="Too many password reset requests from your network. Try again in {wait}.",
    )
