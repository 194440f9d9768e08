from django.db import migrations, models

# The default channels' quiet windows: email-like channels 16 hours, SMS a whole day.
QUIET_WINDOWS = {"email": 16, "sms": 24, "meta": 16}


def set_quiet_windows(apps, schema_editor):
    Channel = apps.get_model("channels_app", "Channel")
    for slug, hours in QUIET_WINDOWS.items():
        Channel.objects.filter(slug=slug).update(quiet_window_hours=hours)


class Migration(migrations.Migration):
    dependencies = [("channels_app", "0003_roles")]

    operations = [
        migrations.AddField(
            model_name="channel",
            name="quiet_window_hours",
            field=models.PositiveSmallIntegerField(
                default=16,
                help_text="Two campaigns of this channel sent less than this many hours apart to "
                "the same segment are flagged as colliding. Usually 16 for email-like channels, "
                "24 for SMS.",
                verbose_name="quiet window (hours)",
            ),
        ),
        migrations.RunPython(set_quiet_windows, migrations.RunPython.noop),
    ]
