"""The history that bench/scenario_search.py searches: people, rooms and messages, drawn
from a seed (the same on every database), and written as the server stores them.

- People: `bench0` .. `benchN-1`; `bench0` is the searcher.
- Rooms: a few are much busier than the rest (activity falls with the room's rank); one
  in five is private, with few members. The searcher is a member of some rooms (private
  ones among them) and banned from a busy public one: the access rule has work to do.
- Messages: lowercase chat text whose words follow a Zipf law over a few thousand words
  (real words at the head, made-up ones for the long tail), plus some rare words, a few
  set phrases, links and @mentions; created over a year, a few deleted (soft, as the
  server deletes). Each row carries what a send stores with it: its HTML rendered by
  chat.rendering, its excerpt, its mentions (ids and MessageMention rows), the room's
  revision.

Writing: SQLite gets plain INSERTs (executemany) on its own connection, the migration's
triggers filling the FTS5 index as rows go in; PostgreSQL gets COPY.
"""

import bisect
import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

SEED = 17


def _words(text: str) -> list[str]:
    return text.split()


# The head of the vocabulary, most frequent first: chat English and a team's working words.
HEAD_WORDS = _words("""
the i to a and it you is that we in for on this of be can have but not so with just do
at if are was what my me will ok yes no think know get now like there build test deploy
they about all one out up from how when would an see should also then time here need
more some good thanks going sure could new still go got make way any want let because
today work back review meeting release fix or been right look which were why where has
had them us our your by too really well people something looks first last tomorrow
branch change issue code server team maybe week done said day use again though after
before morning lunch call later please check update version problem error working try
thing things bit help other into over than only very much even most staging production
merge pull request tests failing failed broken green red config database query page
user users client api docs doc link file files notes plan design ticket sprint board
friday monday afternoon tonight yesterday soon asap hour minutes idea question answer
agree sounds great nice cool thank cheers sorry hey hello hi coffee weekend holiday
home office remote laptop screen logs log alert deployed deployment deploying rollback
restart cache memory cpu disk slow fast latency timeout retry queue worker job jobs cron
backup restore migration schema index table rows column columns value values number
count total report reports dashboard metrics graph chart numbers budget cost customer
customers support feedback feature features bug bugs crash stack trace debug debugging
local container image cluster node
""")
TAIL_WORDS = 4_000  # made-up words after the head: the long tail of a real vocabulary
ZIPF_EXPONENT = 1.0
RARE_WORDS = 1_000  # words outside the Zipf draw, each in a few dozen messages
# Shares of messages that carry each extra; a message may carry several.
RARE_SHARE = 0.02
LINK_SHARE = 0.05
MENTION_SHARE = 0.03
PHRASE_SHARE = 0.01
QUESTION_SHARE = 0.10
DELETED_SHARE = 0.01
PHRASES = (
    "merge conflict",
    "code review",
    "pull request",
    "on call",
    "stand up",
    "build failed",
    "out of memory",
    "works on my machine",
    "ship it",
    "good catch",
)
LINK_HOSTS = ("github.com", "docs.example.org", "example.com", "jira.example.net", "wiki.corp.io")
ROOM_NAMES = ("general", "random", "dev", "ops", "design", "support", "releases", "alerts")
PRIVATE_EVERY = 5  # room k is private when k % 5 == 4
ROOM_ACTIVITY_EXPONENT = 0.7
AUTHOR_EXPONENT = 1.0  # within a room, a few people write most of it
# The searcher: a member of these rooms (by rank; 4, 9 and 49 are private), banned from 2.
SEARCHER_ROOMS = (0, 1, 3, 4, 5, 9, 10, 49)
SEARCHER_BANNED = 2
WORDS_PER_MESSAGE = (2.3, 0.6)  # lognormal mu, sigma: a median of 10 words
WORDS_MAX = 60

_ONSETS = _words("b c d f g h j k l m n p r s t v w z br cr dr fr gr pl pr st tr ch sh th")
_VOWELS = _words("a e i o u ai ea io ou")
_CODAS = ["", "", "", "n", "r", "s", "t", "l", "m"]


def _made_up_words(
    rng: random.Random, count: int, taken: set[str], syllables: tuple[int, int], marker: str = ""
) -> list[str]:
    """`count` new pronounceable words, none in `taken` (which they join); `marker` inside."""
    words = []
    while len(words) < count:
        parts = [rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(rng.randint(*syllables))]
        if marker:
            parts.insert(1, marker)
        word = "".join(parts) + rng.choice(_CODAS)
        if word not in taken:
            taken.add(word)
            words.append(word)
    return words


