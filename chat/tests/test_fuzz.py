"""Property-based tests (hypothesis): whatever a client sends, the server answers as
PROTOCOL.md says, never crashes, and stores a message exactly when it should.

Three targets, all judged by one oracle written from PROTOCOL.md (`judge_text`, not
chat.realtime.protocol):
- `parse_frame` itself, a pure function: many examples, fast;
- the room WebSocket: ONE socket kept open, every fuzzed frame followed by a ping whose
  pong marks the end of the answers to it (the consumer handles frames in order);
- the HTTP API (POST a message, GET pages).

Runs are reproducible (derandomize=True, no example database). Each test prints one
summary line to the real stderr: "fuzz: <name>: N examples, M valid, K invalid, 0 unhandled".

Bugs the fuzzing found, each kept as a regression test (test_bug_1 ... test_bug_5):
1. a ping's `t` of NaN / Infinity / 1e400 came back in a pong that is not JSON;
2. parse_frame raised UnicodeEncodeError on a str holding a lone surrogate;
3. GET ?since= (before=, limit=) with more than 4300 digits was a 500;
4. a ping's `t` nested just short of the recursion limit was a server_error and a traceback;
5. a POST body over 2.5 MB, or a GET with over 1000 parameters, got an HTML 400.
"""

import asyncio
import contextlib
import json
import logging
import math
import re
import sys
import threading
from dataclasses import dataclass, field
from urllib.parse import urlencode

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max
from django.http import QueryDict
from django.test import TestCase, TransactionTestCase, override_settings
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from chat.models import Message, Room
from chat.realtime import presence, protocol
from myproject.asgi import application

from .factories import make_message, make_room, make_user, quiet_request_warnings, session_cookie

ORIGIN = b"http://localhost"
TIMEOUT = 10  # per frame; a timeout cancels the application, so be generous

# PROTOCOL.md, written out again here: the oracle does not trust chat.realtime.protocol.
FRAME_TYPES = (
    "message.send",
    "message.edit",
    "message.delete",
    "typing",
    "sync",
    "history",
    "ping",
)
ERROR_CODES = frozenset(
    {
        "bad_json",
        "bad_frame",
        "empty",
        "too_long",
        "rate_limited",
        "not_found",
        "forbidden",
        "room_archived",
        "server_error",
    }
)
ERROR_FIELDS = frozenset({"type", "code", "detail", "client_id", "retry_after"})
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_INT = 2**53 - 1
HISTORY_LIMIT_MAX = 100
PAGE_SIZE_DEFAULT = 50
SYNC_BATCH_MAX = 200


def fuzz_settings(max_examples: int):
    """Reproducible, no deadline (the database and the event loop vary in speed)."""
    return hypothesis_settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.function_scoped_fixture,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


# --- the oracle ------------------------------------------------------------------------


@dataclass
class Verdict:
    """What the protocol says of one inbound frame or request."""

    codes: frozenset = frozenset()  # not empty: an error, with one of these codes
    kind: str | None = None  # the frame type of a valid frame
    data: dict = field(default_factory=dict)
    # Codes the server may answer instead, valid or not: bad_json for NaN and Infinity,
    # which are not JSON but which Python's json reads.
    also: frozenset = frozenset()

    @property
    def valid(self) -> bool:
        return not self.codes


def invalid(*codes: str, data=None) -> Verdict:
    return Verdict(codes=frozenset(codes), data=data if isinstance(data, dict) else {})


def utf8_encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def id_ok(value, minimum: int) -> bool:
    return is_int(value) and minimum <= value <= MAX_INT


def valid_client_id(value) -> bool:
    return isinstance(value, str) and CLIENT_ID.fullmatch(value) is not None


def body_codes(value) -> set[str]:
    """The errors a message body earns (the server also refuses NUL and lone surrogates)."""
    if not isinstance(value, str):
        return {"bad_frame"}
    body = value.strip()
    if not body:
        return {"empty"}
    codes = set()
    if len(body) > settings.CHAT_BODY_MAX:
        codes.add("too_long")
    if "\x00" in body or not utf8_encodable(body):
        codes.add("bad_frame")
    return codes


def send_codes(data: dict) -> set[str]:
    codes = body_codes(data.get("body"))
    client_id = data.get("client_id")
    if client_id is not None and not valid_client_id(client_id):
        codes.add("bad_frame")
    return codes


def judge_object(data) -> Verdict:
    """Judge a decoded frame (any JSON value)."""
    if not isinstance(data, dict):
        return invalid("bad_frame")
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in FRAME_TYPES:
        return invalid("bad_frame", data=data)
    codes: set[str] = set()
    if kind == "message.send":
        codes = send_codes(data)
    elif kind == "message.edit":
        codes = body_codes(data.get("body"))
        if not id_ok(data.get("id"), 1):
            codes.add("bad_frame")
    elif kind == "message.delete":
        if not id_ok(data.get("id"), 1):
            codes.add("bad_frame")
    elif kind == "typing":
        if not isinstance(data.get("active"), bool):
            codes.add("bad_frame")
    elif kind == "sync":
        if not id_ok(data.get("since"), 0):
            codes.add("bad_frame")
    elif kind == "history":
        before, limit = data.get("before"), data.get("limit")
        if before is not None and not id_ok(before, 1):
            codes.add("bad_frame")
        if limit is not None and not (is_int(limit) and 1 <= limit <= HISTORY_LIMIT_MAX):
            codes.add("bad_frame")
    elif kind == "ping" and not utf8_encodable(json.dumps(data.get("t"), ensure_ascii=False)):
        # The pong carries `t` back in a text frame, which must be valid UTF-8.
        codes.add("bad_frame")
    return Verdict(codes=frozenset(codes), kind=kind, data=data)


