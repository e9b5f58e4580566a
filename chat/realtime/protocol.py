"""The wire format of docs/protocol.md: frame validation, frames from domain data, codes.

Both transports, the WebSocket consumer and the HTTP API, validate through the
functions here, so a message is judged the same way whichever way it arrives. Domain
errors (chat.errors) and events (chat.events) become frames here and nowhere else.

The codes and ProtocolError are in wire.py, what comes in in frames_in.py, what goes out
in frames_out.py; this module is where the rest of the project finds all of it.
"""

from ..records import MESSAGE_FIELDS, format_time, message_data, message_row_data, room_data
from .frames_in import *  # noqa: F403
from .frames_in import _client_id_of  # noqa: F401 (protocol 2's frames read it)
from .frames_out import *  # noqa: F403
from .wire import *  # noqa: F403

__all__ = ["MESSAGE_FIELDS", "format_time", "message_data", "message_row_data", "room_data"]