@dataclass
class Vocabulary:
    words: list[str]  # by rank
    cumulative: list[float]  # of the Zipf weights, for random.choices
    rare: list[str]

    @classmethod
    def make(cls, rng: random.Random) -> "Vocabulary":
        head = list(dict.fromkeys(HEAD_WORDS))
        taken = set(head)
        words = head + _made_up_words(rng, TAIL_WORDS, taken, (1, 2))
        rare = _made_up_words(rng, RARE_WORDS, taken, (2, 3), marker="x")
        weights = [1 / rank**ZIPF_EXPONENT for rank in range(1, len(words) + 1)]
        return cls(words, list(itertools.accumulate(weights)), rare)

    def rank(self, word: str) -> int:
        return self.words.index(word) + 1

    def distinct_rare_word(self) -> str:
        """A rare word that is no part of another word: LIKE '%word%' finds it alone."""
        others = self.words + self.rare
        for word in self.rare:
            if sum(word in other for other in others) == 1:
                return word
        raise RuntimeError("no rare word stands alone")


@dataclass
class RoomPlan:
    rank: int
    name: str
    slug: str
    private: bool
    members: list[int] = field(default_factory=list)  # user indexes
    author_cumulative: list[float] = field(default_factory=list)
    id: int = 0  # set once stored
    rev: int = 0


@dataclass
class World:
    users: int
    rooms: list[RoomPlan]
    room_cumulative: list[float]
    vocabulary: Vocabulary
    user_ids: list[int] = field(default_factory=list)  # by index, once stored

    def searcher_member_of(self, room: RoomPlan) -> bool:
        return room.rank in SEARCHER_ROOMS

    def most_active_author(self, room: RoomPlan) -> int:
        return room.members[0]  # the first member has the largest Zipf weight


def plan_world(users: int, rooms: int, seed: int = SEED) -> World:
    """Draw the people, rooms and memberships (not yet stored)."""
    rng = random.Random(seed)
    vocabulary = Vocabulary.make(rng)
    plans = []
    everyone = list(range(1, users))  # bench0, the searcher, is placed by hand
    for rank in range(rooms):
        name = ROOM_NAMES[rank] if rank < len(ROOM_NAMES) else f"team {rank}"
        private = rank % PRIVATE_EVERY == PRIVATE_EVERY - 1
        size = rng.randint(10, 60) if private else max(40, int(600 / (1 + rank) ** 0.5))
        members = rng.sample(everyone, min(size, len(everyone)))
        if rank in SEARCHER_ROOMS or rank == SEARCHER_BANNED:
            members.insert(rng.randint(1, len(members)), 0)  # not the room's busiest author
        weights = [1 / r**AUTHOR_EXPONENT for r in range(1, len(members) + 1)]
        plans.append(
            RoomPlan(
                rank=rank,
                name=name.title() if rank >= len(ROOM_NAMES) else name,
                slug=name.replace(" ", "-"),
                private=private,
                members=members,
                author_cumulative=list(itertools.accumulate(weights)),
            )
        )
    activity = [1 / (rank + 1) ** ROOM_ACTIVITY_EXPONENT for rank in range(rooms)]
    return World(users, plans, list(itertools.accumulate(activity)), vocabulary)


# --- the messages ----------------------------------------------------------------------


@dataclass
class Row:
    id: int
    room: RoomPlan
    author_id: int
    body: str
    body_html: str
    excerpt: str
    created_at: datetime
    deleted_at: datetime | None
    rev: int
    mentioned_id: int | None


def messages(world: World, count: int, first_id: int, seed: int = SEED):
    """Yield `count` Rows in id order (created_at rising with the id, over the last year)."""
    from chat import rendering
    from chat.records import message_excerpt

    rng = random.Random(seed + 1)
    vocabulary = world.vocabulary
    words, cumulative, rare = vocabulary.words, vocabulary.cumulative, vocabulary.rare
    mu, sigma = WORDS_PER_MESSAGE
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=365)
    step = (end - start) / count
    ids = world.user_ids
    rooms = world.room_cumulative
    for index in range(count):
        room = world.rooms[bisect.bisect(rooms, rng.random() * rooms[-1])]
        members = room.members
        author = members[
            bisect.bisect(room.author_cumulative, rng.random() * room.author_cumulative[-1])
        ]
        size = min(WORDS_MAX, max(1, int(rng.lognormvariate(mu, sigma))))
        tokens = rng.choices(words, cum_weights=cumulative, k=size)
        if rng.random() < RARE_SHARE:
            tokens.insert(rng.randint(0, len(tokens)), rng.choice(rare))
        if rng.random() < PHRASE_SHARE:
            tokens.insert(rng.randint(0, len(tokens)), rng.choice(PHRASES))
        if rng.random() < LINK_SHARE:
            path = f"{rng.choice(words[:400])}/{rng.randint(1, 9999)}"
            link = f"https://{rng.choice(LINK_HOSTS)}/{path}"
            tokens.insert(rng.randint(0, len(tokens)), link)
        mentioned = None
        if rng.random() < MENTION_SHARE and len(members) > 1:
            mentioned = rng.choice(members)
            if mentioned == author:
                mentioned = None
            else:
                tokens.insert(0, f"@bench{mentioned}")
        body = " ".join(tokens) + ("?" if rng.random() < QUESTION_SHARE else "")
        names = {f"bench{mentioned}": ids[mentioned]} if mentioned is not None else None
        created = start + step * index + step * rng.random()
        room.rev += 1
        yield Row(
            id=first_id + index,
            room=room,
            author_id=ids[author],
            body=body,
            body_html=rendering.render_body(body, names=names),
            excerpt=message_excerpt(body, ""),
            created_at=created,
            deleted_at=created + timedelta(hours=1) if rng.random() < DELETED_SHARE else None,
            rev=room.rev,
            mentioned_id=None if mentioned is None else ids[mentioned],
        )


