from django.apps import AppConfig


class ChatConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "chat"
    verbose_name = "Chat"

    def ready(self):
        from . import events, receivers  # noqa: F401 (connects the receivers)
        from .realtime.hub import ChannelLayerTransport

        # Domain events reach open sockets through the channel layer.
        events.set_transport(ChannelLayerTransport())
        from .realtime import backpressure

        backpressure.install()  # under daphne, including manage.py runserver
