from django.apps import AppConfig


class RappelsFeedConfig(AppConfig):
    """Keeps rappels in step with the platform: see signals.py and export_rappels."""

    name = "rappels_feed"

    def ready(self):
        from . import signals  # noqa: F401  (connects the handlers)
