"""The timeline turns live frames and sync batches into events without gaps or repeats."""

from chat_client import MessageDeleted, MessageNew, MessageUpdated
from chat_client.timeline import Timeline


def message(id_, rev, body="hi", *, created_rev=None, deleted=False):
    return {
        "id": id_,
        "rev": rev,
        "room": "general",
        "author": {"id": 1, "username": "alice", "display_name": ""},
        "body": "" if deleted else body,
        "created_at": "2026-11-21T12:00:00.000000Z",
        "deleted": deleted,
        "created_rev": rev if created_rev is None else created_rev,
    }


def kinds(events):
    return [(type(event).__name__, event.message.id, event.message.rev) for event in events]


def test_live_frames_in_order_pass_once():
    timeline = Timeline("general")
    timeline.greet(10)
    assert kinds(timeline.live("message.new", message(1, 11))) == [("MessageNew", 1, 11)]
    assert timeline.live("message.new", message(1, 11)) == []  # the same frame again
    assert timeline.live("message.new", message(0, 9)) == []  # before this client's start
    assert timeline.rev == 11


def test_a_frame_ahead_waits_for_the_gap_to_fill():
    timeline = Timeline("general", rev=10)
    assert timeline.live("message.new", message(2, 12)) == []
    assert timeline.has_gap()
    events = timeline.live("message.updated", message(1, 11, created_rev=5))
    assert kinds(events) == [("MessageUpdated", 1, 11), ("MessageNew", 2, 12)]
    assert not timeline.has_gap() and timeline.rev == 12


def test_a_sync_fills_the_gap_and_drops_what_it_covers():
    timeline = Timeline("general", rev=10)
    timeline.live("message.new", message(3, 13))
    timeline.live("message.new", message(4, 15))
    batch = {
        "type": "sync",
        "messages": [message(1, 11), message(3, 13), message(2, 14, created_rev=12)],
        "rev": 14,
        "complete": True,
    }
    events = timeline.sync(batch)
    # 1 and 2 were created after R (10): new; 3 was held back: delivered once; 4 follows.
    assert kinds(events) == [
        ("MessageNew", 1, 11),
        ("MessageNew", 3, 13),
        ("MessageNew", 2, 14),
        ("MessageNew", 4, 15),
    ]
    assert timeline.rev == 15
    assert timeline.sync({"messages": [message(4, 15)], "rev": 15, "complete": True}) == []


def test_a_sync_names_changes_to_older_messages_as_updates_and_deletions():
    timeline = Timeline("general", rev=20)
    events = timeline.sync(
        {
            "messages": [message(1, 21, "edited", created_rev=3), message(2, 22, deleted=True)],
            "rev": 22,
            "complete": True,
        }
    )
    assert [type(event) for event in events] == [MessageUpdated, MessageDeleted]
    assert isinstance(timeline.live("message.new", message(5, 23)).pop(), MessageNew)


def test_a_pong_ahead_of_r_says_something_was_missed():
    timeline = Timeline("general", rev=7)
    assert timeline.pong_is_ahead(8)
    assert not timeline.pong_is_ahead(7)
