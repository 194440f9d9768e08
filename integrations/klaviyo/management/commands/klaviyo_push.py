"""`manage.py klaviyo_push CAMPAIGN_ID [--update] [--dry-run]`: Send to Klaviyo from the shell.

Exit codes as sync_klaviyo's: 0 success; 1 unexpected failure; 2 bad options (no such
campaign); 3 no key; 4 key rejected or lacking a scope; 5 Klaviyo unreachable, throttled,
broken or refusing the change; 6 a send of this campaign is already running; and
7 refused by a precondition (what to fix is printed).
"""

from django.core.management.base import BaseCommand, CommandError

from campaigns.models import Campaign
from campaigns.selectors import campaign_get
from integrations.klaviyo import push, services, tasks
from integrations.klaviyo.models import CampaignPush

EXIT_UNEXPECTED, EXIT_USAGE, EXIT_NO_KEY, EXIT_KEY, EXIT_KLAVIYO, EXIT_RUNNING = 1, 2, 3, 4, 5, 6
EXIT_REFUSED = 7
CODES = {"no_key": EXIT_NO_KEY, "key": EXIT_KEY, "klaviyo": EXIT_KLAVIYO, "refused": EXIT_REFUSED}


class Command(BaseCommand):
    help = (
        "Send a campaign's targeting to Klaviyo as a draft campaign (or, with --update, change "
        "the draft's audience). Nothing is sent or scheduled in Klaviyo. Exit codes: 0 done, "
        "1 unexpected, 2 no such campaign, 3 no key, 4 key rejected or missing scope, "
        "5 Klaviyo unreachable, throttled or refusing, 6 already being sent, "
        "7 refused by a precondition (the reasons are printed)."
    )

    def add_arguments(self, parser):
        parser.add_argument("campaign_id", type=int, metavar="CAMPAIGN_ID")
        parser.add_argument(
            "--update", action="store_true", help="Change the audience of the draft in Klaviyo."
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check and print what would be sent; call Klaviyo for nothing, write nothing.",
        )

    def handle(self, *args, campaign_id, update, dry_run, **options):
        action = CampaignPush.Action.UPDATE if update else CampaignPush.Action.CREATE
        try:
            campaign = campaign_get(campaign_id)
        except Campaign.DoesNotExist:
            raise CommandError(f"No campaign #{campaign_id}.", returncode=EXIT_USAGE) from None
        try:
            services.klaviyo_api_key()
        except services.NotConnected as error:
            raise CommandError(str(error), returncode=EXIT_NO_KEY) from None
        if dry_run:
            return self._dry_run(campaign, action)
        try:
            recorded = push.campaign_push_start(campaign=campaign, user=None, action=action)
        except push.PushRefused as error:
            raise CommandError(self._refusal(error.problems), returncode=EXIT_REFUSED) from None
        except push.PushAlreadyRunning:
            raise CommandError(
                "This campaign is being sent to Klaviyo already.", returncode=EXIT_RUNNING
            ) from None
        self.stdout.write(f"{recorded.get_action_display()}: “{campaign.name}”…")
        result = push.campaign_push_execute(push_id=recorded.pk, by_command=True)
        if result.state != CampaignPush.State.DONE:
            code = CODES.get(result.error_kind, EXIT_UNEXPECTED)
            raise CommandError(f"Failed: {result.error}", returncode=code)
        tasks.estimate_follow(result)
        result.refresh_from_db()
        self.stdout.write(
            self.style.SUCCESS(
                f"Done: Klaviyo campaign {result.klaviyo_campaign_id} ({result.klaviyo_status})."
            )
        )
        if result.estimate_status == CampaignPush.Estimate.DONE:
            self.stdout.write(f"Klaviyo estimates {result.estimate_count:,} recipients.")
        elif result.estimate_status == CampaignPush.Estimate.COUNTING:
            self.stdout.write("Klaviyo is counting the recipients; the campaign page shows it.")
        elif result.estimate_error:
            self.stdout.write(f"No recipient estimate: {result.estimate_error}")

    def _refusal(self, problems: list[str]) -> str:
        return "Refused:\n" + "\n".join(f"- {problem}" for problem in problems)

    def _dry_run(self, campaign: Campaign, action: str) -> None:
        existing = CampaignPush.objects.filter(campaign=campaign).first()
        problems = push.push_problems(campaign=campaign, push=existing, action=action)
        if problems:
            raise CommandError(self._refusal(problems), returncode=EXIT_REFUSED)
        payload = push.payload_for(campaign, existing.marker if existing else push.new_marker())
        verb = "update the draft" if action == CampaignPush.Action.UPDATE else "create a draft"
        self.stdout.write(f"Dry run: would {verb} in Klaviyo:")
        self.stdout.write(f"  name:      {payload.name}")
        self.stdout.write(f"  message:   {payload.channel}")
        when = campaign.send_at.isoformat() if campaign.send_at else "none"
        self.stdout.write(f"  send time: {when}")
        self.stdout.write(f"  included:  {', '.join(payload.included)}")
        self.stdout.write(f"  excluded:  {', '.join(payload.excluded) or 'none'}")
