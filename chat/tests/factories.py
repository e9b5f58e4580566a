"""Small helpers that create users, rooms and messages for the tests.

They write the rows directly (no services, so no rate limit and no broadcast),
except that a message still takes its room's next revision, as the services do.
"""

import logging
from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import F
from django.test import Client
from django.utils.text import slugify

from chat.models import Membership, Message, Room
from chat.records import message_excerpt

PASSWORD = "correct-horse-battery-staple"


@cache
def _password_hash() -> str:
    # Hashing takes most of a second on purpose: do it once, not once per user.
    return make_password(PASSWORD)


def make_user(username: str, *, is_staff: bool = False, is_superuser: bool = False):
    """Create a user whose password is PASSWORD."""
    return get_user_model().objects.create(
        username=username, password=_password_hash(), is_staff=is_staff, is_superuser=is_superuser
    )


def make_room(
    name: str = "General",
    *,
    slug: str | None = None,
    created_by=None,
    is_private: bool = False,
    is_archived: bool = False,
    topic: str = "",
) -> Room:
    """Create a room; its slug defaults to the slugified name."""
    return Room.objects.create(
        name=name,
        slug=slug or slugify(name),
        topic=topic,
        created_by=created_by,
        is_private=is_private,
        is_archived=is_archived,
    )


def add_member(room: Room, user, *, role: str = Membership.Role.MEMBER, banned: bool = False):
    """Make the user a member of the room (or a banned one)."""
    return Membership.objects.create(room=room, user=user, role=role, banned=banned)


@transaction.atomic
def make_message(room: Room, author, body: str = "hello", *, client_id: str | None = None):
    """Store a message with the room's next revision."""
    Room.objects.filter(pk=room.pk).update(rev=F("rev") + 1)
    room.rev = Room.objects.filter(pk=room.pk).values_list("rev", flat=True).get()
    return Message.objects.create(
        room=room,
        author=author,
        body=body,
        client_id=client_id,
        rev=room.rev,
        created_rev=room.rev,
        excerpt=message_excerpt(body, ""),
    )


def make_messages(room: Room, author, count: int, *, prefix: str = "message") -> list[Message]:
    """Store `count` messages whose bodies are f"{prefix} 000", f"{prefix} 001", ..."""
    return [make_message(room, author, f"{prefix} {i:03d}") for i in range(count)]


def session_cookie(user) -> bytes:
    """Log the user in and return the Cookie header of the session, for a WebSocket."""
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def quiet_request_warnings(testcase) -> None:
    """Keep the expected 4xx warnings of Django's request loggers out of the test output.

    Errors (a 500) still show.
    """
    for name in ("django.request", "django.security.csrf"):
        logger = logging.getLogger(name)
        testcase.addCleanup(logger.setLevel, logger.level)
        logger.setLevel(logging.ERROR)
