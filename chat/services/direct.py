"""Direct conversations: a private room of two to eight people, found by who they are.

A conversation is keyed by its people's sorted user ids (Room.direct_key, unique), so
starting one that exists opens it, whatever the order of the names and however many
start it at once. Its people are members with no role above member: nobody invites,
owns or sets it up; anyone may leave, and starting it again brings them back.
"""

import secrets

from django.db import IntegrityError, transaction

from ..errors import Invalid, NotFound
from ..models import Membership, Room, direct_key
from .members import _member_updated, member_joined, user_by_name

# The most people a conversation holds, the one who starts it included.
DIRECT_PEOPLE_MAX = 8


def _people(*, starter, usernames) -> list:
    """Return the other people named, checked: active users, not only the starter."""
    if not isinstance(usernames, list) or not all(isinstance(name, str) for name in usernames):
        raise Invalid("'usernames' must be a list of usernames.")
    names = {name.strip() for name in usernames if name.strip()}
    names.discard(starter.get_username())
    if not names:
        raise Invalid("Say whom to write to: a conversation needs someone besides you.")
    if len(names) + 1 > DIRECT_PEOPLE_MAX:
        raise Invalid(f"A conversation holds at most {DIRECT_PEOPLE_MAX} people, you included.")
    return [user_by_name(name) for name in sorted(names)]


def direct_open(*, starter, usernames) -> tuple[Room, bool]:
    """Open the conversation of `starter` and the people named; return (room, created).

    One that exists is returned, with anyone who had left it a member again; otherwise
    it is made, and each of its people's tabs hears of it (room.joined) on commit.
    """
    if not (starter.is_authenticated and starter.is_active):
        raise NotFound("No such user.")
    people = [starter, *_people(starter=starter, usernames=usernames)]
    key = direct_key(person.pk for person in people)
    with transaction.atomic():
        room = Room.objects.filter(kind=Room.Kind.DIRECT, direct_key=key).first()
        if room is not None:
            return _rejoin(room, people, starter=starter), False
        try:
            with transaction.atomic():  # a conversation started meanwhile wins
                room = _create(key=key, people=people, starter=starter)
        except IntegrityError:
            room = Room.objects.filter(kind=Room.Kind.DIRECT, direct_key=key).first()
            if room is None:
                raise
            return _rejoin(room, people, starter=starter), False
    return room, True


def _create(*, key: str, people: list, starter) -> Room:
    # Nobody sees the name: unique like every room's, made of the slug.
    slug = f"dm-{secrets.token_hex(6)}"
    room = Room.objects.create(
        name=slug,
        slug=slug,
        is_private=True,
        kind=Room.Kind.DIRECT,
        direct_key=key,
        created_by=starter,
    )
    Membership.objects.bulk_create(
        [Membership(room=room, user=person, role=Membership.Role.MEMBER) for person in people]
    )
    for person in people:
        member_joined(room, person.pk)
    return room


def _rejoin(room: Room, people: list, *, starter) -> Room:
    """Make members again those of the conversation who left it; a ban stands."""
    memberships = {
        membership.user_id: membership
        for membership in Membership.objects.select_for_update().filter(room=room)
    }
    mine = memberships.get(starter.pk)
    if mine is not None and mine.banned:
        raise NotFound("No such conversation.")
    current = Room.objects.filter(pk=room.pk).values_list("rev", flat=True).get()
    for person in people:
        if person.pk in memberships:
            continue
        # Back with the history read, like any new member: only what comes next is news.
        membership, created = Membership.objects.get_or_create(
            room=room, user=person, defaults={"last_read_rev": current}
        )
        if created:
            _member_updated(room, membership)
            member_joined(room, person.pk)
    return room
