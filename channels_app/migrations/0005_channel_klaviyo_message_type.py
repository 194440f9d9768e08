from django.db import migrations, models

# The default channels' Klaviyo message types; any other channel starts as none.
MESSAGE_TYPES = {"email": "email", "sms": "sms"}


def set_message_types(apps, schema_editor):
    Channel = apps.get_model("channels_app", "Channel")
    for slug, message_type in MESSAGE_TYPES.items():
        Channel.objects.filter(slug=slug).update(klaviyo_message_type=message_type)


class Migration(migrations.Migration):
    dependencies = [("channels_app", "0004_channel_quiet_window")]

    operations = [
        migrations.AddField(
            model_name="channel",
            name="klaviyo_message_type",
            field=models.CharField(
                choices=[
                    ("email", "Email"),
                    ("sms", "SMS"),
                    ("none", "None (not sent with Klaviyo)"),
                ],
                default="none",
                help_text="What a campaign of this channel becomes in Klaviyo with “Send to "
                "Klaviyo”; None hides the button.",
                max_length=10,
                verbose_name="Klaviyo message type",
            ),
        ),
        migrations.RunPython(set_message_types, migrations.RunPython.noop),
    ]
