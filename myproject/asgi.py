"""ASGI entry point: HTTP goes to Django, WebSockets to the chat consumers and the staff
dashboard's."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myproject.settings")
# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter

from chat.realtime.auth import ResilientAuthMiddlewareStack
from chat.realtime.origin import SameSiteOriginValidator
from chat.realtime.routing import SocketRouter
from chat.realtime.routing import websocket_urlpatterns as chat_websocket_urlpatterns
from ops.processes import HeartbeatMiddleware
from ops.routing import websocket_urlpatterns as ops_websocket_urlpatterns

# Each process publishes its heartbeat (the staff dashboard) from its first connection on.
application = HeartbeatMiddleware(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": SameSiteOriginValidator(
                ResilientAuthMiddlewareStack(
                    SocketRouter(ops_websocket_urlpatterns + chat_websocket_urlpatterns)
                )
            ),
        }
    )
)