def judge_json(text: str | bytes, judge) -> Verdict:
    """Decode JSON, then judge it; NaN and Infinity may be read or refused."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return invalid("bad_json")
    verdict = judge(data)
    try:
        strict_json(text)
    except (ValueError, RecursionError):
        verdict.also = frozenset({"bad_json"})
    return verdict


def judge_text(text: str) -> Verdict:
    """Judge a text frame: size first, then JSON, then the frame's fields."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > settings.CHAT_FRAME_MAX:
        return invalid("too_long")
    return judge_json(text, judge_object)


def judge_body(raw: bytes) -> Verdict:
    """Judge the body of POST /api/rooms/<slug>/messages/."""
    if len(raw) > settings.CHAT_FRAME_MAX:
        return invalid("too_long")

    def judge(data) -> Verdict:
        if not isinstance(data, dict):
            return invalid("bad_frame")
        return Verdict(codes=frozenset(send_codes(data)), kind="message.send", data=data)

    return judge_json(raw, judge)


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def strict_json(text):
    """Decode JSON as a browser would: NaN and Infinity (1e400 too) are not JSON."""
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)


def canonical(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=True)


def has_nonfinite(value) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, list):
        return any(has_nonfinite(item) for item in value)
    if isinstance(value, dict):
        return any(has_nonfinite(item) for item in value.values())
    return False


# --- strategies --------------------------------------------------------------------------

WHITESPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u200a\u2028\u2029\u3000"
ODD_CHARS = "\x00\x7f\u200b\ufeff\ud800\udbff\udc00\udfff\U0001f600\u0301\"\\/<>&'"
characters = st.one_of(
    st.characters(exclude_categories=()),  # includes lone surrogates
    st.sampled_from(WHITESPACE + ODD_CHARS),
)
texts = st.text(alphabet=characters, max_size=40)
integers = st.one_of(
    st.integers(),
    st.integers(min_value=-3, max_value=105),
    st.sampled_from([MAX_INT - 1, MAX_INT, MAX_INT + 1, 2**63, -(2**63), 10**400, -(10**400)]),
)
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
json_scalars = st.one_of(st.none(), st.booleans(), integers, finite_floats, texts)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(texts, children, max_size=4)
    ),
    max_leaves=12,
)
# NaN and Infinity: Python's json writes and reads them, though JSON has neither.
any_floats = st.one_of(finite_floats, st.sampled_from([math.nan, math.inf, -math.inf, 1e308]))
loose_values = st.recursive(
    st.one_of(json_scalars, any_floats),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(texts, children, max_size=4)
    ),
    max_leaves=8,
)

JUNK_TYPES = [
    "",
    "Message.send",
    "message.send ",
    "message_send",
    "message",
    "send",
    "on_send",
    "receive",
    "connect",
    "disconnect",
    "close",
    "websocket.receive",
    "websocket.disconnect",
    # The consumer's handlers of hub events and channel-layer messages.
    "chat.event",
    "chat_event",
    "on_event",
    "handle_event",
    "close_because",
    "check_session",
    "chat.signed_out",
    "chat_signed_out",
    "refused",
    "admit",
    "release_held",
    "send_frame",
    "send_error",
    "on_ping",
    "on_delete",
    "hello",
    "pong",
    "error",
    "message.new",
    "__class__",
    "__init__",
]
frame_types = st.one_of(
    st.sampled_from(FRAME_TYPES), st.sampled_from(JUNK_TYPES), texts, json_values
)
client_ids = st.one_of(
    st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z"),
    st.sampled_from(["dup-1", "dup-2", "a" * 64, "a" * 65, "has space", "é", "c\n", "-"]),
    json_values,
)


@st.composite
def long_bodies(draw):
    """Bodies around the length limit (hypothesis draws short texts by itself)."""
    filler = draw(st.sampled_from(["x", "é", "\U0001f600", "ab", " x"]))
    length = settings.CHAT_BODY_MAX + draw(st.integers(min_value=-3, max_value=3))
    body = (filler * length)[:length]
    pad = draw(st.sampled_from(["", " ", "\n\t", "\u3000"]))
    return pad + body + pad


bodies = st.one_of(texts, long_bodies(), json_values)


class IdRef(int):
    """Stands for an id of a message in the database, chosen when the frame is sent."""


ids = st.one_of(integers, st.builds(IdRef, st.integers(min_value=0, max_value=10**6)), json_values)
FIELDS = {
    "client_id": client_ids,
    "body": bodies,
    "id": ids,
    "active": st.one_of(st.booleans(), json_values),
    "since": st.one_of(integers, json_values),
    "before": st.one_of(integers, st.builds(IdRef, st.integers(0, 10**6)), json_values),
    "limit": st.one_of(integers, json_values),
    "t": loose_values,
}


@st.composite
def frame_objects(draw):
    """Objects that look like frames: a type, some of the fields, maybe extra keys."""
    frame = draw(st.fixed_dictionaries({}, optional=FIELDS))
    frame.update(draw(st.dictionaries(texts, json_values, max_size=2)))
    if draw(st.booleans()) or not frame:
        frame["type"] = draw(frame_types)
    return frame


