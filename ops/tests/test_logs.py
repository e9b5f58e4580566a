"""Logs (docs/operations.md, "Logs"): one line per socket opened and closed, JSON lines
with LOG_FORMAT=json, and no session key, cookie or token in any line."""

import json
import logging
import os
import subprocess
import sys

from django.conf import settings
from django.test import SimpleTestCase, override_settings

from chat.tests.test_consumers import SocketTestCase
from ops.logs import REDACTED, JsonFormatter


class CapturedLogs(logging.Handler):
    """Keep every record of the loggers a server process writes to, at every level."""

    LOGGERS = ("", "chat", "django", "channels", "daphne", "ops")

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)

    def attach(self, testcase):
        for name in self.LOGGERS:
            logger = logging.getLogger(name)
            testcase.addCleanup(logger.setLevel, logger.level)
            testcase.addCleanup(logger.removeHandler, self)
            logger.setLevel(logging.DEBUG)
            logger.addHandler(self)
        return self

    def lines(self) -> list[str]:
        """Every record as both formats write it."""
        plain = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        return [
            text
            for record in self.records
            for text in (plain.format(record), JsonFormatter().format(record))
        ]


class SocketLogTests(SocketTestCase):
    async def test_a_room_socket_logs_its_opening_and_its_end(self):
        with self.assertLogs("chat.sockets", "INFO") as logs:
            alice, _ = await self.join(self.alice)
            await alice.disconnect(code=1001)
        opened, closed = logs.records
        self.assertEqual(
            opened.getMessage(), f"Socket opened: user {self.alice.pk}, room general, protocol 1"
        )
        self.assertEqual(
            (opened.user_id, opened.room, opened.protocol), (self.alice.pk, "general", "1")
        )
        self.assertTrue(closed.getMessage().startswith(f"Socket closed: user {self.alice.pk}, "))
        self.assertEqual(
            (closed.user_id, closed.room, closed.protocol, closed.code),
            (self.alice.pk, "general", "1", 1001),
        )
        self.assertGreaterEqual(closed.duration, 0)
        self.assertLess(closed.duration, 60)

    async def test_a_tab_socket_is_logged_as_tab_and_a_refusal_with_its_code(self):
        with self.assertLogs("chat.sockets", "INFO") as logs:
            tab = await self.connect(self.bob, "/ws/")
            await self.expect(tab, "hello", protocol=2)
            await tab.disconnect()
            anonymous = await self.connect(None)
            await self.assertClosed(anonymous, 4401)
            await anonymous.disconnect()
        fields = [
            (record.user_id, record.room, record.protocol, getattr(record, "code", None))
            for record in logs.records
        ]
        self.assertEqual(
            fields,
            [
                (self.bob.pk, "tab", "2", None),
                (self.bob.pk, "tab", "2", 1000),
                (None, "general", "1", None),
                (None, "general", "1", 4401),  # the server's code, not the client's 1000
            ],
        )

    async def test_no_session_key_cookie_or_metrics_token_reaches_the_logs(self):
        captured = CapturedLogs().attach(self)
        cookie = self.cookies[self.alice.pk].decode()
        session_key = cookie.partition("=")[2]
        token = "metrics-token-that-must-stay-secret"
        with override_settings(OPS_METRICS_TOKEN=token):
            alice, _ = await self.join(self.alice)
            await alice.send_json_to({"type": "message.send", "body": "hello"})
            await self.expect(alice, "message.new")
            await alice.send_json_to({"type": "made-up"})
            await self.expect_error(alice, "bad_frame")
            await alice.disconnect()
            await self.async_client.get("/metrics", headers={"authorization": f"Bearer {token}"})
            await self.async_client.get("/metrics", headers={"authorization": f"Bearer {token}x"})
            await self.async_client.get("/", headers={"cookie": cookie})
        lines = captured.lines()
        # Not vacuous: the socket's own lines were written, and read here.
        self.assertTrue(any("Socket opened" in line for line in lines), lines)
        self.assertTrue(any("Socket closed" in line for line in lines), lines)
        for line in lines:
            self.assertNotIn(session_key, line)
            self.assertNotIn(token, line)


class JsonFormatterTests(SimpleTestCase):
    def record(self, message="Socket closed: %s", *args, exc_info=None, **extra):
        record = logging.getLogger("chat.sockets").makeRecord(
            "chat.sockets", logging.INFO, __file__, 1, message, args or ("x",), exc_info
        )
        record.__dict__.update(extra)
        return record

    def test_one_object_with_time_level_logger_message_and_the_extra_fields(self):
        line = JsonFormatter().format(
            self.record(user_id=5, room="general", code=1000, duration=1.25)
        )
        entry = json.loads(line)
        self.assertEqual(
            {name: entry[name] for name in ("level", "logger", "message")},
            {"level": "INFO", "logger": "chat.sockets", "message": "Socket closed: x"},
        )
        self.assertRegex(entry["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")
        self.assertEqual(
            {name: entry[name] for name in ("user_id", "room", "code", "duration")},
            {"user_id": 5, "room": "general", "code": 1000, "duration": 1.25},
        )
        for internal in ("args", "msg", "levelno", "pathname", "created"):
            self.assertNotIn(internal, entry)

    def test_a_traceback_stays_on_the_line(self):
        try:
            raise ValueError("broken")
        except ValueError:
            line = JsonFormatter().format(self.record(exc_info=sys.exc_info()))
        self.assertNotIn("\n", line)
        self.assertIn("ValueError: broken", json.loads(line)["exc_info"])

    def test_fields_named_for_credentials_are_redacted_and_objects_written_as_text(self):
        line = JsonFormatter().format(
            self.record(session_key="abc", auth_token="def", request=object(), big=2**70)
        )
        entry = json.loads(line)
        self.assertEqual((entry["session_key"], entry["auth_token"]), (REDACTED, REDACTED))
        self.assertIn("object object", entry["request"])
        self.assertEqual(entry["big"], 2**70)

    def run_server_process_logging(self, **environment):
        """Log one socket line in a fresh process configured by settings; return stderr."""
        code = (
            "import logging, django; django.setup(); "
            "logging.getLogger('chat.sockets').info('Socket opened: %s', 'x', "
            "extra={'room': 'general', 'user_id': 3})"
        )
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "myproject.settings"}
        env.pop("LOG_FORMAT", None)
        env.update(environment)
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stderr.strip()

    def test_log_format_json_switches_the_servers_lines_to_json(self):
        entry = json.loads(self.run_server_process_logging(LOG_FORMAT="json"))
        self.assertEqual(
            (entry["logger"], entry["level"], entry["message"], entry["room"], entry["user_id"]),
            ("chat.sockets", "INFO", "Socket opened: x", "general", 3),
        )
        plain = self.run_server_process_logging()
        self.assertRegex(plain, r" INFO chat\.sockets: Socket opened: x$")
