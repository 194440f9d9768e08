from django.db import migrations

from channels_app.roles import sync_roles_in_migration


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("channels_app", "0002_default_channels"),
        ("segments", "0001_initial"),
        ("audiences", "0001_initial"),
        ("campaigns", "0001_initial"),
    ]

    operations = [migrations.RunPython(sync_roles_in_migration, migrations.RunPython.noop)]