near_texts = st.one_of(st.text(max_size=30), texts)
ref_ids = st.builds(IdRef, st.integers(min_value=0, max_value=10**6))
# Values that an integer field must refuse though a lax reader would take them.
int_misses = st.sampled_from([True, False, 0, -1, 1.0, 2.5, "1", "", [], {}, MAX_INT + 1])
small_ints = st.integers(min_value=-2, max_value=102)
# For each real frame type, its fields drawn mostly from values of the right kind.
NEAR_FIELDS = {
    "message.send": {
        "client_id": st.one_of(st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z"), client_ids),
        "body": st.one_of(near_texts, near_texts, int_misses),
    },
    "message.edit": {
        "id": st.one_of(ref_ids, ref_ids, integers, int_misses),
        "body": st.one_of(near_texts, near_texts, int_misses),
    },
    "message.delete": {"id": st.one_of(ref_ids, ref_ids, integers, int_misses)},
    "typing": {"active": st.one_of(st.booleans(), st.booleans(), int_misses, json_values)},
    "sync": {"since": st.one_of(small_ints, small_ints, integers, int_misses)},
    "history": {
        "before": st.one_of(st.none(), ref_ids, ref_ids, integers, int_misses),
        "limit": st.one_of(st.none(), small_ints, small_ints, integers, int_misses),
    },
    "ping": {"t": json_values},
}


@st.composite
def typed_frames(draw):
    """Frames of the real types whose fields are mostly of the right kind."""
    kind = draw(st.sampled_from(FRAME_TYPES))
    frame = {"type": kind}
    for name, strategy in NEAR_FIELDS[kind].items():
        if draw(st.integers(min_value=0, max_value=9)):  # mostly present
            frame[name] = draw(strategy)
    extra = draw(st.dictionaries(texts, json_values, max_size=2))
    frame.update({key: value for key, value in extra.items() if key not in frame})
    return frame


@st.composite
def valid_sends(draw):
    """message.send frames that the server must store (or find, for a repeated client_id)."""
    body = draw(
        st.one_of(
            st.text(alphabet=st.characters(exclude_characters="\x00"), min_size=1, max_size=60),
            long_bodies(),
        ).filter(lambda body: not body_codes(body))
    )
    pad = draw(st.sampled_from(["", " ", "  \n", "\t", "\u2003"]))
    frame = {"type": "message.send", "body": pad + body + pad}
    client_id = draw(
        st.one_of(
            st.none(),
            st.just("absent"),
            st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z"),
            st.sampled_from(["dup-1", "dup-2", "dup-3"]),
        )
    )
    if client_id != "absent":
        frame["client_id"] = client_id
    return frame


def encode_frame(value, *, ascii_only: bool = True, indent=None) -> str:
    """Encode as a client would; ensure_ascii carries lone surrogates as \\ud800 escapes."""
    return json.dumps(value, ensure_ascii=ascii_only, indent=indent)


@st.composite
def encoded_frames(draw, objects):
    return encode_frame(draw(objects), indent=draw(st.sampled_from([None, None, 1])))


# Raw text frames: random strings, JSON-ish fragments, deep nesting, big frames. A
# WebSocket text frame is valid UTF-8, so no lone surrogates here.
utf8_texts = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=80)
raw_texts = st.one_of(
    utf8_texts,
    st.sampled_from(
        [
            "{",
            "}",
            "[]",
            "{}",
            "null",
            "0",
            '""',
            " ",
            '{"type": "ping"',
            '{"type": "ping", "t": NaN',
            '{"type": "typing", "active": true, "x": NaN}',
            '{"type": "sync", "since": 1e400}',
            '{"type": "sync", "since": 1.0}',
            '{"type": "history", "limit": 1E2}',
            '{"type": "message.send", "body": "a", "body": "b", "client_id": "twice"}',
            '{"type": "message.send", "body": "\\u0000"}',
            '{"type": "message.send", "body": "\\ud83d\\ude00 ok"}',
            '{"type": "message.send", "body": "lone \\udc00"}',
            '{"type": "ping", "t": "\\ud800"}',
            '{"type": "ping", "t": {"\\udfff": 1}}',
            '\ufeff{"type": "ping"}',
            '{"type": "ping", "t": ' + "1" * 4301 + "}",
            '{"type": "ping", "t": ' + "[" * 5000 + "]" * 5000 + "}",
            '{"type": "message.send", "body": "' + "x" * 17000 + '"}',
        ]
    ),
    st.builds(lambda value: json.dumps(value, ensure_ascii=False), json_values).filter(
        utf8_encodable
    ),
)


# --- logs --------------------------------------------------------------------------------

WATCHED_LOGGERS = ("", "django", "chat", "channels", "daphne", "asyncio", "py.warnings")


