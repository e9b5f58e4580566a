"""JSON log lines (LOG_FORMAT=json): one object per record, for a log collector.

Each line has `time` (UTC, ISO 8601), `level`, `logger` and `message`, the record's
`extra` fields as they are (chat.sockets' user_id, room, code, duration...), and
`exc_info` with the traceback when there is one. Extra fields whose names say they hold
a credential are written as "[redacted]", whatever logged them.
"""

import json
import logging
import re
from datetime import UTC, datetime

import orjson

# What every LogRecord has; anything else on a record came from `extra`.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}
_SECRET_NAME = re.compile(r"pass|secret|token|cookie|session|authorization|csrf", re.I)
REDACTED = "[redacted]"


def _plain(value):
    # Whatever JSON has no type for, as its repr. Django's request log puts the request
    # itself in `extra`: its repr names the method and the path, not headers or cookies.
    return repr(value)


class JsonFormatter(logging.Formatter):
    """Format a record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _RECORD_FIELDS and name not in entry:
                entry[name] = REDACTED if _SECRET_NAME.search(name) else value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        try:
            return orjson.dumps(entry, default=_plain, option=orjson.OPT_NON_STR_KEYS).decode()
        except orjson.JSONEncodeError:
            # What orjson refuses (integers past 64 bits, lone surrogates): a log line
            # must never be lost to its own formatting.
            return json.dumps(entry, default=_plain, skipkeys=True)
