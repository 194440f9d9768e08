"""The two roles marketing teams get: Marketer (works with everything) and Viewer (reads)."""

from django.contrib.auth.management import create_permissions

MARKETER = "Marketer"
VIEWER = "Viewer"

_MANAGED_MODELS = [
    ("channels_app", "channel"),
    ("segments", "segment"),
    ("audiences", "audience"),
    ("campaigns", "campaign"),
]

# "app_label.codename"; permissions that do not exist (yet) are skipped.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    VIEWER: [
        "channels_app.view_channel",
        "segments.view_segment",
        "audiences.view_audience",
        "campaigns.view_campaign",
        "klaviyo.view_syncrun",
        "klaviyo.view_campaignpush",
        "uploads.view_upload",
    ],
    MARKETER: [
        "channels_app.view_channel",
        *(
            f"{app}.{action}_{model}"
            for app, model in _MANAGED_MODELS[1:]
            for action in ("view", "add", "change", "delete")
        ),
        "klaviyo.view_syncrun",
        "klaviyo.add_syncrun",
        "klaviyo.view_campaignpush",
        "klaviyo.add_campaignpush",
        "uploads.view_upload",
        "uploads.add_upload",
    ],
}


def sync_roles(apps) -> None:
    """Create the role groups and give them exactly their permissions (idempotent)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for name in names:
            app_label, codename = name.split(".")
            wanted.extend(
                Permission.objects.filter(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(wanted)


def sync_roles_in_migration(apps, schema_editor) -> None:
    # Permissions are normally created after all migrations; create them now so the groups
    # can be filled in the same migrate run.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    sync_roles(apps)


def sync_roles_after_migrate(sender, apps=None, **kwargs) -> None:
    from django.apps import apps as global_apps

    sync_roles(apps or global_apps)
