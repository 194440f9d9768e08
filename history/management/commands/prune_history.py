from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from history.services import history_prune


class Command(BaseCommand):
    help = (
        "Delete history entries older than HISTORY_RETENTION_DAYS (or --older-than-days). "
        "Without either, history is kept forever and nothing is deleted."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than-days", type=int, default=None)

    def handle(self, *args, older_than_days=None, **options):
        if older_than_days is not None and older_than_days < 0:
            raise CommandError("--older-than-days must be 0 or more.")
        if older_than_days is None and settings.HISTORY_RETENTION_DAYS is None:
            self.stdout.write("History is kept forever (HISTORY_RETENTION_DAYS is not set).")
            return
        deleted = history_prune(older_than_days=older_than_days)
        self.stdout.write(f"Deleted {deleted} history entr{'y' if deleted == 1 else 'ies'}.")
