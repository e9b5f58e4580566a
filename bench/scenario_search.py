"""Search over a long history (issue 17): `chat.selectors.search.search_messages` on
1,000,000 messages in 100 rooms, on SQLite and on PostgreSQL; in the same run, the raw
index query and a LIKE '%word%' scan; the index's size and what it adds to a send.

Standalone, like project_send.py, not a scenario of run.py: no server takes part (the
search is the selector's work, timed in-process, as project_pages.py times a page), and
each database needs a process of its own (Django binds one default database per process).
The driver runs one child process per database, in turn:

1. Fill (bench/search_data.py): users, rooms and memberships with the ORM, then the
   messages as the server stores them. SQLite: INSERTs into a file under /dev/shm, the
   migration's triggers filling the FTS5 index as rows go in (timed). PostgreSQL: a
   database of its own on the server of DATABASE_URL (.ci/services.sh), the GIN index
   dropped, the rows COPYed in, VACUUM ANALYZE, then the index built again with the
   migration's own statement and the table analyzed again (each timed).
2. Queries, as the searcher (a member of a few rooms, private ones among them, banned
   from a public one): each typical search through search_messages; the selector's own
   matching SQL alone (captured from a call, then re-run); the raw index query (the
   FTS5 MATCH, or the tsvector @@, LIMIT 21 newest first, no access rule); and LIKE
   '%word%' over the same rooms, newest first, LIMIT 21, for the common and the rare word.
   The series take turns, one run each per round, so that a slower minute of this shared
   machine falls on all; a series whose first runs are slow gets fewer runs (the table
   gives n). Then, apart (not timed with the rest): where a search's time goes, the
   selector's steps timed one by one, and each query's plan.
3. Sizes: chat.search.index.size_in_bytes() and the table's, for scale.
4. Sends: services.message_send into the busiest room, with the index and without it,
   in rounds that take turns (SQLite: the triggers dropped, and the index caught up
   before they come back; PostgreSQL: the GIN index dropped, and built again),
   the rate limit lifted and the events dropped once built, as project_send.py does.

Prints the tables and writes bench/out/search-<UTC time>.{json,md}. The PostgreSQL
database is dropped at the end, the SQLite file deleted (--keep keeps both).

    eval "$(.ci/services.sh start)"   # PostgreSQL on 55432 (its DATABASE_URL is read)
    .venv/bin/python bench/scenario_search.py
    .venv/bin/python bench/scenario_search.py --databases sqlite --messages 100000
"""

import argparse
import importlib
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
PG_DATABASE = "chat_bench_search"
MEASURED_CODE = (
    "chat/search",
    "chat/selectors/search.py",
    "chat/migrations/0013_message_search_index.py",
)
PAGE = 20  # search_messages' default page: its SQL asks for 21
RAW_LIMIT = PAGE + 1
WARM_UP = 3  # runs of every series before the timed ones (1 for a slow one)
SLOW_WARM_UP_SECONDS = 0.5
SLOW_SERIES_SECONDS = 10.0  # a slow series runs at most about this long (at least MIN_RUNS)
MIN_RUNS = 5
PROFILE_RUNS = 10  # runs of each search with its steps timed apart
PROFILE_SECONDS = 5.0  # ... or fewer (1 at least), for a slow one
SEND_WARM_UP = 100


def cpu_probe_ms() -> float:
    """Time a fixed pure-Python loop (as run.py does): this machine's speed varies."""
    began = time.perf_counter()
    total = 0
    for i in range(2_000_000):
        total += i
    return round((time.perf_counter() - began) * 1000, 1)


def log(*parts) -> None:
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


# --- the queries -----------------------------------------------------------------------


