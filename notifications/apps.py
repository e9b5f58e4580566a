from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        from chat.realtime import tab, tab_protocol

        from . import events, receivers, selectors  # noqa: F401 (receivers connect)

        # Every tab's hello carries the inbox and the user's notification defaults, and
        # their events reach the user's tabs.
        tab.add_hello_part("inbox", selectors.hello_inbox)
        tab.add_hello_part("defaults", selectors.defaults_for)
        for kind in (
            events.NOTIFICATION_NEW,
            events.NOTIFICATION_REMOVED,
            events.NOTIFICATION_UPDATED,
            events.NOTIFICATIONS_READ,
            events.PREFERENCES_UPDATED,
        ):
            tab_protocol.forward_user_kind(kind)
