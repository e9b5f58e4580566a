from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Running the site: health checks, metrics and the staff dashboard."""

    name = "ops"
    verbose_name = "Operations"