def typical_queries(world) -> list[dict]:
    """The searches timed: label, the search box's text, the raw index query's terms
    (op, text) where there is one, and whether a LIKE scan runs against it."""
    import search_data

    common, other, excluded = "deploy", "review tomorrow", "staging"
    rare = world.vocabulary.distinct_rare_word()
    general = world.rooms[0]
    chatty = f"bench{world.most_active_author(general)}"
    narrow = next(room for room in world.rooms if room.rank == search_data.SEARCHER_ROOMS[-2])
    return [
        {"label": "common word", "q": common, "raw": [("word", common)], "like": common},
        {"label": "rare word", "q": rare, "raw": [("word", rare)], "like": rare},
        {
            "label": "two words",
            "q": other,
            "raw": [("word", word) for word in other.split()],
        },
        {"label": "phrase", "q": '"merge conflict"', "raw": [("phrase", "merge conflict")]},
        {"label": "prefix", "q": "depl*", "raw": [("prefix", "depl")]},
        {"label": "from: + word", "q": f"from:{chatty} {common}"},
        {"label": "in: + word", "q": f"in:{narrow.slug} {common}"},
        {"label": "has:link", "q": "has:link"},
        {
            "label": "word -word",
            "q": f"{common} -{excluded}",
            "raw": [("word", common), ("not", excluded)],
        },
        {"label": "no match", "q": "xylophone", "raw": [("word", "xylophone")]},
        {"label": "very common word", "q": "the", "raw": [("word", "the")]},
        {"label": "is:mentioned", "q": "is:mentioned"},
    ]


def raw_index_sql(terms: list[tuple[str, str]], vendor: str) -> tuple[str, list]:
    """The index alone: the matches, newest first, LIMIT 21, no access rule (PostgreSQL:
    the index's own expression, its text search configuration read from the migration)."""
    found = [(op, text) for op, text in terms if op != "not"]
    excluded = [text for op, text in terms if op == "not"]
    if vendor == "sqlite":
        quoted = {
            "word": lambda text: f'"{text}"',
            "phrase": lambda text: f'"{text}"',
            "prefix": lambda text: f'"{text}"*',
        }
        match = " ".join(quoted[op](text) for op, text in found)
        if excluded:
            match = f"({match}) NOT ({' OR '.join(quoted['word'](t) for t in excluded)})"
        sql = (
            "SELECT rowid FROM chat_message_fts WHERE chat_message_fts MATCH %s "
            "ORDER BY rowid DESC LIMIT %s"
        )
        return sql, [match, RAW_LIMIT]
    config = pg_search_config()
    functions = {
        "word": ("plainto_tsquery", lambda text: text),
        "phrase": ("phraseto_tsquery", lambda text: text),
        "prefix": ("to_tsquery", lambda text: f"{text}:*"),
    }
    parts, params = [], []
    for op, text in found:
        function, value = functions[op]
        parts.append(f"{function}('{config}'::regconfig, %s)")
        params.append(value(text))
    for text in excluded:
        parts.append(f"!! plainto_tsquery('{config}'::regconfig, %s)")
        params.append(text)
    sql = (
        f"SELECT id FROM chat_message WHERE to_tsvector('{config}'::regconfig, body) @@ "
        f"({' && '.join(parts)}) AND deleted_at IS NULL ORDER BY id DESC LIMIT %s"
    )
    return sql, [*params, RAW_LIMIT]


def gin_forced_sql(terms) -> tuple[str, list]:
    """PostgreSQL: the raw index query made to read the GIN index (every match, through a
    bitmap), then sorted: what the index answers when the planner does not walk the
    primary key instead."""
    sql, params = raw_index_sql(terms, "postgresql")
    head, _, _ = sql.partition(" ORDER BY")
    return (
        f"WITH hits AS MATERIALIZED ({head}) SELECT id FROM hits ORDER BY id DESC LIMIT %s",
        params,
    )


def index_count_sql(terms, vendor: str) -> tuple[str, list]:
    """How many messages the index holds for the terms (for the table, not timed)."""
    sql, params = raw_index_sql(terms, vendor)
    head, _, _ = sql.partition(" ORDER BY")
    select = "SELECT rowid FROM" if vendor == "sqlite" else "SELECT id FROM"
    return head.replace(select, "SELECT count(*) FROM", 1), params[:-1]


