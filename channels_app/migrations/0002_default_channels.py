from django.db import migrations

DEFAULT_CHANNELS = [("email", "Email", 10), ("sms", "SMS", 20), ("meta", "Meta", 30)]


def create_channels(apps, schema_editor):
    Channel = apps.get_model("channels_app", "Channel")
    for slug, name, position in DEFAULT_CHANNELS:
        Channel.objects.get_or_create(slug=slug, defaults={"name": name, "position": position})


class Migration(migrations.Migration):
    dependencies = [("channels_app", "0001_initial")]

    operations = [migrations.RunPython(create_channels, migrations.RunPython.noop)]
