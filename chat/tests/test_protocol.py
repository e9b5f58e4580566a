"""The wire format: frame validation, outbound objects and events, group names."""

import json
from datetime import UTC, datetime, timedelta, timezone

from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.test import SimpleTestCase, override_settings

from chat import errors, events
from chat.models import Message, Profile
from chat.policy import Access
from chat.realtime import protocol
from chat.realtime.hub import EVERYONE_TOPIC, room_topic, topic_group, user_topic
from chat.realtime.protocol import (
    DeleteCommand,
    EditCommand,
    HistoryCommand,
    PingCommand,
    ProtocolError,
    SendCommand,
    SyncCommand,
    TypingCommand,
    parse_frame,
)


def frame(**fields) -> str:
    return json.dumps(fields)


class ParseFrameTestCase(SimpleTestCase):
    def assertRefused(self, text: str, code: str, *, client_id=None) -> ProtocolError:
        with self.assertRaises(ProtocolError, msg=text[:200]) as caught:
            parse_frame(text)
        self.assertEqual(caught.exception.code, code, msg=text[:200])
        self.assertEqual(caught.exception.client_id, client_id, msg=text[:200])
        return caught.exception

    def test_each_allowed_type_gives_its_command(self):
        cases = [
            (frame(type="message.send", client_id="c-1", body="hi"), SendCommand("c-1", "hi")),
            (frame(type="message.send", body="hi"), SendCommand(None, "hi")),
            (frame(type="message.edit", id=3, body="new"), EditCommand(3, "new")),
            (frame(type="message.delete", id=3), DeleteCommand(3)),
            (frame(type="typing", active=True), TypingCommand(True)),
            (frame(type="typing", active=False), TypingCommand(False)),
            (frame(type="sync", since=0), SyncCommand(0)),
            (frame(type="history", before=10, limit=5), HistoryCommand(10, 5)),
            (frame(type="history"), HistoryCommand(None, 50)),
            (frame(type="ping", t={"at": [1, "x"]}), PingCommand({"at": [1, "x"]})),
            (frame(type="ping"), PingCommand(None)),
        ]
        for text, command in cases:
            self.assertEqual(parse_frame(text), command, msg=text)

    def test_unknown_types_are_refused(self):
        # Names of consumer methods and channel-layer handlers must not be reachable.
        for name in [
            "message.new",
            "hello",
            "chat.event",
            "chat_event",
            "chat.signed_out",
            "chat_signed_out",
            "on_event",
            "handle_event",
            "close_because",
            "check_session",
            "on_send",
            "on_ping",
            "refused",
            "__init__",
            "",
        ]:
            self.assertRefused(frame(type=name), "bad_frame")

    def test_type_must_be_a_string(self):
        for value in [None, 1, True, ["ping"], {"type": "ping"}]:
            self.assertRefused(json.dumps({"type": value}), "bad_frame")
        self.assertRefused(frame(t=1), "bad_frame")

    def test_frame_must_be_a_json_object(self):
        for text in ["[]", '["ping"]', "null", "42", '"ping"', "true"]:
            self.assertRefused(text, "bad_frame")

    def test_bad_json(self):
        for text in ["{", "", "{'type': 'ping'}", '{"type": "ping",}', "NaN-", "\x00"]:
            self.assertRefused(text, "bad_json")

    def test_deeply_nested_json_is_bad_json_not_a_crash(self):
        self.assertRefused("[" * 10_000, "bad_json")

    def test_frame_over_frame_max_is_too_long(self):
        padding = 16384 - len(frame(type="ping", t=""))
        fits = frame(type="ping", t="x" * padding)
        self.assertEqual(len(fits), 16384)
        self.assertIsInstance(parse_frame(fits), PingCommand)
        self.assertRefused(frame(type="ping", t="x" * (padding + 1)), "too_long")

    def test_frame_max_counts_bytes_not_characters(self):
        # 6000 three-byte characters: 6000 characters, 18000 bytes.
        text = json.dumps({"type": "ping", "t": "€" * 6000}, ensure_ascii=False)
        self.assertLess(len(text), 16384)
        self.assertRefused(text, "too_long")

    @override_settings(CHAT_FRAME_MAX=100)
    def test_frame_max_is_a_setting(self):
        self.assertRefused(frame(type="ping", t="x" * 100), "too_long")

    def test_body_is_stripped(self):
        command = parse_frame(frame(type="message.send", client_id="c1", body="  hi there \n"))
        self.assertEqual(command.body, "hi there")

    def test_empty_body(self):
        for body in ["", "   ", "\n\t \r\n", "\u3000"]:
            self.assertRefused(
                frame(type="message.send", client_id="c1", body=body), "empty", client_id="c1"
            )
        self.assertRefused(frame(type="message.edit", id=1, body=" "), "empty")

    def test_body_over_body_max_is_too_long(self):
        self.assertEqual(parse_frame(frame(type="message.send", body="x" * 4000)).body, "x" * 4000)
        # Surrounding whitespace does not count: the stripped body is measured.
        self.assertEqual(
            parse_frame(frame(type="message.send", body=f"  {'x' * 4000}  ")).body, "x" * 4000
        )
        self.assertRefused(
            frame(type="message.send", client_id="c1", body="x" * 4001), "too_long", client_id="c1"
        )
        self.assertRefused(frame(type="message.edit", id=1, body="x" * 4001), "too_long")

    def test_body_must_be_a_string(self):
        for body in [None, 1, True, ["hi"], {"text": "hi"}]:
            self.assertRefused(
                json.dumps({"type": "message.send", "client_id": "c1", "body": body}),
                "bad_frame",
                client_id="c1",
            )
        self.assertRefused(frame(type="message.send", client_id="c1"), "bad_frame", client_id="c1")

    def test_body_with_nul_is_refused(self):
        self.assertRefused(frame(type="message.send", body="a\x00b"), "bad_frame")

    def test_lone_surrogates_are_refused(self):
        # Valid JSON, but no database stores it and no text frame can carry it back.
        self.assertRefused(
            '{"type": "message.send", "client_id": "c1", "body": "a\\ud800b"}',
            "bad_frame",
            client_id="c1",
        )
        self.assertRefused('{"type": "message.edit", "id": 1, "body": "\\udfff"}', "bad_frame")
        self.assertRefused('{"type": "ping", "t": "\\udc00"}', "bad_frame")
        self.assertRefused('{"type": "ping", "t": {"\\ud800": [1]}}', "bad_frame")
        # A surrogate pair is a real character.
        command = parse_frame('{"type": "message.send", "body": "\\ud83d\\ude00"}')
        self.assertEqual(command.body, "\U0001f600")

    def test_client_id(self):
        for good in ["a", "A-z_0-9", "c" * 64]:
            self.assertEqual(
                parse_frame(frame(type="message.send", client_id=good, body="hi")).client_id, good
            )
        for bad in ["", "c" * 65, "a b", "a/b", "é", "a\n", 5, True, ["a"]]:
            # A malformed client_id is not echoed back.
            self.assertRefused(frame(type="message.send", client_id=bad, body="hi"), "bad_frame")

    def test_client_id_is_echoed_in_errors_of_other_fields(self):
        self.assertRefused(
            frame(type="message.send", client_id="c-9", body=""), "empty", client_id="c-9"
        )
        self.assertRefused(frame(type="mesage.send", client_id="c-9"), "bad_frame", client_id="c-9")

    def test_integer_fields_refuse_bools_strings_floats_and_negatives(self):
        bad_values = [True, False, "5", 5.0, -1, None, [5], 2**53]
        for value in bad_values:
            self.assertRefused(
                json.dumps({"type": "message.edit", "id": value, "body": "x"}), "bad_frame"
            )
            self.assertRefused(json.dumps({"type": "message.delete", "id": value}), "bad_frame")
            self.assertRefused(json.dumps({"type": "sync", "since": value}), "bad_frame")
            if value is not None:  # `before` may be absent
                self.assertRefused(json.dumps({"type": "history", "before": value}), "bad_frame")
        # Ids start at 1; a revision may be 0.
        self.assertRefused(frame(type="message.delete", id=0), "bad_frame")
        self.assertRefused(frame(type="history", before=0), "bad_frame")
        self.assertEqual(parse_frame(frame(type="sync", since=0)), SyncCommand(0))
        self.assertEqual(parse_frame(frame(type="sync", since=2**53 - 1)), SyncCommand(2**53 - 1))

    def test_history_limit_is_1_to_100(self):
        self.assertEqual(parse_frame(frame(type="history", limit=1)).limit, 1)
        self.assertEqual(parse_frame(frame(type="history", limit=100)).limit, 100)
        for value in [0, 101, -5, True, 10.5]:
            self.assertRefused(json.dumps({"type": "history", "limit": value}), "bad_frame")

    def test_history_limit_must_be_a_json_number(self):
        # Like every integer of a frame (`id`, `since`, `before`): digits in a string are
        # for query strings only.
        for value in ["10", "1", "050"]:
            self.assertRefused(json.dumps({"type": "history", "limit": value}), "bad_frame")

    def test_typing_active_must_be_a_bool(self):
        for value in [1, 0, "true", None]:
            self.assertRefused(json.dumps({"type": "typing", "active": value}), "bad_frame")


