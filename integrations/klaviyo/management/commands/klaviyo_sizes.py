"""`manage.py klaviyo_sizes [--channel SLUG ...] [--all]`: count segment and list sizes.

The first step runs here (so a missing or rejected key fails at once); the rest is queued for
the task worker (`manage.py db_worker`), at the pace Klaviyo's limits allow.

Exit codes, as sync_klaviyo's: 0 counted or queued; 1 unexpected failure; 2 bad options;
3 no key; 4 key rejected or lacking a scope; 5 Klaviyo unreachable, throttled or broken;
6 sizes are already being counted for one of the channels.
"""

from django.core.management.base import CommandError
from django.utils import timezone

from integrations.klaviyo import services, sizes
from integrations.klaviyo.management.commands import sync_klaviyo
from integrations.klaviyo.models import SizeRun
from integrations.klaviyo.tasks import size_step_enqueue


class Command(sync_klaviyo.Command):
    help = (
        "Count the members of Klaviyo segments and lists into their segments' sizes "
        "(default: channels with sync from Klaviyo switched on)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--channel",
            action="append",
            dest="channels",
            metavar="SLUG",
            default=[],
            help="A channel to count (repeat for several).",
        )
        parser.add_argument("--all", action="store_true", help="Count every channel.")

    def handle(self, *args, channels, all, **options):
        targets = self._channels(channels, all)
        self.stdout.write(f"Counting sizes for {', '.join(c.name for c in targets)} from Klaviyo.")
        try:
            run = sizes.size_run_create(channels=targets, trigger=SizeRun.Trigger.COMMAND)
        except services.NotConnected as error:
            raise CommandError(str(error), returncode=sync_klaviyo.EXIT_NO_KEY) from None
        except sizes.SizesAlreadyRunning as error:
            which = f" (count #{error.run.pk})" if error.run else ""
            raise CommandError(
                f"Sizes are already being counted for one of these channels{which}.",
                returncode=sync_klaviyo.EXIT_RUNNING,
            ) from None
        self.stdout.write(
            f"Count #{run.pk}: {run.segments_total:,} segments and {run.lists_total:,} lists."
        )
        following = sizes.size_run_step(run_id=run.pk, step=run.step)
        run.refresh_from_db()
        if run.status == SizeRun.Status.FAILED:
            raise CommandError(
                f"Counting failed: {run.error}", returncode=self._code_for(run.error_kind)
            )
        if following is None:
            self.stdout.write(self.style.SUCCESS(self._done(run)))
            return
        size_step_enqueue(run_id=run.pk, following=following)
        run.refresh_from_db()
        if run.status == SizeRun.Status.FAILED:
            raise CommandError(run.error, returncode=sync_klaviyo.EXIT_UNEXPECTED)
        progress = sizes.size_run_progress(run)
        if progress.resumes_at:
            when = f"the rest from {progress.resumes_at:%Y-%m-%d %H:%M} UTC (Klaviyo's daily limit)"
        else:
            minutes = max(1, round(progress.time_left.total_seconds() / 60))
            when = f"about {minutes} minute{'s' if minutes != 1 else ''} left"
        self.stdout.write(
            self.style.SUCCESS(
                f"{progress.counted:,} of {progress.total:,} counted; the task worker counts "
                f"the rest ({when}), from {timezone.localtime(following.at):%H:%M:%S}."
            )
        )

    @staticmethod
    def _done(run: SizeRun) -> str:
        parts = [
            f"{r.channel.name}: {r.counted:,} counted, {r.cleared:,} no longer in Klaviyo"
            for r in run.results.select_related("channel")
        ]
        return f"Done: count #{run.pk}. " + "; ".join(parts)
