"""The admin's pages issue the same queries whatever the number of rows they show.

A page that queries once per row (a foreign key rendered without a join, a count per
room) gets slower with every row and is the first thing to fall over on a big room.
"""

import difflib
import itertools

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chat.models import Membership, ModerationAction, Room

from .factories import add_member, make_message, make_room, make_user

_numbers = itertools.count()


def new_user():
    return make_user(f"user{next(_numbers)}")


def new_room() -> Room:
    number = next(_numbers)
    return make_room(f"Room {number}", is_private=number % 2 == 0)


# Each factory adds one row of its page, with rows of its own behind every column (its
# own room, author, members), so that a column read per row shows as a query per row.


def add_room_with_activity(test):
    room, user = new_room(), new_user()
    add_member(room, user, role=Membership.Role.OWNER)
    add_member(room, test.admin)
    make_message(room, user, "hello")


def add_member_to_the_room(test):
    user, number = new_user(), next(_numbers)
    membership = add_member(test.room, user, banned=number % 3 == 0)
    Membership.objects.filter(pk=membership.pk).update(muted=number % 2 == 0)
    make_message(test.room, user, "hi")


def add_message(test):
    room, user = new_room(), new_user()
    add_member(room, user)
    make_message(room, user, "a message in its own room")


def add_membership(test):
    room, user = new_room(), new_user()
    add_member(room, user, role=Membership.Role.MODERATOR)


def add_user(test):
    user = new_user()
    add_member(test.room, user)
    make_message(test.room, user, "hello from a new account")


def add_moderation_action(test):
    room, actor, target = new_room(), new_user(), new_user()
    ModerationAction.objects.create(
        room=room,
        room_name=room.name,
        actor=actor,
        actor_name=actor.username,
        target=target,
        target_name=target.username,
        kind=ModerationAction.Kind.BAN,
        reason="spam",
    )


# (url name, row factory). A name ending in "_change" is the change page of test.room.
PAGES = [
    ("admin:chat_room_changelist", add_room_with_activity),
    ("admin:chat_room_change", add_member_to_the_room),
    ("admin:chat_message_changelist", add_message),
    ("admin:chat_membership_changelist", add_membership),
    ("admin:auth_user_changelist", add_user),
    ("admin:chat_moderationaction_changelist", add_moderation_action),
]


class AdminQueriesDoNotGrowWithRowsTests(TestCase):
    initial_rows = 3
    added_rows = 5

    def setUp(self):
        self.admin = make_user("admin", is_staff=True, is_superuser=True)
        self.room = make_room("General", topic="Anything goes")
        self.client.force_login(self.admin)

    def url(self, url_name: str) -> str:
        args = [self.room.pk] if url_name.endswith("_change") else []
        return reverse(url_name, args=args)

    def visit(self, url: str) -> tuple[list[str], int]:
        """GET the page as the superuser: the SQL it ran and the number of rows it shows."""
        with CaptureQueriesContext(connection) as queries:
            response = self.client.get(url)
        self.assertEqual(response.status_code, 200, url)
        return [query["sql"] for query in queries.captured_queries], rows_shown(response)

    def assertQueriesDoNotGrow(self, url_name: str, add_row):
        for _ in range(self.initial_rows):
            add_row(self)
        url = self.url(url_name)
        self.visit(url)  # caches filled on a first visit (content types) are not rows
        before, rows_before = self.visit(url)
        for _ in range(self.added_rows):
            add_row(self)
        after, rows_after = self.visit(url)
        # Otherwise the rows did not reach the page, and its queries prove nothing.
        self.assertEqual(rows_after - rows_before, self.added_rows, f"rows shown by {url}")
        if len(after) != len(before):
            difference = "\n".join(difflib.unified_diff(before, after, lineterm="", n=0))
            self.fail(
                f"{url} ran {len(before)} queries, then {len(after)} after "
                f"{self.added_rows} more rows:\n{difference}"
            )

    def test_no_page_queries_once_per_row(self):
        for url_name, add_row in PAGES:
            with self.subTest(url_name):
                self.assertQueriesDoNotGrow(url_name, add_row)


def rows_shown(response) -> int:
    """Count the rows of a changelist, or the inline rows of a change page."""
    if "cl" in response.context:
        return len(response.context["cl"].result_list)
    return sum(len(inline.formset.forms) for inline in response.context["inline_admin_formsets"])