class ParseIntTestCase(SimpleTestCase):
    """protocol.parse_int: the one reader of integers, from frames and query strings."""

    def assertBad(self, value, **bounds):
        bounds.setdefault("minimum", 0)
        with self.assertRaises(ProtocolError, msg=repr(value)) as caught:
            protocol.parse_int(value, "n", **bounds)
        self.assertEqual(caught.exception.code, "bad_frame")
        self.assertIn("'n'", caught.exception.detail)

    def test_numbers_and_digit_strings(self):
        self.assertEqual(protocol.parse_int(0, "n", minimum=0), 0)
        self.assertEqual(protocol.parse_int(2**53 - 1, "n", minimum=0), 2**53 - 1)
        self.assertEqual(protocol.parse_int("42", "n", minimum=0), 42)
        self.assertEqual(protocol.parse_int("007", "n", minimum=0), 7)
        self.assertEqual(protocol.parse_int(5, "n", minimum=1, maximum=5), 5)

    def test_refuses_what_is_not_an_integer_in_range(self):
        for value in [True, False, None, 1.0, 2.5, [1], "", " 1", "1 ", "+1", "-1", "1.5", "1e3"]:
            self.assertBad(value)
        for value in ["٣", "¹", "0x10", "1_000", "9" * 4301]:
            self.assertBad(value)
        for value in [-1, 2**53, str(2**53)]:
            self.assertBad(value)
        self.assertBad(0, minimum=1)
        self.assertBad(6, minimum=1, maximum=5)
        self.assertBad("6", minimum=1, maximum=5)


