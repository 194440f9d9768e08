"""`manage.py sync_klaviyo [--channel SLUG ...] [--all] [--dry-run]`: sync in the foreground.

Exit codes: 0 success; 1 unexpected failure; 2 bad options (unknown channel, nothing to sync);
3 no key; 4 key rejected or lacking a scope; 5 Klaviyo unreachable, throttled or broken;
6 a sync is already running for one of the channels.
"""

from django.core.management.base import BaseCommand, CommandError

from channels_app.models import Channel
from integrations.klaviyo import selectors, services
from integrations.klaviyo.client import (
    KlaviyoAuthError,
    KlaviyoError,
    KlaviyoScopeError,
    Page,
)
from integrations.klaviyo.models import SyncRun

EXIT_UNEXPECTED, EXIT_USAGE, EXIT_NO_KEY, EXIT_KEY, EXIT_KLAVIYO, EXIT_RUNNING = 1, 2, 3, 4, 5, 6


class Command(BaseCommand):
    help = "Sync segments and lists from Klaviyo into channels (default: channels switched on)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--channel",
            action="append",
            dest="channels",
            metavar="SLUG",
            default=[],
            help="A channel to sync (repeat for several).",
        )
        parser.add_argument("--all", action="store_true", help="Sync every channel.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would change; write nothing."
        )

    def handle(self, *args, channels, all, dry_run, **options):
        self.verbosity = options.get("verbosity", 1)
        targets = self._channels(channels, all)
        names = ", ".join(channel.name for channel in targets)
        self.stdout.write(f"{'Dry run: ' if dry_run else ''}syncing {names} from Klaviyo.")
        try:
            services.klaviyo_api_key()
        except services.NotConnected as error:
            raise CommandError(str(error), returncode=EXIT_NO_KEY) from None
        if dry_run:
            return self._dry_run(targets)

        try:
            run = services.sync_run_create(channels=targets, trigger=SyncRun.Trigger.COMMAND)
        except services.SyncAlreadyRunning as error:
            which = f" (run #{error.run.pk})" if error.run else ""
            raise CommandError(
                f"A sync is already running for one of these channels{which}.",
                returncode=EXIT_RUNNING,
            ) from None
        run = services.sync_run_execute(
            run_id=run.pk, on_page=self._on_page, on_channel=self._on_channel
        )
        if run.status != SyncRun.Status.SUCCEEDED:
            raise CommandError(
                f"Sync failed: {run.error}", returncode=self._code_for(run.error_kind)
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Done: run #{run.pk}, {run.items_fetched:,} segments and lists fetched "
                f"in {run.pages_fetched:,} pages."
            )
        )

    def _channels(self, slugs: list[str], everything: bool) -> list[Channel]:
        if everything and slugs:
            raise CommandError("Use either --all or --channel, not both.", returncode=EXIT_USAGE)
        if everything:
            targets = list(Channel.objects.order_by("position", "name"))
        elif slugs:
            found = {c.slug: c for c in Channel.objects.filter(slug__in=slugs)}
            unknown = [slug for slug in slugs if slug not in found]
            if unknown:
                raise CommandError(
                    f"No channel with slug {', '.join(unknown)}.", returncode=EXIT_USAGE
                )
            targets = list(dict.fromkeys(found[slug] for slug in slugs))
        else:
            targets = selectors.enabled_channels()
            if not targets:
                raise CommandError(
                    "No channel has sync from Klaviyo switched on; use --channel SLUG or --all.",
                    returncode=EXIT_USAGE,
                )
        if not targets:
            raise CommandError("There are no channels.", returncode=EXIT_USAGE)
        return targets

    def _on_page(self, page: Page, pages: int, items: int) -> None:
        if self.verbosity >= 1:
            self.stdout.write(
                f"  page {pages:,}: {len(page.objects)} {page.kind}s ({items:,} fetched)"
            )

    def _on_channel(self, channel: Channel, counts: dict[str, int]) -> None:
        self.stdout.write(f"{channel.name}: {self._summary(counts)}")

    @staticmethod
    def _summary(counts: dict[str, int]) -> str:
        return (
            f"{counts['created']:,} created, {counts['updated']:,} updated, "
            f"{counts['unchanged']:,} unchanged, {counts['skipped_inactive']:,} inactive skipped, "
            f"{counts['marked_missing']:,} marked not in Klaviyo"
        )

    def _dry_run(self, targets: list[Channel]) -> None:
        try:
            plans = services.sync_dry_run(channels=targets, on_page=self._on_page)
        except KlaviyoError as error:
            raise CommandError(
                f"Sync failed: {error}", returncode=self._code_for_error(error)
            ) from None
        for plan in plans:
            self.stdout.write(f"{plan.channel.name} would change: {self._summary(plan.counts)}")
            for segment in plan.to_create[:20]:
                self.stdout.write(f"  + {segment.external_id} {segment.name} ({segment.kind})")
            if len(plan.to_create) > 20:
                self.stdout.write(f"  + … and {len(plan.to_create) - 20:,} more")
            for line in plan.update_samples:
                self.stdout.write(f"  ~ {line}")
            for line in plan.missing_samples:
                self.stdout.write(f"  ! not in Klaviyo: {line}")
        self.stdout.write("Dry run: nothing was written.")

    @staticmethod
    def _code_for_error(error: KlaviyoError) -> int:
        if isinstance(error, KlaviyoAuthError | KlaviyoScopeError):
            return EXIT_KEY
        return EXIT_KLAVIYO

    @staticmethod
    def _code_for(kind: str) -> int:
        return {"no_key": EXIT_NO_KEY, "key": EXIT_KEY, "klaviyo": EXIT_KLAVIYO}.get(
            kind, EXIT_UNEXPECTED
        )