class RecordingHandler(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def capture_logs(testcase) -> RecordingHandler:
    """Record every log record (the project's loggers do not propagate to the root)."""
    handler = RecordingHandler()
    for name in WATCHED_LOGGERS:
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        testcase.addCleanup(logger.removeHandler, handler)
    return handler


def bad_records(handler: RecordingHandler) -> list[str]:
    found = []
    for record in handler.records:
        text = record.getMessage()
        if record.exc_info or record.exc_text:
            text += " (with a traceback)"
        if (
            record.levelno >= logging.ERROR
            or record.exc_info
            or "Exception inside application" in text
            or "Traceback" in text
        ):
            found.append(f"{record.levelname} {record.name}: {text}")
    return found


# --- counting ----------------------------------------------------------------------------


class Stats:
    """Count the examples a test ran and print one summary line to the real stderr."""

    def __init__(self, name: str):
        self.name, self.valid, self.invalid, self.unhandled = name, 0, 0, 0

    @contextlib.contextmanager
    def example(self):
        try:
            yield self
        except BaseException as error:
            # Hypothesis's own control flow (assume) is not a failure.
            if type(error).__module__.split(".")[0] != "hypothesis":
                self.unhandled += 1
            raise

    def count(self, verdict: Verdict):
        if verdict.valid:
            self.valid += 1
        else:
            self.invalid += 1

    def report(self):
        total = self.valid + self.invalid
        print(
            f"fuzz: {self.name}: {total} examples, {self.valid} valid, "
            f"{self.invalid} invalid, {self.unhandled} unhandled",
            file=sys.__stderr__,
            flush=True,
        )


# --- 3. parse_frame, directly --------------------------------------------------------------

COMMANDS = {
    "message.send": protocol.SendCommand,
    "message.edit": protocol.EditCommand,
    "message.delete": protocol.DeleteCommand,
    "typing": protocol.TypingCommand,
    "sync": protocol.SyncCommand,
    "history": protocol.HistoryCommand,
    "ping": protocol.PingCommand,
}


class ParseFrameFuzzTestCase(TestCase):
    def check(self, text: str) -> Verdict:
        verdict = judge_text(text)
        try:
            command = protocol.parse_frame(text)
        except protocol.ProtocolError as error:
            if error.code in verdict.also:
                return verdict
            self.assertFalse(verdict.valid, msg=f"refused a valid frame: {error.code}")
            self.assertIn(error.code, verdict.codes)
            self.assertIn(error.code, ERROR_CODES)
            self.assertTrue(error.detail)
            frame = error.as_frame()
            self.assertEqual(strict_json(protocol.encode(frame)), frame)
            client_id = verdict.data.get("client_id")
            if error.code not in ("too_long", "bad_json") and valid_client_id(client_id):
                self.assertEqual(error.client_id, client_id)
            else:
                self.assertIn(error.client_id, (None, client_id))
            return verdict
        self.assertTrue(verdict.valid, msg=f"accepted {command!r}, expected {verdict.codes}")
        self.assertIsInstance(command, COMMANDS[verdict.kind])
        data = verdict.data
        if verdict.kind == "message.send":
            self.assertEqual(command.body, data["body"].strip())
            self.assertEqual(command.client_id, data.get("client_id"))
        elif verdict.kind == "message.edit":
            self.assertEqual((command.message_id, command.body), (data["id"], data["body"].strip()))
        elif verdict.kind == "history":
            limit = data.get("limit") or PAGE_SIZE_DEFAULT
            self.assertEqual((command.before, command.limit), (data.get("before"), limit))
        elif verdict.kind == "ping":
            self.assertEqual(canonical(command.t), canonical(data.get("t")))
        return verdict

    def test_parse_frame_answers_a_command_or_a_protocol_error(self):
        stats = Stats("parse_frame")

        @fuzz_settings(max_examples=1500)
        @given(
            text=st.one_of(
                encoded_frames(frame_objects()),
                encoded_frames(typed_frames()),
                st.builds(lambda v: json.dumps(v, ensure_ascii=False), loose_values),
                st.builds(lambda v: json.dumps(v, ensure_ascii=False), frame_objects()),
                st.text(alphabet=characters, max_size=80),
                raw_texts,
            )
        )
        def run(text):
            with stats.example():
                stats.count(self.check(text))

        try:
            run()
        finally:
            stats.report()

    def test_bug_2_parse_frame_with_a_lone_surrogate(self):
        # BUG 2: a str that is not UTF-8 (no real text frame is, but the function takes any
        # str) raises UnicodeEncodeError from decode_frame's size check.
        for text in ['"\ud800"', '{"type": "ping", "t": "\ud800"}']:
            with self.assertRaises(protocol.ProtocolError) as caught:
                protocol.parse_frame(text)
            self.assertIn(caught.exception.code, ("bad_frame", "bad_json"))


# --- 1. the room WebSocket ---------------------------------------------------------------


class LoopThread:
    """An event loop in a thread of its own, so one socket outlives many examples."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine, timeout: float = 60):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self):
        """Cancel what still runs on the loop (background keepers), then stop it."""

        async def cancel_the_rest():
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            self.run(cancel_the_rest(), timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


# The limits are lifted: this judges each frame's answer, not the rate of frames.
@override_settings(
    CHAT_BAD_FRAMES_MAX=10**9, CHAT_RATE_MESSAGES=10**9, CHAT_SOCKET_REQUEST_BURST=10**9
)
class SocketFuzzTestCase(TransactionTestCase):
    """One socket, many frames; each answered as the oracle says, and nothing logged."""

    def setUp(self):
        quiet_request_warnings(self)
        cache.clear()
        presence._store = None
        async_to_sync(get_channel_layer().flush)()
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.room = make_room("General")
        self.other_room = make_room("Random")
        # Messages an edit or delete may hit: bob's (forbidden), another room's and a
        # deleted one (not_found), alice's own (allowed).
        make_message(self.room, self.bob, "bob's")
        make_message(self.other_room, self.alice, "elsewhere")
        deleted = make_message(self.room, self.alice, "deleted")
        Message.objects.filter(pk=deleted.pk).update(deleted_at=deleted.created_at)
        make_message(self.room, self.alice, "alice's", client_id="seeded")
        self.cookie = session_cookie(self.alice)
        self.logs = capture_logs(self)
        self.loop = LoopThread()
        self.addCleanup(self.loop.close)
        self.socket = None
        self.pings = 0
        self.stored = self.repeated = 0  # valid sends: new rows, repeated client_ids
        self.addCleanup(self.close_socket)
        self.open_socket()

    # --- the socket --------------------------------------------------------------------

    def open_socket(self):
        async def connect():
            socket = WebsocketCommunicator(
                application,
                "/ws/rooms/general/",
                headers=[(b"origin", ORIGIN), (b"cookie", self.cookie)],
            )
            connected, _ = await socket.connect(timeout=TIMEOUT)
            assert connected
            hello = await socket.receive_json_from(timeout=TIMEOUT)
            assert hello["type"] == "hello", hello
            presence_frame = await socket.receive_json_from(timeout=TIMEOUT)
            assert presence_frame["type"] == "presence", presence_frame
            return socket

        self.socket = self.loop.run(connect())

    def close_socket(self):
        socket, self.socket = self.socket, None
        if socket is not None:
            with contextlib.suppress(BaseException):
                self.loop.run(socket.disconnect(), timeout=TIMEOUT)

    async def _exchange(self, message: dict, barrier: str) -> list[dict]:
        """Send one frame and a ping; return every frame answered before the pong."""
        await self.socket.send_input({"type": "websocket.receive", **message})
        await self.socket.send_to(text_data=json.dumps({"type": "ping", "t": barrier}))
        frames = []
        while True:
            output = await self.socket.receive_output(timeout=TIMEOUT)
            assert output["type"] == "websocket.send", f"the socket closed: {output}"
            assert output.get("bytes") is None, "a binary frame from the server"
            frame = strict_json(output["text"])
            assert isinstance(frame, dict), frame
            if frame.get("type") == "pong" and frame.get("t") == barrier:
                frames.append(frame)
                return frames
            frames.append(frame)

    def exchange(self, message: dict) -> tuple[list[dict], dict]:
        """Push one frame through the socket; return (its answers, the barrier's pong).

        A failure leaves the socket for dead: the next example opens a fresh one, so
        that hypothesis shrinks the failure, not the aftermath.
        """
        if self.socket is None:
            self.open_socket()
        self.pings += 1
        try:
            *frames, pong = self.loop.run(self._exchange(message, f"barrier-{self.pings}"))
        except BaseException:
            self.close_socket()
            raise
        return frames, pong

    # --- the database ------------------------------------------------------------------

    def snapshot(self) -> tuple:
        messages = Message.objects.aggregate(count=Count("id"), top=Max("id"), rev=Max("rev"))
        revs = tuple(Room.objects.order_by("pk").values_list("rev", flat=True))
        return messages["count"], messages["top"], messages["rev"], revs

    def room_rev(self) -> int:
        return Room.objects.values_list("rev", flat=True).get(pk=self.room.pk)

    def resolve(self, frame):
        """Replace IdRef placeholders by ids of existing messages (or just past them)."""
        if not isinstance(frame, dict) or not any(isinstance(v, IdRef) for v in frame.values()):
            return frame
        known = list(Message.objects.order_by("pk").values_list("pk", flat=True))
        known.append(known[-1] + 1)
        return {
            key: known[value % len(known)] if isinstance(value, IdRef) else value
            for key, value in frame.items()
        }

    # --- the properties ----------------------------------------------------------------

    def assertLogsClean(self):
        self.assertEqual(bad_records(self.logs), [])
        self.logs.records.clear()

    def assertError(self, frames: list[dict], verdict: Verdict, codes) -> dict:
        self.assertEqual(len(frames), 1, msg=f"expected one error {set(codes)}, got {frames}")
        error = frames[0]
        self.assertEqual(error.get("type"), "error", msg=error)
        self.assertLessEqual(set(error), ERROR_FIELDS, msg=error)
        self.assertIn(error["code"], ERROR_CODES)
        self.assertIn(error["code"], codes, msg=error)
        self.assertIsInstance(error.get("detail"), str)
        self.assertTrue(error["detail"])
        client_id = verdict.data.get("client_id")
        if "client_id" in error:
            self.assertTrue(valid_client_id(client_id), msg=error)
            self.assertEqual(error["client_id"], client_id)
        elif verdict.kind == "message.send" and error["code"] not in ("too_long", "bad_json"):
            self.assertFalse(valid_client_id(client_id), msg=f"client_id not echoed: {error}")
        return error

    def check_text(self, text: str, stats: Stats):
        verdict = judge_text(text)
        stats.count(verdict)
        before = self.snapshot()
        expected = self.expect(verdict)
        frames, pong = self.exchange({"text": text})
        self.assertLogsClean()
        self.assertEqual(pong["rev"], self.room_rev())
        after = self.snapshot()
        if len(frames) == 1 and frames[0].get("code") in verdict.also:
            self.assertError(frames, verdict, verdict.also)
            self.assertEqual(after, before, msg="an error stored something")
            return
        expected(frames, before, after)

    def check_bytes(self, data: bytes, stats: Stats):
        stats.invalid += 1
        before = self.snapshot()
        frames, _pong = self.exchange({"bytes": data})
        self.assertLogsClean()
        self.assertError(frames, Verdict(), {"bad_frame"})
        self.assertEqual(self.snapshot(), before)

    def expect(self, verdict: Verdict):
        """Read what the oracle needs from the database now; return the check to run after."""
        if not verdict.valid:

            def refused(frames, before, after):
                self.assertError(frames, verdict, verdict.codes)
                self.assertEqual(after, before, msg="an error stored something")

            return refused
        data = verdict.data
        kind = verdict.kind
        if kind == "message.send":
            return self.expect_send(data)
        if kind in ("message.edit", "message.delete"):
            return self.expect_change(kind, data)

        def answered(frames, before, after):
            self.assertEqual(after, before, msg=f"{kind} changed the database")
            if kind == "typing":
                self.assertEqual(frames, [], msg="typing is never echoed to its sender")
                return
            self.assertEqual(len(frames), 1, msg=frames)
            frame = frames[0]
            if kind == "ping":
                self.assertEqual(frame["type"], "pong")
                self.assertEqual(canonical(frame["t"]), canonical(data.get("t")))
                self.assertEqual(frame["rev"], self.room_rev())
            elif kind == "sync":
                self.assertEqual(frame["type"], "sync")
                revs = [message["rev"] for message in frame["messages"]]
                self.assertEqual(revs, sorted(set(revs)))
                self.assertTrue(all(rev > data["since"] for rev in revs), msg=frame)
                self.assertLessEqual(len(revs), SYNC_BATCH_MAX)
                self.assertIsInstance(frame["complete"], bool)
                self.assertIsInstance(frame["rev"], int)
            elif kind == "history":
                self.assertEqual(frame["type"], "history")
                found = [message["id"] for message in frame["messages"]]
                self.assertEqual(found, sorted(set(found)))
                self.assertLessEqual(len(found), data.get("limit") or PAGE_SIZE_DEFAULT)
                if data.get("before") is not None:
                    self.assertTrue(all(i < data["before"] for i in found), msg=frame)
                self.assertTrue(all(m["room"] == "general" for m in frame["messages"]))
                self.assertIsInstance(frame["has_more"], bool)

        return answered

    def expect_send(self, data: dict):
        client_id = data.get("client_id")
        existing = None
        if client_id is not None:
            existing = Message.objects.filter(
                room=self.room, author=self.alice, client_id=client_id
            ).first()

        def sent(frames, before, after):
            self.assertEqual(len(frames), 1, msg=frames)
            frame = frames[0]
            self.assertEqual(frame.get("type"), "message.new", msg=frame)
            message = frame["message"]
            if existing is not None:
                self.assertEqual(after, before, msg="a repeated client_id stored a row")
                self.assertEqual(message["id"], existing.pk)
                self.repeated += 1
                return
            self.assertEqual(after[0], before[0] + 1, msg="not exactly one row stored")
            self.stored += 1
            stored = Message.objects.get(pk=message["id"])
            self.assertEqual(message["body"], data["body"].strip())
            self.assertEqual(stored.body, data["body"].strip())
            self.assertEqual(
                (message["client_id"], message["rev"], message["room"], message["deleted"]),
                (client_id, self.room_rev(), "general", False),
            )
            self.assertEqual((stored.author_id, stored.room_id), (self.alice.pk, self.room.pk))
            self.assertEqual(
                message["author"], {"id": self.alice.pk, "username": "alice", "display_name": ""}
            )

        return sent

    def expect_change(self, kind: str, data: dict):
        target = Message.objects.filter(pk=data["id"]).first()
        if target is None or target.room_id != self.room.pk or target.deleted_at is not None:
            codes = {"not_found"}
        elif target.author_id != self.alice.pk:
            codes = {"forbidden"}
        else:
            codes = set()
        if codes:

            def refused(frames, before, after):
                self.assertError(frames, Verdict(), codes)
                self.assertEqual(after, before)

            return refused
        body = data["body"].strip() if kind == "message.edit" else ""
        bumps = kind == "message.delete" or target.body != body
        old_rev = self.room_rev()

        def changed(frames, before, after):
            self.assertEqual(len(frames), 1, msg=frames)
            frame = frames[0]
            wanted = "message.updated" if kind == "message.edit" else "message.deleted"
            self.assertEqual(frame.get("type"), wanted, msg=frame)
            message = frame["message"]
            self.assertEqual(message["id"], target.pk)
            self.assertEqual(message["body"], body)
            self.assertEqual(message["deleted"], kind == "message.delete")
            self.assertEqual(after[0], before[0], msg="an edit or delete added a row")
            self.assertEqual(self.room_rev(), old_rev + (1 if bumps else 0))
            stored = Message.objects.get(pk=target.pk)
            if kind == "message.edit":
                self.assertEqual(stored.body, body)
            else:
                self.assertIsNotNone(stored.deleted_at)

        return changed

    def assertStillOpen(self):
        frames, pong = self.exchange({"text": json.dumps({"type": "ping", "t": "still-open"})})
        self.assertEqual([frame["t"] for frame in frames], ["still-open"])
        self.assertEqual(pong["type"], "pong")

    # --- the tests ---------------------------------------------------------------------

    def test_fuzzed_frames(self):
        stats = Stats("socket frames")

        @fuzz_settings(max_examples=600)
        @given(
            frame=st.one_of(
                frame_objects(),
                frame_objects().map(lambda frame: {**frame, "type": "message.send"}),
                typed_frames(),
                typed_frames(),
                json_values,
            ),
            indent=st.sampled_from([None, None, None, 2]),
        )
        def run(frame, indent):
            with stats.example():
                self.check_text(encode_frame(self.resolve(frame), indent=indent), stats)

        try:
            run()
            self.assertStillOpen()
        finally:
            stats.report()

    def test_valid_sends(self):
        stats = Stats("socket valid sends")

        @fuzz_settings(max_examples=200)
        @given(frame=valid_sends(), ascii_only=st.booleans())
        def run(frame, ascii_only):
            with stats.example():
                self.check_text(encode_frame(frame, ascii_only=ascii_only), stats)

        try:
            run()
            self.assertStillOpen()
        finally:
            stats.report()
        # Both halves of the property ran: new messages, and repeats that stored nothing.
        self.assertGreater(self.stored, 50)
        self.assertGreater(self.repeated, 10)

    def test_raw_text_and_binary_frames(self):
        stats = Stats("socket raw text and bytes")

        @fuzz_settings(max_examples=300)
        @given(
            message=st.one_of(
                raw_texts.map(lambda text: ("text", text)),
                st.binary(max_size=80).map(lambda data: ("bytes", data)),
                st.builds(lambda frame: ("bytes", json.dumps(frame).encode()), valid_sends()),
            )
        )
        def run(message):
            with stats.example():
                kind, payload = message
                if kind == "text":
                    self.check_text(payload, stats)
                else:
                    self.check_bytes(payload, stats)

        try:
            run()
            self.assertStillOpen()
        finally:
            stats.report()

    def test_bug_1_nonfinite_ping_is_answered_with_json(self):
        # BUG 1: the pong repeats NaN / Infinity, which JSON.parse in a browser refuses.
        for text in ['{"type": "ping", "t": NaN}', '{"type": "ping", "t": 1e400}']:
            frames, _pong = self.exchange({"text": text})  # strict_json raises on NaN
            self.assertEqual(len(frames), 1)

    def test_bug_4_deeply_nested_ping(self):
        # BUG 4: json.loads accepts a `t` nested a few levels short of the recursion
        # limit, but encoding the pong, a few frames deeper on the stack, raises
        # RecursionError: a server_error and "Frame failed" logged at ERROR.
        # Keep the expected tracebacks off the console; they are still recorded.
        chat_logger = logging.getLogger("chat")
        self.addCleanup(setattr, chat_logger, "handlers", chat_logger.handlers)
        chat_logger.handlers = [self.logs]
        failures = []
        for depth in [*range(1, 900, 50), *range(900, 1100)]:
            text = '{"type": "ping", "t": ' + "[" * depth + "]" * depth + "}"
            frames, _pong = self.exchange({"text": text})
            answer = frames[0] if len(frames) == 1 else {"frames": frames}
            if answer.get("type") != "pong" and answer.get("code") != "bad_json":
                failures.append((depth, answer.get("code")))
            if bad_records(self.logs):
                failures.append((depth, "logged an error"))
            self.logs.records.clear()
        self.assertEqual(failures, [])


# --- 2. the HTTP API ---------------------------------------------------------------------


@override_settings(CHAT_RATE_MESSAGES=10**9)
class ApiFuzzTestCase(TestCase):
    def setUp(self):
        quiet_request_warnings(self)
        cache.clear()
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.room = make_room("General")
        make_message(self.room, self.bob, "bob's")
        make_message(self.room, self.alice, "alice's", client_id="seeded")
        self.client.force_login(self.alice)
        self.url = reverse("chat:api_room_messages", kwargs={"slug": "general"})
        self.logs = capture_logs(self)
        self.stored = self.repeated = 0  # valid posts: new rows, repeated client_ids

    def snapshot(self) -> tuple:
        messages = Message.objects.aggregate(count=Count("id"), top=Max("id"), rev=Max("rev"))
        return messages["count"], messages["top"], messages["rev"], self.room_rev()

    def room_rev(self) -> int:
        return Room.objects.values_list("rev", flat=True).get(pk=self.room.pk)

    def answer(self, response) -> dict:
        self.assertNotEqual(response.status_code, 500, msg=response.content[:300])
        self.assertEqual(response["Content-Type"], "application/json", msg=response.status_code)
        data = strict_json(response.content.decode())
        self.assertIsInstance(data, dict)
        self.assertEqual(bad_records(self.logs), [])
        return data

    def assertError(self, response, data: dict, codes):
        self.assertEqual(response.status_code, 400, msg=data)
        self.assertEqual(set(data), {"error"})
        error = data["error"]
        self.assertEqual(set(error), {"code", "detail"}, msg=error)
        self.assertIn(error["code"], ERROR_CODES)
        self.assertIn(error["code"], codes, msg=error)
        self.assertIsInstance(error["detail"], str)
        self.assertTrue(error["detail"])

    def check_post(self, raw: bytes, content_type: str, stats: Stats):
        verdict = judge_body(raw)
        stats.count(verdict)
        existing = None
        client_id = verdict.data.get("client_id")
        if verdict.valid and client_id is not None:
            existing = Message.objects.filter(
                room=self.room, author=self.alice, client_id=client_id
            ).first()
        before = self.snapshot()
        response = self.client.post(self.url, raw, content_type=content_type)
        data = self.answer(response)
        after = self.snapshot()
        if data.get("error", {}).get("code") in verdict.also:
            self.assertError(response, data, verdict.also)
            self.assertEqual(after, before, msg="an error stored something")
            return
        if not verdict.valid:
            self.assertError(response, data, verdict.codes)
            self.assertEqual(after, before, msg="an error stored something")
            return
        message = data["message"]
        if existing is not None:
            self.assertEqual(response.status_code, 200, msg=data)
            self.assertEqual(message["id"], existing.pk)
            self.assertEqual(after, before, msg="a repeated client_id stored a row")
            self.repeated += 1
            return
        self.assertEqual(response.status_code, 201, msg=data)
        self.stored += 1
        self.assertEqual(after[0], before[0] + 1)
        self.assertEqual(after[3], before[3] + 1)
        body = verdict.data["body"].strip()
        self.assertEqual(message["body"], body)
        self.assertEqual(Message.objects.get(pk=message["id"]).body, body)
        self.assertEqual((message["client_id"], message["rev"]), (client_id, after[3]))

    def test_post(self):
        stats = Stats("http post")

        @fuzz_settings(max_examples=400)
        @given(
            raw=st.one_of(
                st.binary(max_size=100),
                st.builds(lambda v: json.dumps(v).encode(), json_values),
                st.builds(lambda v: json.dumps(v).encode(), frame_objects()),
                # ensure_ascii=False and surrogatepass: lone surrogates as invalid UTF-8.
                st.builds(
                    lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass"),
                    frame_objects(),
                ),
                st.builds(lambda v: json.dumps(v).encode(), valid_sends()),
                st.builds(lambda v: json.dumps(v).encode("utf-16"), valid_sends()),
                raw_texts.map(str.encode),
            ),
            content_type=st.sampled_from(
                ["application/json", "text/plain", "application/x-www-form-urlencoded"]
            ),
        )
        def run(raw, content_type):
            with stats.example():
                self.check_post(raw, content_type, stats)

        try:
            run()
        finally:
            stats.report()
        self.assertGreater(self.stored, 20)
        self.assertGreater(self.repeated, 5)

    def check_get(self, query_string: str, stats: Stats):
        query = QueryDict(query_string)

        def number(name: str, minimum: int, maximum: int = MAX_INT):
            value = query.get(name)
            if value is None:
                return None, True
            ok = value.isascii() and value.isdigit() and minimum <= int(value) <= maximum
            return (int(value) if ok else None), ok

        since, since_ok = number("since", 0)
        before, before_ok = number("before", 1)
        after, after_ok = number("after", 0)
        around, around_ok = number("around", 1)
        limit, limit_ok = number("limit", 1, HISTORY_LIMIT_MAX)
        if "since" in query:  # "When since is given, before and limit are ignored."
            ok = since_ok
        else:
            anchors = sum(name in query for name in ("before", "after", "around"))
            ok = before_ok and after_ok and around_ok and limit_ok and anchors <= 1
        verdict = Verdict() if ok else invalid("bad_frame")
        stats.count(verdict)
        before_snapshot = self.snapshot()
        response = self.client.get(f"{self.url}?{query_string}")
        data = self.answer(response)
        self.assertEqual(self.snapshot(), before_snapshot, msg="a GET changed the database")
        if not ok:
            self.assertError(response, data, {"bad_frame"})
            return
        if "since" not in query and around is not None and not self.in_room(around):
            self.assertEqual(response.status_code, 404, msg=data)
            self.assertEqual(data["error"]["code"], "not_found")
            return
        self.assertEqual(response.status_code, 200, msg=data)
        if "since" in query:
            self.assertEqual(set(data), {"messages", "rev", "complete"})
            self.assertTrue(all(m["rev"] > since for m in data["messages"]))
            return
        self.assertLessEqual(len(data["messages"]), limit or PAGE_SIZE_DEFAULT)
        ids = [m["id"] for m in data["messages"]]
        if after is not None:
            self.assertEqual(set(data), {"messages", "has_newer"})
            self.assertTrue(all(i > after for i in ids))
        elif around is not None:
            self.assertEqual(set(data), {"messages", "has_more", "has_newer"})
            self.assertIn(around, ids)
        else:
            self.assertEqual(set(data), {"messages", "has_more"})
            if before is not None:
                self.assertTrue(all(i < before for i in ids))

    def in_room(self, message_id: int) -> bool:
        return Message.objects.filter(pk=message_id, room=self.room).exists()

    def test_get(self):
        stats = Stats("http get")
        names = st.one_of(
            st.sampled_from(["since", "before", "after", "around", "limit", "t", "x"]), st.text()
        )
        values = st.one_of(
            st.text(alphabet="0123456789", max_size=20),
            st.integers(min_value=-5, max_value=200).map(str),
            integers.map(str),
            st.sampled_from(
                ["", " 1", "1 ", "+1", "1.5", "1e3", "0x10", "٣", "¹", "1_000", "9" * 4300]
            ),
            st.text(max_size=10),
        )
        pairs = st.lists(st.tuples(names, values), max_size=5)

        @fuzz_settings(max_examples=300)
        @given(
            query_string=st.one_of(
                pairs.map(urlencode),
                st.text(max_size=40),
                st.text(alphabet="sincebforelmt=&;%+0123456789", max_size=40),
            )
        )
        def run(query_string):
            with stats.example():
                self.check_get(query_string, stats)

        try:
            run()
        finally:
            stats.report()

    def quiet_django_logs(self):
        """Keep expected tracebacks off the console; they are still recorded."""
        django_logger = logging.getLogger("django")
        self.addCleanup(setattr, django_logger, "handlers", django_logger.handlers)
        django_logger.handlers = [self.logs]

    def test_bug_3_long_digit_strings_in_the_query(self):
        # BUG 3: int() refuses more than 4300 digits (ValueError): a 500, not a 400.
        self.quiet_django_logs()
        for name in ("since", "before", "limit"):
            response = self.client.get(self.url, {name: "1" * 4301})
            self.assertError(response, self.answer(response), {"bad_frame"})

    def test_bug_5a_body_over_the_upload_limit(self):
        # BUG 5a: past DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) reading request.body raises
        # RequestDataTooBig: Django answers an HTML 400 and logs it at ERROR.
        self.quiet_django_logs()
        raw = b'{"body": "' + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + b'"}'
        response = self.client.post(self.url, raw, content_type="application/json")
        self.assertError(response, self.answer(response), {"too_long"})

    def test_bug_5b_too_many_query_parameters(self):
        # BUG 5b: past DATA_UPLOAD_MAX_NUMBER_FIELDS (1000) request.GET raises
        # TooManyFieldsSent: Django answers an HTML 400 and logs it at ERROR.
        self.quiet_django_logs()
        fields = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1
        response = self.client.get(f"{self.url}?{'&'.join(['x=1'] * fields)}")
        self.assertError(response, self.answer(response), {"bad_frame"})
