"""WebSocket URL routes of the chat app, and the router of every socket."""

from channels.routing import URLRouter
from django.urls import Resolver404, re_path

from ..models import SLUG_PATTERN
from .consumer import NoRouteConsumer, RoomConsumer
from .tab import TabConsumer

websocket_urlpatterns = [
    # Protocol 2: one socket per tab, for every room the user follows.
    re_path(r"^ws/$", TabConsumer.as_asgi()),
    # Protocol 1: one socket per room.
    re_path(rf"^ws/rooms/(?P<slug>{SLUG_PATTERN})/$", RoomConsumer.as_asgi()),
    # Anything else is refused cleanly rather than raising "No route found".
    re_path(r"", NoRouteConsumer.as_asgi()),
]


class SocketRouter(URLRouter):
    """channels' URLRouter, as the outermost router of the sockets, off their call stack.

    It returns the consumer's own coroutine rather than awaiting it, and makes the
    consumer itself rather than through the function of as_asgi(): each would otherwise
    be a frame suspended for as long as the socket is open. The matching is URLRouter's.
    """

    # An ASGI 3 application, though __call__ is not a coroutine function.
    _asgi_single_callable = True

    def __call__(self, scope, receive, send):
        path = scope.get("path_remaining", scope.get("path", None))
        if path is None:
            raise ValueError("No 'path' key in connection scope, cannot route URLs")
        if "path_remaining" not in scope:
            root_path = scope.get("root_path", "")
            if root_path and not path.startswith(root_path):
                raise ValueError(f"No route found for path {path!r}.")
            path = path[len(root_path) :]
        path = path.lstrip("/")
        for route in self.routes:
            try:
                match = route.pattern.match(path)
            except Resolver404:
                continue
            if match:
                new_path, args, kwargs = match
                kwargs.update(route.default_args)
                outer = scope.get("url_route", {})
                scope = dict(
                    scope,
                    path_remaining=new_path,
                    url_route={
                        "args": outer.get("args", ()) + args,
                        "kwargs": {**outer.get("kwargs", {}), **kwargs},
                    },
                )
                return _application(route.callback)(scope, receive, send)
        if "path_remaining" in scope:
            raise Resolver404(f"No route found for path {path!r}.")
        raise ValueError(f"No route found for path {path!r}.")


def _application(callback):
    """Return a route's ASGI application: a new consumer, for a consumer's as_asgi()."""
    consumer_class = getattr(callback, "consumer_class", None)
    if consumer_class is None:
        return callback
    return consumer_class(**callback.consumer_initkwargs)