class ErrorFrameTestCase(SimpleTestCase):
    def test_domain_errors_become_error_frames(self):
        until = datetime(2026, 11, 21, 13, 0, tzinfo=timezone(timedelta(hours=1)))
        error = ProtocolError.of(errors.Muted("You are muted.", until=until), client_id="c1")
        self.assertIsInstance(error, errors.ChatError)
        self.assertEqual(
            error.as_frame(),
            {
                "type": "error",
                "code": "muted",
                "detail": "You are muted.",
                "client_id": "c1",
                "until": "2026-11-21T12:00:00.000000Z",
            },
        )
        for error, code in [
            (errors.Invalid("x"), "bad_frame"),
            (errors.Empty("x"), "empty"),
            (errors.TooLong("x"), "too_long"),
            (errors.NotFound("x"), "not_found"),
            (errors.Forbidden("x"), "forbidden"),
            (errors.RateLimited("x", retry_after=1.5), "rate_limited"),
            (errors.RoomArchived("x"), "room_archived"),
        ]:
            self.assertEqual(ProtocolError.of(error).as_frame()["code"], code)
        self.assertEqual(
            ProtocolError.of(errors.RateLimited("x", retry_after=1.5)).retry_after, 1.5
        )

    def test_a_wire_error_keeps_its_client_id(self):
        error = ProtocolError("empty", "The message is empty.", client_id="c1")
        self.assertIs(ProtocolError.of(error, client_id="c2"), error)
        self.assertEqual(error.client_id, "c1")
        self.assertEqual(
            ProtocolError.of(ProtocolError("empty", "x"), client_id="c2").client_id, "c2"
        )

    def test_error_frame_has_optional_fields_only_when_set(self):
        self.assertEqual(
            ProtocolError("empty", "The message is empty.").as_frame(),
            {"type": "error", "code": "empty", "detail": "The message is empty."},
        )
        self.assertEqual(
            ProtocolError("rate_limited", "Slow down.", client_id="c1", retry_after=1.5).as_frame(),
            {
                "type": "error",
                "code": "rate_limited",
                "detail": "Slow down.",
                "client_id": "c1",
                "retry_after": 1.5,
            },
        )


