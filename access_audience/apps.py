from django.apps import AppConfig


class AccessAudienceConfig(AppConfig):
    """Project-wide pieces: home page, health check, error pages, setup commands."""

    name = "access_audience"
    verbose_name = "Access Audience"
