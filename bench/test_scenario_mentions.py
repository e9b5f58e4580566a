"""Scenario 8's premises and its checker (scenario_mentions.py): the bodies are what the
tables call them, and a tab's counts kept from its frames are held to what each message
must make of them, so that a missing or stray notification shows.

Collected by pytest from bench/ (on sys.path, as for test_socketio_wire.py).
"""

import asyncio
import json
import time

import scenario_mentions as mentions

from chat import rendering

SENDER_ID = 2


def test_plain_bodies_take_the_renderers_plain_path_and_markdown_its_parser():
    long_plain = mentions.body("plain_long")
    assert len(long_plain) == len(mentions.MARKDOWN_BODY)
    assert rendering.parse_body(long_plain).tokens is None
    assert rendering.parse_body(mentions.body("plain")).tokens is None
    html = rendering.render_body(mentions.MARKDOWN_BODY)
    for element in ("<blockquote>", "<strong>", "<em>", "<a href", "<ul>", "<code>", "<pre>"):
        assert element in html
    assert "mention" not in html


def test_mention_bodies_start_with_what_they_mention():
    assert mentions.body("room").startswith("@room ")
    assert mentions.body("here").startswith("@here ")
    assert mentions.body("one", "bench7").startswith("@bench7 ")


def _hello(user_id: int) -> dict:
    room = {"slug": mentions.BIG, "rev": 50, "last_read_rev": 50, "unread": 0, "mentions": 0}
    return {
        "type": "hello",
        "me": {"id": user_id, "username": f"bench{user_id}"},
        "rooms": [{**room, "unread_mentions": []}],
        "inbox": {"notifications": [], "has_more": False, "unread": 0},
    }


def _message_new(seq: int, message_id: int, **mentioned) -> str:
    message = {
        "id": message_id,
        "rev": 51 + seq,
        "created_rev": 51 + seq,
        "room": mentions.BIG,
        "author": {"id": SENDER_ID},
        "client_id": f"mn-{seq}",
        "mentions": mentioned.get("mentions", []),
        "mention_all": mentioned.get("mention_all"),
    }
    return json.dumps({"type": "message.new", "room": mentions.BIG, "message": message})


def _notification_new(notification_id: int, message_id: int, kind: str, unread: int) -> str:
    notification = {"id": notification_id, "kind": kind, "message": {"id": message_id}}
    return json.dumps({"type": "notification.new", "notification": notification, "unread": unread})


def _tabs(*user_ids: int) -> tuple:
    tabs = mentions._Tabs("http://127.0.0.1", 1, "mn-")
    handlers = []
    for user_id in user_ids:
        tab = mentions._Tab(None, _hello(user_id), "", viewer=False)
        tabs.tabs.append(tab)
        handlers.append(tabs._handler(tab))
    return tabs, handlers


def test_a_room_mention_that_misses_one_member_shows_in_the_counts():
    tabs, (first, second) = _tabs(5, 6)
    for handler in (first, second):
        handler(_message_new(0, 900, mention_all="room"))
    first(_notification_new(1, 900, "room_mention", 1))

    answer = asyncio.run(tabs.expect(0, 900, "room", "", time.time()))

    assert len(answer["news"]) == 2 and len(answer["notes"]) == 1
    assert answer["notified"] == 2 and answer["mismatches"] == 1
    [wrong] = answer["mismatch_sample"]
    assert wrong["user"] == "bench6"
    assert wrong["got"]["inbox_unread"] == 0 and wrong["want"]["inbox_unread"] == 1
    assert wrong["got"]["unread_mentions"] == [900] == wrong["want"]["unread_mentions"]


def test_a_notification_to_someone_not_named_is_counted_and_breaks_their_counts():
    tabs, (named, other) = _tabs(5, 6)
    for handler in (named, other):
        handler(_message_new(0, 901, mentions=[5]))
    named(_notification_new(1, 901, "mention", 1))
    other(_notification_new(2, 901, "mention", 1))

    answer = asyncio.run(tabs.expect(0, 901, "one", "bench5", time.time()))

    assert answer["notified"] == 1 and answer["unexpected_notes"] == 1
    assert [m["user"] for m in answer["mismatch_sample"]] == ["bench6"]


def test_every_count_right_after_plain_and_mentioning_messages():
    tabs, (only,) = _tabs(5)
    only(_message_new(0, 902))
    asyncio.run(tabs.expect(0, 902, "plain", "", time.time()))
    only(_message_new(1, 903, mention_all="room"))
    only(_notification_new(3, 903, "room_mention", 1))

    answer = asyncio.run(tabs.expect(1, 903, "room", "", time.time()))

    assert answer["mismatches"] == 0 and answer["wrong_kind"] == 0
    assert tabs.tabs[0].counts() == {
        "unread": 2,
        "unread_mentions": [903],
        "mentions": 1,
        "inbox_unread": 1,
    }