def like_sql(word: str, room_ids: list[int]) -> tuple[str, list]:
    """The scan people write without an index: the same rooms, newest first, LIMIT 21."""
    rooms = ", ".join(["%s"] * len(room_ids))
    sql = (
        f"SELECT m.id FROM chat_message m WHERE m.deleted_at IS NULL AND m.room_id IN ({rooms}) "
        "AND m.body LIKE %s ORDER BY m.id DESC LIMIT %s"
    )
    return sql, [*room_ids, f"%{word}%", RAW_LIMIT]


# --- timing ----------------------------------------------------------------------------


def percentile(ordered: list[float], q: float) -> float:
    """Nearest rank, as loadgen.percentile."""
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def ms_summary(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    return {
        "n": len(ordered),
        "p50_ms": round(percentile(ordered, 50) * 1000, 3),
        "p99_ms": round(percentile(ordered, 99) * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
    }


def run_series(series: dict[str, object], runs: int) -> dict[str, dict]:
    """Time every callable of `series` `runs` times (fewer for slow ones), taking turns,
    the order reversed every other round; return each one's summary."""
    first = {}
    for name, call in series.items():
        for _ in range(WARM_UP):
            began = time.perf_counter()
            call()
            first[name] = time.perf_counter() - began
            if first[name] > SLOW_WARM_UP_SECONDS:
                break
    wanted = {
        name: max(MIN_RUNS, min(runs, int(SLOW_SERIES_SECONDS / max(first[name], 1e-9))))
        for name in series
    }
    every = {name: max(1, math.ceil(runs / wanted[name])) for name in series}
    times: dict[str, list[float]] = {name: [] for name in series}
    names = list(series)
    for round_number in range(runs):
        for name in names if round_number % 2 == 0 else names[::-1]:
            if round_number % every[name] or len(times[name]) >= wanted[name]:
                continue
            began = time.perf_counter()
            series[name]()
            times[name].append(time.perf_counter() - began)
    return {name: ms_summary(values) for name, values in times.items()}


# --- the child: one database -----------------------------------------------------------


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.pop("REDIS_URL", None)  # the same in-process cache on both databases
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myproject.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    settings.CHAT_RATE_MESSAGES = 10**9  # the limit is not what is measured

    from chat import events

    events.set_transport(_Dropped())


class _Dropped:
    """An events transport that sends nothing."""

    def send(self, event) -> None:
        pass

    async def asend(self, event) -> None:
        pass


def _migration():
    return importlib.import_module("chat.migrations.0013_message_search_index")


def _pg_index_statements() -> tuple[str, str]:
    """The migration's CREATE INDEX and DROP INDEX of the GIN index (its other statements,
    the text search configuration, stay)."""
    migration = _migration()
    create = next(sql for sql in migration.POSTGRESQL_CREATE if sql.startswith("CREATE INDEX"))
    drop = next(sql for sql in migration.POSTGRESQL_DROP if sql.startswith("DROP INDEX"))
    return create, drop


def pg_search_config() -> str:
    """The text search configuration of the GIN index's expression."""
    create, _drop = _pg_index_statements()
    return re.search(r"to_tsvector\('(\w+)'::regconfig, body\)", create).group(1)


def _execute(statements: list[str]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def fill(world, count: int) -> dict:
    """Store the world and `count` messages; return what it took."""
    import search_data
    from django.db import connection

    took = {}
    began = time.perf_counter()
    search_data.store_people_and_rooms(world)
    took["people_rooms_s"] = round(time.perf_counter() - began, 1)
    rows = search_data.messages(world, count, first_id=1)
    began = time.perf_counter()
    if connection.vendor == "sqlite":
        path = connection.settings_dict["NAME"]
        connection.close()  # the fill writes on a connection of its own
        took["mentions"] = search_data.store_messages_sqlite(str(path), rows)
        took["insert_with_fts_triggers_s"] = round(time.perf_counter() - began, 1)
    else:
        create_index, drop_index = _pg_index_statements()
        _execute([drop_index])
        took["mentions"] = search_data.store_messages_postgresql(rows)
        took["copy_without_gin_s"] = round(time.perf_counter() - began, 1)
        began = time.perf_counter()
        _execute(["VACUUM ANALYZE chat_message", "VACUUM ANALYZE chat_messagemention"])
        took["vacuum_analyze_s"] = round(time.perf_counter() - began, 1)
        began = time.perf_counter()
        _execute([create_index])
        took["create_gin_index_s"] = round(time.perf_counter() - began, 1)
        began = time.perf_counter()
        # Analyzed again with the index there, as autovacuum would after such a load.
        _execute(["ANALYZE chat_message"])
        took["analyze_after_index_s"] = round(time.perf_counter() - began, 1)
    search_data.store_revisions(world)
    took["messages"] = count
    return took


def sizes() -> dict:
    from django.db import connection

    from chat.search import index

    found = {"index_bytes": index.size_in_bytes()}
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sum(pgsize) FROM dbstat WHERE name = 'chat_message'")
            found["table_bytes"] = cursor.fetchone()[0]
            cursor.execute(
                "SELECT sum(pgsize) FROM dbstat WHERE name IN (SELECT name FROM sqlite_master "
                "WHERE type = 'index' AND tbl_name = 'chat_message')"
            )
            found["table_btree_indexes_bytes"] = cursor.fetchone()[0]
            found["database_bytes"] = os.path.getsize(connection.settings_dict["NAME"])
        else:
            cursor.execute(
                "SELECT pg_relation_size('chat_message'), "
                "pg_total_relation_size('chat_message') - pg_relation_size('chat_message') "
                "- pg_indexes_size('chat_message'), pg_indexes_size('chat_message'), "
                "pg_database_size(current_database())"
            )
            heap, toast, indexes, database = cursor.fetchone()
            found.update(
                table_bytes=heap,
                table_toast_bytes=toast,
                table_btree_indexes_bytes=indexes - found["index_bytes"],
                database_bytes=database,
            )
            for setting in ("shared_buffers", "work_mem", "server_version"):
                cursor.execute(f"SHOW {setting}")
                found[setting] = cursor.fetchone()[0]
    return found


class _Capture:
    """An execute wrapper that keeps every statement and its time."""

    def __init__(self):
        self.statements: list[tuple[str, list, float]] = []

    def __call__(self, execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements.append((sql, list(params or ()), time.perf_counter() - began))


def _is_matching(sql: str) -> bool:
    """Whether a statement of search_messages is its matching query (chat/search/sql.py)."""
    return sql.startswith(("SELECT m.id, snippet(", "SELECT m.id, NULL", "SELECT page.id"))


# search_messages, its matching SQL alone, the raw index query, the same made to read the
# GIN index (PostgreSQL), the LIKE scan.
SERIES_KINDS = ("search", "sql", "raw", "gin", "like")
SERIES_TITLES = {
    "search": "search_messages",
    "sql": "its SQL",
    "raw": "raw index",
    "gin": "raw, GIN forced",
    "like": "LIKE",
}


def measure_queries(world, runs: int) -> dict:
    from django.contrib.auth.models import User
    from django.db import connection

    from chat import policy
    from chat.models import Room
    from chat.selectors.search import search_messages

    vendor = connection.vendor
    searcher = User.objects.get(username="bench0")
    room_ids = sorted(
        Room.objects.filter(policy.visible_rooms(searcher)).values_list("pk", flat=True)
    )
    queries = typical_queries(world)

    def query_once(sql, params):
        def run():
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()

        return run

    series, checks, plans = {}, {}, {}
    for query in queries:
        label, q = query["label"], query["q"]
        capture = _Capture()
        with connection.execute_wrapper(capture):
            page = search_messages(user=searcher, q=q)
        matching = [(sql, params) for sql, params, _ in capture.statements if _is_matching(sql)]
        sql, params = matching[0]
        found_ids = [result["message"]["id"] for result in page["results"]]
        series[f"{label}|search"] = lambda q=q: search_messages(user=searcher, q=q)
        series[f"{label}|sql"] = query_once(sql, params)
        check = {"q": q, "results": len(found_ids), "more": page["next"] is not None}
        plans[f"{label}|sql"] = _plan(sql, params)
        if terms := query.get("raw"):
            raw, raw_params = raw_index_sql(terms, vendor)
            series[f"{label}|raw"] = query_once(raw, raw_params)
            plans[f"{label}|raw"] = _plan(raw, raw_params)
            if vendor == "postgresql":
                forced, forced_params = gin_forced_sql(terms)
                series[f"{label}|gin"] = query_once(forced, forced_params)
                plans[f"{label}|gin"] = _plan(forced, forced_params)
            count, count_params = index_count_sql(terms, vendor)
            check["index_matches"] = query_once(count, count_params)()[0][0]
        if word := query.get("like"):
            like, like_params = like_sql(word, room_ids)
            series[f"{label}|like"] = query_once(like, like_params)
            plans[f"{label}|like"] = _plan(like, like_params)
            like_ids = [row[0] for row in query_once(like, like_params)()][:PAGE]
            check["like_same_ids"] = like_ids == found_ids
        checks[label] = check
    log(f"  {len(series)} series, {runs} rounds")
    timed = run_series(series, runs)
    profile = {query["label"]: _profile(searcher, query["q"]) for query in queries}
    results = {}
    for query in queries:
        label = query["label"]
        results[label] = {
            **checks[label],
            **{
                kind: timed[f"{label}|{kind}"]
                for kind in SERIES_KINDS
                if f"{label}|{kind}" in timed
            },
            "profile": profile[label],
            "plans": {
                kind: plans[f"{label}|{kind}"]
                for kind in SERIES_KINDS
                if f"{label}|{kind}" in plans
            },
        }
    return {"searcher_rooms": len(room_ids), "rooms": len(world.rooms), "queries": results}


def _plan(sql: str, params: list) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            return [row[-1] for row in cursor.fetchall()]
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return [row[0] for row in cursor.fetchall()]


# The steps of search_messages timed apart in the profile pass, those of its module
# (chat/selectors/search.py) that are there: it looks them up when called, so a wrapper
# put on the module is the one it calls.
PROFILED_STEPS = {
    "parse_query": "parse",
    "_rooms": "rooms to search (access rule, in:)",
    "_room_ids_to_search": "rooms to search (access rule, in:)",
    "_user_ids": "users (from:)",
    "_messages": "records (messages, reactions)",
    "highlight": "highlight",
    "excerpt": "highlight",
}


def _profile(searcher, q: str) -> dict:
    """Where one search's time goes: mean ms of each step of search_messages; what is
    left is the matching SQL (run and fetched), the page's rooms and the selector's glue."""
    from django.db import connection

    from chat.selectors import search

    totals: dict[str, float] = {}
    originals = {name: getattr(search, name) for name in PROFILED_STEPS if hasattr(search, name)}

    def timed(name, function):
        def wrapper(*args, **kwargs):
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                step = PROFILED_STEPS[name]
                totals[step] = totals.get(step, 0.0) + time.perf_counter() - began

        return wrapper

    whole = 0.0
    runs = 0
    capture = _Capture()
    try:
        for name, function in originals.items():
            setattr(search, name, timed(name, function))
        while runs < PROFILE_RUNS and (runs < 1 or whole < PROFILE_SECONDS):
            capture.statements.clear()
            began = time.perf_counter()
            with connection.execute_wrapper(capture):
                search.search_messages(user=searcher, q=q)
            whole += time.perf_counter() - began
            runs += 1
    finally:
        for name, function in originals.items():
            setattr(search, name, function)
    result = {step: round(s / runs * 1000, 3) for step, s in totals.items()}
    result["matching SQL and the rest"] = round((whole - sum(totals.values())) / runs * 1000, 3)
    result["whole"] = round(whole / runs * 1000, 3)
    result["statements"] = len(capture.statements)
    result["runs"] = runs
    return result


def measure_sends(world, sends: int, rounds: int) -> dict:
    """message_send with the index and without, on the full database."""
    import search_data
    from django.contrib.auth.models import User
    from django.db import connection

    from chat import services
    from chat.models import Room

    general = world.rooms[0]
    room_messages = general.rev  # before the bodies below are drawn (they count on)
    room = Room.objects.get(pk=general.id)
    author = User.objects.get(username=f"bench{world.most_active_author(general)}")
    # Bodies of the same kind as the history's, drawn apart from it.
    bodies = [row.body for row in search_data.messages(world, 500, first_id=0, seed=99)]
    migration = _migration()
    sqlite_triggers = [sql for sql in migration.SQLITE_CREATE if sql.startswith("CREATE TRIGGER")]
    vendor = connection.vendor
    # Taking turns, so that a slower minute of the machine falls on both. PostgreSQL
    # builds its index again for each turn with it after the first (timed: the toggles).
    plan = ["with", "without"] * rounds
    state = {"index": True}

    def set_index(on: bool) -> float:
        if state["index"] == on:
            return 0.0
        began = time.perf_counter()
        if vendor == "sqlite":
            if on:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT coalesce(max(rowid), 0) FROM chat_message_fts")
                    indexed = cursor.fetchone()[0]
                    # What was sent without the triggers joins the index before they return.
                    cursor.execute(
                        "INSERT INTO chat_message_fts(rowid, body) SELECT id, body "
                        "FROM chat_message WHERE id > %s AND deleted_at IS NULL",
                        [indexed],
                    )
                _execute(sqlite_triggers)
            else:
                _execute([sql for sql in migration.SQLITE_DROP if "TRIGGER" in sql])
        else:
            create_index, drop_index = _pg_index_statements()
            _execute([create_index if on else drop_index])
        state["index"] = on
        return time.perf_counter() - began

    def send(count: int, offset: int) -> list[float]:
        seconds = []
        for i in range(count):
            body = bodies[(offset + i) % len(bodies)]
            began = time.perf_counter()
            services.message_send(room=room, author=author, body=body)
            seconds.append(time.perf_counter() - began)
        return seconds

    send(SEND_WARM_UP, 0)
    times: dict[str, list[float]] = {"with": [], "without": []}
    toggles = []
    for number, mode in enumerate(plan):
        toggles.append(round(set_index(mode == "with"), 2))
        times[mode] += send(sends, number * sends)
    set_index(True)
    report = {"plan": plan, "index_toggle_s": toggles, "room_messages": room_messages}
    for mode, seconds in times.items():
        micro = sorted(s * 1e6 for s in seconds)
        report[mode] = {
            "sends": len(micro),
            "median_us": round(statistics.median(micro), 1),
            "p90_us": round(percentile(micro, 90), 1),
            "mean_us": round(statistics.fmean(micro), 1),
        }
    report["added_median_us"] = round(
        report["with"]["median_us"] - report["without"]["median_us"], 1
    )
    report["with_to_without"] = round(
        report["with"]["median_us"] / report["without"]["median_us"], 3
    )
    return report


def run_child(args) -> None:
    setup_django(args.database_url)
    import search_data
    from django.db import connection

    vendor = connection.vendor
    log(f"{vendor}: planning {args.messages:,} messages in {args.rooms} rooms")
    world = search_data.plan_world(args.users, args.rooms)
    result = {"database": vendor, "users": args.users, "probe_ms": [cpu_probe_ms()]}
    began = time.perf_counter()
    result["fill"] = fill(world, args.messages)
    result["fill"]["total_s"] = round(time.perf_counter() - began, 1)
    log(f"{vendor}: filled", json.dumps(result["fill"]))
    result["sizes"] = sizes()
    log(f"{vendor}: sizes", json.dumps(result["sizes"]))
    result["world"] = {
        "rooms": len(world.rooms),
        "private_rooms": sum(room.private for room in world.rooms),
        "memberships": sum(len(room.members) for room in world.rooms),
        "vocabulary": len(world.vocabulary.words),
        "rare_words": len(world.vocabulary.rare),
        "messages_per_room_max": max(room.rev for room in world.rooms),
        "messages_per_room_min": min(room.rev for room in world.rooms),
    }
    began = time.perf_counter()
    result["search"] = measure_queries(world, args.runs)
    result["search"]["elapsed_s"] = round(time.perf_counter() - began, 1)
    log(f"{vendor}: queries done in {result['search']['elapsed_s']} s")
    result["probe_ms"].append(cpu_probe_ms())
    result["send"] = measure_sends(world, args.sends, args.send_rounds)
    log(f"{vendor}: sends", json.dumps({k: result["send"][k] for k in ("with", "without")}))
    result["probe_ms"].append(cpu_probe_ms())
    Path(args.result).write_text(json.dumps(result, indent=1))


# --- the driver ------------------------------------------------------------------------


def _pg_admin(url: str, statement: str) -> None:
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(statement)


def run_database(name: str, args, workdir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if name == "sqlite":
        path = workdir / "search.sqlite3"
        url = f"sqlite:///{path}"
    else:
        base = args.postgresql or os.environ.get("DATABASE_URL", "")
        if not base.startswith("postgres"):
            raise SystemExit(
                'PostgreSQL: eval "$(.ci/services.sh start)" first, or give --postgresql URL'
            )
        url = urlunsplit(urlsplit(base)._replace(path=f"/{PG_DATABASE}"))
        _pg_admin(url, f"DROP DATABASE IF EXISTS {PG_DATABASE}")
        _pg_admin(url, f"CREATE DATABASE {PG_DATABASE}")
    result_file = workdir / f"{name}.json"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        "--database-url",
        url,
        "--result",
        str(result_file),
        *("--messages", str(args.messages), "--rooms", str(args.rooms)),
        *("--users", str(args.users), "--runs", str(args.runs)),
        *("--sends", str(args.sends), "--send-rounds", str(args.send_rounds)),
    ]
    began = time.perf_counter()
    try:
        subprocess.run(command, env=env, cwd=ROOT, check=True)
        result = json.loads(result_file.read_text())
    finally:
        if name == "postgresql" and not args.keep:
            _pg_admin(url, f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
    result["elapsed_s"] = round(time.perf_counter() - began, 1)
    result["url"] = url if name == "sqlite" else url.rsplit("@", 1)[-1]
    return result


PROFILE_COLUMNS = [
    *dict.fromkeys(PROFILED_STEPS.values()),
    "matching SQL and the rest",
]


def _num(value: float) -> str:
    """Three significant digits or so, never an exponent."""
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _ms(summary: dict | None) -> str:
    if not summary:
        return ""
    return f"{_num(summary['p50_ms'])} / {_num(summary['p99_ms'])}"


def _ratio(a: dict | None, b: dict | None) -> str:
    if not a or not b or not b["p50_ms"]:
        return ""
    return _num(a["p50_ms"] / b["p50_ms"])


def _mib(value) -> str:
    return "n/a" if value is None else f"{value / 2**20:.1f} MiB"


def markdown(report: dict) -> str:
    lines = [
        f"Search over a long history (issue 17), {report['date']} at {report['commit']}"
        + (f" (working tree: {report['changed']})" if report["changed"] else ""),
        "",
    ]
    for name, result in report["databases"].items():
        search, fill, size, send = (result[k] for k in ("search", "fill", "sizes", "send"))
        world = result["world"]
        lines += [
            f"### {name}",
            "",
            f"{fill['messages']:,} messages in {world['rooms']} rooms ({world['private_rooms']}"
            f" private; {world['messages_per_room_min']:,} to {world['messages_per_room_max']:,}"
            f" each), {result['users']:,} users, {world['memberships']:,} memberships; the "
            f"searcher sees {search['searcher_rooms']} rooms. Fill: "
            + ", ".join(f"{k} {v}" for k, v in fill.items() if k != "messages")
            + f". CPU probe {result['probe_ms']} ms.",
            "",
        ]
        gin = any("gin" in row for row in search["queries"].values())
        kinds = ["search", "sql", "raw", *(["gin"] if gin else []), "like"]
        lines += [
            "| query | q | index matches | results | "
            + " | ".join(f"{SERIES_TITLES[kind]} p50 / p99 ms" for kind in kinds)
            + f" | n ({', '.join(kinds)}) | search / raw | LIKE / raw |"
            + (" LIKE / GIN forced |" if gin else ""),
            "|---|---|--:|--:|" + "--:|" * (len(kinds) + 3 + gin),
        ]
        for label, row in search["queries"].items():
            counts = ", ".join(str(row[k]["n"]) if k in row else "-" for k in kinds)
            results = f"{row['results']}{'+' if row['more'] else ''}"
            q = row["q"].replace("|", "\\|")
            timings = " | ".join(_ms(row.get(kind)) for kind in kinds)
            ratios = [
                _ratio(row["search"], row.get("raw")),
                _ratio(row.get("like"), row.get("raw")),
            ]
            if gin:
                ratios.append(_ratio(row.get("like"), row.get("gin")))
            lines.append(
                f"| {label} | `{q}` | {row.get('index_matches', '')} | {results} | {timings} | "
                f"{counts} | {' | '.join(ratios)} |"
            )
        lines += [
            "",
            "Where a search's time goes (mean ms of a call; its steps timed apart, in a "
            "pass of their own):",
            "",
            "| query | whole | " + " | ".join(PROFILE_COLUMNS) + " | statements |",
            "|---|--:|" + "--:|" * len(PROFILE_COLUMNS) + "--:|",
        ]
        for label, row in search["queries"].items():
            p = row["profile"]
            cells = " | ".join(_num(p[c]) if c in p else "" for c in PROFILE_COLUMNS)
            lines.append(f"| {label} | {_num(p['whole'])} | {cells} | {p['statements']} |")
        extra = (
            f", table's own B-tree indexes {_mib(size['table_btree_indexes_bytes'])}"
            f", database {_mib(size['database_bytes'])}"
        )
        if "table_toast_bytes" in size:
            extra += (
                f", TOAST {_mib(size['table_toast_bytes'])}; shared_buffers "
                f"{size['shared_buffers']}, work_mem {size['work_mem']}, "
                f"PostgreSQL {size['server_version']}"
            )
        lines += [
            "",
            f"Sizes: search index {_mib(size['index_bytes'])}, chat_message table "
            f"{_mib(size['table_bytes'])} ({size['index_bytes'] / size['table_bytes']:.2f} of "
            f"it){extra}.",
            "",
            f"Send (services.message_send into a room of {send['room_messages']:,} messages; "
            f"rounds {' '.join(send['plan'])}; index toggles {send['index_toggle_s']} s):",
            "",
            "| index | sends | median us | p90 us | mean us |",
            "|---|--:|--:|--:|--:|",
        ]
        for mode in ("with", "without"):
            row = send[mode]
            lines.append(
                f"| {mode} | {row['sends']} | {row['median_us']} | {row['p90_us']} | "
                f"{row['mean_us']} |"
            )
        lines += [
            "",
            f"The index adds {send['added_median_us']} us to a send's median "
            f"(x{send['with_to_without']}).",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--users", type=int, default=3_000)
    parser.add_argument("--runs", type=int, default=300, help="timed runs of each series")
    parser.add_argument("--sends", type=int, default=500, help="sends per round")
    parser.add_argument("--send-rounds", type=int, default=3, help="rounds of each mode")
    parser.add_argument("--postgresql", help="server URL (default: $DATABASE_URL)")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args)
        return
    names = args.databases.split(",")
    if unknown := set(names) - {"sqlite", "postgresql"}:
        parser.error(f"unknown databases {sorted(unknown)}")
    memory = "/dev/shm" if os.path.isdir("/dev/shm") else None
    workdir = Path(tempfile.mkdtemp(prefix="chat_bench_search-", dir=memory))
    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip(),
        # Uncommitted changes to what is measured, if any.
        "changed": subprocess.run(
            ["git", "status", "--porcelain", "--", *MEASURED_CODE],
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout.strip(),
        "args": {k: v for k, v in vars(args).items() if k not in ("child", "result")},
        "databases": {},
    }
    try:
        for name in names:
            report["databases"][name] = run_database(name, args, workdir)
    finally:
        if not args.keep:
            for file in workdir.iterdir():
                file.unlink()
            workdir.rmdir()
        else:
            log(f"kept {workdir}")
    OUT.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = markdown(report)
    (OUT / f"search-{stamp}.json").write_text(json.dumps(report, indent=1))
    (OUT / f"search-{stamp}.md").write_text(text)
    print(text)
    log(f"wrote {OUT}/search-{stamp}.json and .md")


if __name__ == "__main__":
    main()
