from django.db import migrations, models


def refused_files_are_refused(apps, schema_editor):
    """Uploads whose file could not be read used to stay "Mapping" for good."""
    Upload = apps.get_model("uploads", "Upload")
    Upload.objects.filter(status="new").exclude(error_message="").update(status="unreadable")


def refused_files_back_to_new(apps, schema_editor):
    Upload = apps.get_model("uploads", "Upload")
    Upload.objects.filter(status__in=["unreadable", "reading"]).update(status="new")


class Migration(migrations.Migration):
    dependencies = [("uploads", "0001_initial")]

    operations = [
        migrations.AlterField(
            model_name="upload",
            name="status",
            field=models.CharField(
                choices=[
                    ("reading", "Reading"),
                    ("unreadable", "File refused"),
                    ("new", "Mapping"),
                    ("checking", "Checking"),
                    ("checked", "Checked"),
                    ("queued", "Queued"),
                    ("importing", "Importing"),
                    ("done", "Imported"),
                    ("rejected", "Not imported"),
                    ("failed", "Failed"),
                    ("abandoned", "Abandoned"),
                ],
                default="new",
                max_length=12,
            ),
        ),
        migrations.AddField(
            model_name="upload",
            name="read_report",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="upload",
            name="preview",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(refused_files_are_refused, refused_files_back_to_new),
    ]