class MessageDataTestCase(SimpleTestCase):
    def make(self, **fields) -> Message:
        author = get_user_model()(id=7, username="alice")
        author.profile = Profile(display_name="Alice Liddell")
        values = {
            "id": 981,
            "rev": 1234,
            "created_rev": 1234,
            "author": author,
            "body": "hello",
            "body_html": "<p>hello</p>",
            "client_id": "c-5f0e",
            "created_at": datetime(2026, 11, 21, 12, 0, 0, 123456, tzinfo=UTC),
        }
        values.update(fields)
        return Message(**values)

    def test_message_object(self):
        self.assertEqual(
            protocol.message_data(self.make(), room_slug="general"),
            {
                "id": 981,
                "rev": 1234,
                "room": "general",
                "author": {"id": 7, "username": "alice", "display_name": "Alice Liddell"},
                "body": "hello",
                "html": "<p>hello</p>",
                "created_at": "2026-11-21T12:00:00.123456Z",
                "edited_at": None,
                "deleted": False,
                "client_id": "c-5f0e",
                "created_rev": 1234,
                "mentions": [],
                "mention_all": None,
                "reactions": [],
                "reply_to": None,
                "attachments": [],
            },
        )

    def test_mentions_are_read_from_the_stored_ids(self):
        data = protocol.message_data(
            self.make(mention_ids="7,12", mention_all="here", deleted_at=None),
            room_slug="general",
        )
        self.assertEqual((data["mentions"], data["mention_all"]), ([7, 12], "here"))

    def test_times_are_utc_and_end_in_z(self):
        paris = timezone(timedelta(hours=1))
        data = protocol.message_data(
            self.make(
                created_at=datetime(2026, 11, 21, 13, 0, tzinfo=paris),
                edited_at=datetime(2026, 11, 21, 13, 5, 30, tzinfo=paris),
            ),
            room_slug="general",
        )
        self.assertEqual(data["created_at"], "2026-11-21T12:00:00.000000Z")
        self.assertEqual(data["edited_at"], "2026-11-21T12:05:30.000000Z")
        for value in (data["created_at"], data["edited_at"]):
            self.assertEqual(datetime.fromisoformat(value).utcoffset(), timedelta(0))

    def test_deleted_message_has_no_body(self):
        data = protocol.message_data(
            self.make(deleted_at=datetime(2026, 11, 21, 12, 1, tzinfo=UTC)), room_slug="general"
        )
        self.assertEqual((data["body"], data["html"]), ("", ""))
        self.assertIs(data["deleted"], True)
        # It keeps what identifies it.
        self.assertEqual(
            (data["id"], data["rev"], data["author"]["username"]), (981, 1234, "alice")
        )
        self.assertEqual(data["created_at"], "2026-11-21T12:00:00.123456Z")


class NamesAndLimitsTestCase(SimpleTestCase):
    def test_topic_groups_are_valid_group_names(self):
        layer = get_channel_layer()
        topics = [EVERYONE_TOPIC]
        for some_id in [1, 11, 42, 2**63 - 1]:
            topics += [room_topic(some_id), user_topic(some_id)]
        names = [topic_group(topic) for topic in topics]
        for name in names:
            self.assertTrue(name.isascii())
            self.assertLessEqual(len(name), 100)
            self.assertTrue(layer.require_valid_group_name(name))
        self.assertEqual(len(set(names)), len(names))
        self.assertEqual(topic_group(room_topic(5)), "chat.room.5")
        self.assertEqual(topic_group(user_topic(5)), "chat.user.5")

    def test_audiences_name_their_topics(self):
        self.assertEqual(events.to_room(5).topics(), [room_topic(5)])
        self.assertEqual(events.to_users([3, 1, 3]).topics(), [user_topic(1), user_topic(3)])
        self.assertEqual(events.EVERYONE.topics(), [EVERYONE_TOPIC])

    def test_limits(self):
        uploads = {"upload_max_bytes": 1000, "upload_types": ["image/png"], "attachments_max": 3}
        with self.settings(
            CHAT_UPLOAD_MAX_BYTES=1000, CHAT_UPLOAD_TYPES=["image/png"], CHAT_ATTACHMENTS_MAX=3
        ):
            self.assertEqual(
                protocol.limits_data(),
                {"body_max": 4000, "frame_max": 16384, "messages_per_10s": 10, **uploads},
            )
            with self.settings(CHAT_RATE_MESSAGES=5, CHAT_RATE_PERIOD=5.0, CHAT_BODY_MAX=100):
                self.assertEqual(
                    protocol.limits_data(),
                    {"body_max": 100, "frame_max": 16384, "messages_per_10s": 10, **uploads},
                )

    def test_encode_is_compact_and_keeps_unicode(self):
        text = protocol.encode({"type": "pong", "t": "héllo ✓"})
        self.assertEqual(text, '{"type":"pong","t":"héllo ✓"}')


