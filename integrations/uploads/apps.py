from django.apps import AppConfig


class UploadsConfig(AppConfig):
    name = "integrations.uploads"
    label = "uploads"
    verbose_name = "Data uploads"
