"""The example bot's commands, and the CLI's arguments and environment."""

import pytest
from bot import USAGE, Reminder, answer, parse_delay
from chat_client.cli import UsageError, client_from_env, parse_args


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("10m", 600), ("1s", 1), ("2h", 7200), ("24h", 86400), ("25h", None), ("0s", None),
     ("10", None), ("m", None), ("1d", None), ("-1s", None)],
)  # fmt: skip
def test_delays(value, seconds):
    assert parse_delay(value) == seconds


def test_answers():
    assert answer("!ping") == "pong"
    assert answer("  !ping ") == "pong"
    assert answer("!pingpong") is None
    assert answer("hello") is None
    assert answer("!remind 10m take a break") == Reminder(600, "take a break")
    assert answer("!remind 10m") == USAGE
    assert answer("!remind soon take a break") == USAGE
    assert answer("!remind") == USAGE
    assert answer("!reminder 10m x") is None


def test_chat_room_is_the_interactive_mode():
    assert parse_args(["general"]).command == "interactive"
    args = parse_args(["history", "general", "--limit", "3", "--json"])
    assert (args.command, args.room, args.limit, args.json) == ("history", "general", 3, True)
    with pytest.raises(UsageError):
        parse_args(["history", "general", "--limit", "0"])


def test_the_environment_is_required():
    with pytest.raises(UsageError, match="CHAT_URL"):
        client_from_env({"CHAT_TOKEN": "chat_x"})
    with pytest.raises(UsageError, match="CHAT_TOKEN"):
        client_from_env({"CHAT_URL": "http://127.0.0.1:8000"})
    with pytest.raises(UsageError, match="http"):
        client_from_env({"CHAT_URL": "ftp://example.com", "CHAT_TOKEN": "chat_x"})
    client = client_from_env({"CHAT_URL": "https://chat.example.com/", "CHAT_TOKEN": "chat_x"})
    assert client.ws_base == "wss://chat.example.com"
    assert client.socket_headers() == {"Authorization": "Bearer chat_x"}


def test_chat_url_may_name_several_servers():
    environ = {"CHAT_URL": "http://127.0.0.1:8001, http://127.0.0.1:8002/", "CHAT_TOKEN": "chat_x"}
    client = client_from_env(environ)
    assert client.urls == ["http://127.0.0.1:8001", "http://127.0.0.1:8002"]
    assert client.url == "http://127.0.0.1:8001"
    with pytest.raises(UsageError, match="http"):
        client_from_env({"CHAT_URL": "http://127.0.0.1:8001,ftp://x", "CHAT_TOKEN": "chat_x"})