# --- storing ---------------------------------------------------------------------------


def store_people_and_rooms(world: World) -> None:
    """Create the users, rooms and memberships with the ORM (bulk); note their ids."""
    from django.contrib.auth.models import User

    from chat.models import Membership, Room

    users = User.objects.bulk_create(
        User(username=f"bench{i}", password="!") for i in range(world.users)
    )
    world.user_ids = [user.pk for user in users]
    rooms = Room.objects.bulk_create(
        Room(name=plan.name, slug=plan.slug, is_private=plan.private) for plan in world.rooms
    )
    for plan, room in zip(world.rooms, rooms, strict=True):
        plan.id = room.pk
    Membership.objects.bulk_create(
        Membership(
            room_id=plan.id,
            user_id=world.user_ids[member],
            banned=member == 0 and plan.rank == SEARCHER_BANNED,
        )
        for plan in world.rooms
        for member in plan.members
    )


MESSAGE_COLUMNS = (
    "id, room_id, author_id, body, body_html, excerpt, created_at, deleted_at, rev, "
    "created_rev, mention_ids, mention_all, client_id, edited_at, reply_to_id, attachments_data"
)


def _message_values(row: Row, moment) -> tuple:
    return (
        row.id,
        row.room.id,
        row.author_id,
        row.body,
        row.body_html,
        row.excerpt,
        moment(row.created_at),
        None if row.deleted_at is None else moment(row.deleted_at),
        row.rev,
        row.rev,
        "" if row.mentioned_id is None else str(row.mentioned_id),
        "",
        None,
        None,
        None,
        "",
    )


def _sqlite_time(moment: datetime) -> str:
    """Django's SQLite text for an aware datetime: naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def store_messages_sqlite(path: str, rows, batch: int = 20_000) -> int:
    """INSERT the rows on a connection of this function's own (the migration's triggers
    index them); return the mentions written."""
    import sqlite3

    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA synchronous=OFF")  # a crash here costs a rerun, nothing more
    # A cache that holds the whole file: the transaction never spills to the WAL midway.
    con.execute("PRAGMA cache_size=-2000000")
    con.execute("BEGIN IMMEDIATE")
    marks = ", ".join("?" * len(MESSAGE_COLUMNS.split(", ")))
    insert = f"INSERT INTO chat_message ({MESSAGE_COLUMNS}) VALUES ({marks})"
    mentions = []
    while chunk := list(itertools.islice(rows, batch)):
        con.executemany(insert, [_message_values(row, _sqlite_time) for row in chunk])
        mentions += [(row.id, row.mentioned_id) for row in chunk if row.mentioned_id]
    con.executemany(
        "INSERT INTO chat_messagemention (message_id, user_id, kind) VALUES (?, ?, 'user')",
        mentions,
    )
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return len(mentions)


def store_messages_postgresql(rows) -> int:
    """COPY the rows in on Django's connection; return the mentions written."""
    from django.db import connection

    mentions = []
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY chat_message ({MESSAGE_COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(_message_values(row, lambda moment: moment))
                if row.mentioned_id:
                    mentions.append((row.id, row.mentioned_id))
        with raw.copy("COPY chat_messagemention (message_id, user_id, kind) FROM STDIN") as copy:
            for message_id, user_id in mentions:
                copy.write_row((message_id, user_id, "user"))
        # The ids were given: the sequence must start after them, for the sends to come.
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('chat_message', 'id'), max(id)) FROM chat_message"
        )
    return len(mentions)


def store_revisions(world: World) -> None:
    """Each room's revision is its last message's; every member has read up to it."""
    from django.utils import timezone

    from chat.models import Membership, Room

    now = timezone.now()
    for plan in world.rooms:
        Room.objects.filter(pk=plan.id).update(rev=plan.rev, last_activity_at=now)
        Membership.objects.filter(room_id=plan.id).update(last_read_rev=plan.rev)
