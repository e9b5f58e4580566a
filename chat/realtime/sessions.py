"""Open sockets do not outlive the login they were opened with.

A socket is signed in by the session it was opened with. Logging out (here or
elsewhere), a password change and a deactivated account all end that: each server
process re-checks the sessions of its sockets, in one query per kind, every
CHAT_SESSION_CHECK_INTERVAL seconds, and at once (after CHAT_SESSION_NUDGE_DELAY)
when the site itself changes a user's login. Sockets found signed out are closed
with 4401.

A socket opened with an API token is watched by its token instead (revoked, expired,
deleted, or its user deactivated), in one query for all of them; a session that ends
does not end it. A revoked token closes its sockets at once without the watch (the
revocation tells them), an expiring one by each socket's own timer (base.py): the
watch is what catches the rest.
"""

import asyncio
import time
from importlib import import_module
from typing import Protocol

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from .auth import token_authority

# Handed to a socket (its chat_signed_out) when its session has ended.
SIGNED_OUT_EVENT = {"type": "chat.signed_out"}


def _session_data(session_keys: set[str]) -> dict[str, dict]:
    """Return the decoded data of the live sessions among `session_keys`."""
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    if issubclass(store_class, DatabaseSessionStore):
        model = store_class.get_model_class()
        rows = model.objects.filter(session_key__in=session_keys, expire_date__gt=timezone.now())
        return {row.session_key: store_class().decode(row.session_data) for row in rows}
    data = {}
    for key in session_keys:
        loaded = store_class(key).load()
        if loaded:
            data[key] = loaded
    return data


def _signs_in(session: dict | None, user) -> bool:
    if session is None or user is None or not user.is_active:
        return False
    if session.get(SESSION_KEY) != str(user.pk):
        return False
    stored_hash = session.get(HASH_SESSION_KEY) or ""
    # The hash changes with the password; SECRET_KEY_FALLBACKS keep older ones valid.
    hashes = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    return any(constant_time_compare(stored_hash, valid) for valid in hashes)


def signed_out_channels(sockets: dict[str, tuple[str, int]]) -> list[str]:
    """Return the channels, of {channel: (session key, user id)}, no longer signed in."""
    if not sockets:
        return []
    sessions = _session_data({key for key, _user_id in sockets.values()})
    user_ids = {user_id for _key, user_id in sockets.values()}
    users = {user.pk: user for user in get_user_model().objects.filter(pk__in=user_ids)}
    return [
        channel
        for channel, (key, user_id) in sockets.items()
        if not _signs_in(sessions.get(key), users.get(user_id))
    ]


def ended_token_channels(sockets: dict[str, int]) -> list[str]:
    """Return the channels, of {channel: token id}, whose token no longer signs in."""
    if not sockets:
        return []
    authority = token_authority()
    live = authority.live(set(sockets.values())) if authority is not None else set()
    return [channel for channel, token_id in sockets.items() if token_id not in live]


def _signed_out(sessions: dict[str, tuple[str, int]], tokens: dict[str, int]) -> list[str]:
    return signed_out_channels(sessions) + ended_token_channels(tokens)


class SignedOutListener(Protocol):
    async def chat_signed_out(self, event: dict) -> None: ...


class SessionWatch:
    """The sockets of this process and the sessions (or API tokens) they were opened with."""

    def __init__(self):
        self.sockets: dict[str, tuple[str, int]] = {}
        self.token_sockets: dict[str, int] = {}
        # channel name -> the socket, told directly (its channel has no receive: base.py)
        self.listeners: dict[str, SignedOutListener] = {}
        self.due: dict[str, float] = {}
        self._keepers = {}

    def add(
        self,
        *,
        channel_name: str,
        user_id: int,
        listener: SignedOutListener,
        session_key: str | None = None,
        token_id: int | None = None,
    ):
        """Watch a socket's login: its API token when it has one, else its session.
        `listener` (the socket) is told when the login ends."""
        self.listeners[channel_name] = listener
        if token_id is not None:
            self.token_sockets[channel_name] = token_id
        else:
            self.sockets[channel_name] = (session_key, user_id)
        loop = asyncio.get_running_loop()
        if loop not in self._keepers or self._keepers[loop].done():
            self._keepers = {k: v for k, v in self._keepers.items() if not k.is_closed()}
            self._keepers[loop] = loop.create_task(self._keep())

    def discard(self, channel_name: str):
        self.listeners.pop(channel_name, None)
        self.sockets.pop(channel_name, None)
        self.token_sockets.pop(channel_name, None)
        self.due.pop(channel_name, None)

    def check_soon(self, channel_name: str):
        """Check a socket's session shortly (the request that changed it may still run)."""
        if channel_name in self.sockets or channel_name in self.token_sockets:
            self.due[channel_name] = time.monotonic() + settings.CHAT_SESSION_NUDGE_DELAY

    async def _keep(self):
        next_full_check = time.monotonic() + settings.CHAT_SESSION_CHECK_INTERVAL
        while True:
            await asyncio.sleep(0.5)
            now = time.monotonic()
            if now >= next_full_check:
                next_full_check = now + settings.CHAT_SESSION_CHECK_INTERVAL
                sessions, tokens = dict(self.sockets), dict(self.token_sockets)
            else:
                due = [c for c, at in self.due.items() if at <= now]
                sessions = {c: self.sockets[c] for c in due if c in self.sockets}
                tokens = {c: self.token_sockets[c] for c in due if c in self.token_sockets}
            batch = [*sessions, *tokens]
            for channel_name in batch:
                self.due.pop(channel_name, None)
            if not batch:
                continue
            try:
                signed_out = await database_sync_to_async(_signed_out)(sessions, tokens)
                for channel_name in signed_out:
                    listener = self.listeners.get(channel_name)
                    if listener is not None:
                        await listener.chat_signed_out(SIGNED_OUT_EVENT)
            except Exception:
                # The database or the layer is away: the next round checks again.
                for channel_name in batch:
                    self.due.setdefault(channel_name, now + settings.CHAT_SESSION_NUDGE_DELAY)


session_watch = SessionWatch()