class EncodeTestCase(SimpleTestCase):
    def test_compact_utf8_text(self):
        frame = {"type": "typing", "user": "zoë ☃", "active": True, "n": None}
        self.assertEqual(
            protocol.encode(frame), '{"type":"typing","user":"zoë ☃","active":true,"n":null}'
        )

    def test_what_the_fast_encoder_refuses_is_still_encoded(self):
        # A ping's `t` is echoed whatever JSON it holds: huge integers, deep nesting.
        huge, deep = 10**30, [[[[]]]]
        for _ in range(300):
            deep = [deep]
        for value in (huge, deep):
            self.assertEqual(json.loads(protocol.encode({"t": value})), {"t": value})


class EventFrameTestCase(SimpleTestCase):
    """Which events become frames on a protocol-1 socket, and which frames."""

    def test_forwarded_events_are_their_data_under_their_kind(self):
        message = {"id": 1, "body": "hi"}
        for kind in [events.MESSAGE_NEW, events.MESSAGE_UPDATED, events.MESSAGE_DELETED]:
            self.assertEqual(
                protocol.event_frame(kind, {"message": message}), {"type": kind, "message": message}
            )
        self.assertEqual(
            protocol.event_frame(events.TYPING, {"user": "bob", "active": True}),
            {"type": "typing", "user": "bob", "active": True},
        )
        for kind in [
            events.PRESENCE,
            events.ROOM_UPDATED,
            events.ROOMS_UPDATED,
            events.ROOMS_REMOVED,
            events.MEMBER_UPDATED,
            events.MEMBER_REMOVED,
        ]:
            self.assertEqual(protocol.event_frame(kind, {"x": 1})["type"], kind)

    def test_private_fields_stay_on_the_server(self):
        self.assertEqual(
            protocol.event_frame(events.TYPING, {"user": "bob", "_secret": 1}),
            {"type": "typing", "user": "bob"},
        )

    def test_events_for_the_server_only_have_no_frame(self):
        for kind in [events.ROOM_ACCESS, events.ROOM_DELETED, events.SESSION_CHECK, "unknown"]:
            self.assertIsNone(protocol.event_frame(kind, {"room_id": 1}))
            self.assertIsNone(protocol.encode_event({"kind": kind, "data": {"room_id": 1}}))

    def test_encode_event_encodes_the_frame_compactly(self):
        text = protocol.encode_event(
            {"topic": "room:1", "kind": events.TYPING, "data": {"user": "zoë", "active": True}}
        )
        self.assertEqual(text, '{"type":"typing","user":"zoë","active":true}')


class HelloMeTestCase(SimpleTestCase):
    def access(self, **fields) -> Access:
        values = {
            "see": True,
            "post": True,
            "moderate": False,
            "manage_roles": False,
            "role": None,
            "banned": False,
            "muted": False,
            "muted_until": None,
            "archived": False,
        }
        values.update(fields)
        return Access(**values)

    def test_who_the_socket_is_and_what_they_may_do(self):
        user = get_user_model()(id=7, username="alice", is_staff=False)
        self.assertEqual(
            protocol.hello_me(user, self.access()),
            {
                "id": 7,
                "username": "alice",
                "staff": False,
                "role": None,
                "muted": False,
                "muted_until": None,
                "can_moderate": False,
                "can_manage_roles": False,
            },
        )

    def test_a_muted_moderator(self):
        user = get_user_model()(id=8, username="mod")
        until = datetime(2026, 11, 21, 12, 30, tzinfo=UTC)
        me = protocol.hello_me(
            user,
            self.access(post=False, moderate=True, role="moderator", muted=True, muted_until=until),
        )
        self.assertEqual(
            (me["role"], me["muted"], me["muted_until"], me["can_moderate"]),
            ("moderator", True, "2026-11-21T12:30:00.000000Z", True),
        )
        self.assertIs(me["can_manage_roles"], False)
