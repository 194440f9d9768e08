"""`manage.py cleanup`: the periodic housekeeping pages never do (GET never writes)."""

from django.core.management.base import BaseCommand

from access_audience.submissions import submissions_prune
from integrations.klaviyo.push import campaign_pushes_fail_stale
from integrations.klaviyo.services import sync_runs_fail_stale
from integrations.klaviyo.sizes import size_runs_fail_stale
from integrations.uploads.services import uploads_cleanup


class Command(BaseCommand):
    help = (
        "Fail Klaviyo syncs, dry runs and imports whose worker stopped; abandon uploads left "
        "unfinished for a day and remove the files of finished ones; forget once-only form "
        "tokens older than a day. Run it daily (hourly does no harm), e.g. from cron."
    )

    def handle(self, *args, **options):
        runs = sync_runs_fail_stale()
        files = uploads_cleanup()
        tokens = submissions_prune()
        pushes = campaign_pushes_fail_stale()
        self.stdout.write(
            f"Failed {runs} stopped Klaviyo sync{'s' if runs != 1 else ''}; removed {files} "
            f"uploaded file{'s' if files != 1 else ''}; forgot {tokens} form "
            f"token{'s' if tokens != 1 else ''}."
        )
        if pushes:
            self.stdout.write(
                f"Failed {pushes} stopped send{'s' if pushes != 1 else ''} to Klaviyo."
            )
        if counts := size_runs_fail_stale():
            self.stdout.write(
                f"Failed {counts} Klaviyo size count{'s' if counts != 1 else ''} whose next "
                "step never ran."
            )
