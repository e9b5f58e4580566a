"""The production server: `python -m myproject.serve [-b HOST] [-p PORT] [--proxy-headers]
[application]`.

uvicorn, on uvloop and httptools, with its websockets-sansio implementation: of the ASGI
servers measured with this application (bench/RESULTS.md, "ASGI servers") the one that
delivers most per CPU second and passes every check of ops/tests/test_asgi_servers.py
(keep-alive pings, message size limit, proxy headers, a client that stops reading, close
frames on SIGTERM) and the fault tests on PostgreSQL + Redis. Its settings are the
deployment's (docs/operations.md, "Running the server"): they are flags here, with the
documented values as defaults.

`--server daphne` runs daphne instead, on uvloop, with daphne's own arguments after it:
the server of `manage.py runserver`, and the benchmark's reference.
"""

import argparse
import asyncio
import sys

DEFAULT_APPLICATION = "myproject.asgi:application"


def use_uvloop() -> str:
    """Make new event loops uvloop's when it is installed; say which loop it will be."""
    try:
        import uvloop
    except ImportError:
        return "asyncio's default event loop (uvloop is not installed)"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return f"uvloop {uvloop.__version__}"


def parser() -> argparse.ArgumentParser:
    """Return the command's arguments, with docs/operations.md's values as defaults."""
    parser = argparse.ArgumentParser(prog="python -m myproject.serve", description=__doc__)
    parser.add_argument("-b", "--bind", default="127.0.0.1", help="address to listen on")
    parser.add_argument("-p", "--port", type=int, default=8000)
    parser.add_argument(
        "--proxy-headers",
        action="store_true",
        help="take the client's address and scheme from X-Forwarded-For and -Proto",
    )
    parser.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        help="with --proxy-headers: the proxies believed, comma-separated ('*': any peer)",
    )
    parser.add_argument(
        "--ping-interval", type=float, default=20.0, help="seconds between keep-alive pings"
    )
    parser.add_argument("--ping-timeout", type=float, default=30.0, help="seconds a pong may take")
    parser.add_argument(
        "--max-message-size",
        type=int,
        default=65536,
        help="largest WebSocket message, in bytes (at least CHAT_SEND_FRAME_MAX)",
    )
    parser.add_argument(
        "--graceful-timeout",
        type=int,
        default=10,
        help="seconds a stop waits for open requests and sockets",
    )
    parser.add_argument("application", nargs="?", default=DEFAULT_APPLICATION)
    return parser


def serve_uvicorn(argv: list[str], loop: str) -> None:
    import uvicorn

    options = parser().parse_args(argv)
    print(f"myproject.serve: uvicorn on {loop}", file=sys.stderr, flush=True)
    uvicorn.run(
        options.application,
        host=options.bind,
        port=options.port,
        loop="uvloop" if loop.startswith("uvloop") else "asyncio",
        http="httptools",
        ws="websockets-sansio",
        ws_max_size=options.max_message_size,
        ws_ping_interval=options.ping_interval,
        ws_ping_timeout=options.ping_timeout,
        # The browsers' compression costs CPU per frame on every socket, for chat's
        # small frames; daphne negotiated none either.
        ws_per_message_deflate=False,
        # Channels' router refuses lifespan events: nothing here needs them.
        lifespan="off",
        proxy_headers=options.proxy_headers,
        forwarded_allow_ips=options.forwarded_allow_ips,
        timeout_graceful_shutdown=options.graceful_timeout,
        # Django's LOGGING (settings) formats every record, uvicorn's included.
        log_config=None,
    )


def serve_daphne(argv: list[str], loop: str) -> None:
    # daphne creates its event loop when it is imported, from the event loop policy then
    # in force: uvloop's is set before (use_uvloop), which the `daphne` command cannot.
    print(f"myproject.serve: daphne on {loop}", file=sys.stderr, flush=True)
    from chat.realtime.backpressure import install

    install()  # before daphne serves; chat's ready() does it too, for manage.py runserver
    from daphne.cli import CommandLineInterface

    CommandLineInterface().run(argv)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    loop = use_uvloop()
    if argv[:2] == ["--server", "daphne"]:
        serve_daphne(argv[2:], loop)
    else:
        serve_uvicorn(argv, loop)


if __name__ == "__main__":
    main()
