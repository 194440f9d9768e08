from django.core.management.base import BaseCommand

from integrations.uploads.services import uploads_cleanup


class Command(BaseCommand):
    help = (
        "Fail dry runs and imports whose worker stopped, abandon uploads left unfinished for a "
        "day, and remove the files of finished uploads (of failed ones after a day, so they "
        "can be started again until then). Run it daily, e.g. from cron."
    )

    def handle(self, *args, **options):
        removed = uploads_cleanup()
        self.stdout.write(f"Removed {removed} uploaded file{'s' if removed != 1 else ''}.")
