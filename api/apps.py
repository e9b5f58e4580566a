from django.apps import AppConfig


class ApiConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "api"
    verbose_name = "API"

    def ready(self):
        from chat.realtime import auth

        from . import selectors, services

        # Chat's sockets sign in the bearer of a token, and its session watch checks them.
        auth.set_token_authority(
            auth.TokenAuthority(
                authenticate=services.token_authenticate, live=selectors.live_token_ids
            )
        )
