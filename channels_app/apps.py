from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ChannelsConfig(AppConfig):
    name = "channels_app"
    verbose_name = "Channels"

    def ready(self) -> None:
        from channels_app.roles import sync_roles_after_migrate

        # Permissions of models added later exist only after their migrations ran.
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="channels_app.sync_roles")
