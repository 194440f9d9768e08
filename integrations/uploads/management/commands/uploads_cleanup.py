from django.core.management.base import BaseCommand

from integrations.uploads.services import uploads_cleanup


class Command(BaseCommand):
    help = (
        "Remove uploaded files of finished uploads and abandon uploads left unfinished for a "
        "day (run it daily, e.g. from cron)."
    )

    def handle(self, *args, **options):
        removed = uploads_cleanup()
        self.stdout.write(f"Removed {removed} uploaded file{'s' if removed != 1 else ''}.")
