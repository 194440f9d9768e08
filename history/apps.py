from django.apps import AppConfig


class HistoryConfig(AppConfig):
    """Who changed which audience, campaign or segment, when, and what it was before."""

    name = "history"
    verbose_name = "History"
