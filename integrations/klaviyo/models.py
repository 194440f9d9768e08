from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from campaigns.models import Campaign
from channels_app.models import Channel


class KlaviyoAccount(models.Model):
    """The connected Klaviyo account: one row at most, holding the private key encrypted."""

    SINGLETON_PK = 1

    encrypted_api_key = models.TextField(editable=False)
    # Kept apart so the mask can be shown without decrypting the key.
    key_last4 = models.CharField(max_length=4, editable=False)
    connected_at = models.DateTimeField(default=timezone.now, editable=False)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    # The last check of the key (on save and by Test connection): what was verified and when.
    checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    check_ok = models.BooleanField(null=True, editable=False)
    check_message = models.CharField(max_length=500, blank=True, default="", editable=False)
    # [{"scope": "campaigns:write", "works": true, "message": "works"}, ...]
    check_scopes = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        verbose_name = "Klaviyo account"
        permissions = [("manage_klaviyo_key", "Can see and change the Klaviyo API key")]

    def __str__(self) -> str:
        return f"Klaviyo account (key {self.key_mask})"

    @property
    def key_mask(self) -> str:
        return f"pk_…{self.key_last4}"


class ChannelSyncSetting(models.Model):
    """Whether `manage.py sync_klaviyo` (without options) syncs this channel."""

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="klaviyo_sync")
    enabled = models.BooleanField("sync from Klaviyo", default=False)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "channel sync setting"

    def __str__(self) -> str:
        return f"{self.channel}: {'on' if self.enabled else 'off'}"


class Run(models.Model):
    """What a background Klaviyo run has, whatever it does: when it was queued, started,
    last seen alive and finished, and how it failed. Each kind adds its statuses (with
    ACTIVE_STATUSES), its triggers and who started it."""

    ACTIVE_STATUSES: tuple[str, ...] = ()

    created_at = models.DateTimeField("queued at", default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Last sign of life; a run silent too long is shown failed, and failed for real later.
    heartbeat_at = models.DateTimeField(default=timezone.now)
    error = models.TextField(blank=True, default="")
    # What kind of failure, for the command's exit code: no_key, key, klaviyo, conflict, unexpected.
    error_kind = models.CharField(max_length=20, blank=True, default="", editable=False)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-pk"]

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def is_in_progress(self) -> bool:
        return self.is_active and not self.is_stale


def channel_locks(*, once: str, in_progress: str, message: str) -> list[models.UniqueConstraint]:
    """A run names each channel once, and at most one run of its kind is in progress per
    channel, enforced by the database itself (`message` says so when a second one starts)."""
    return [
        models.UniqueConstraint(fields=["run", "channel"], name=once),
        models.UniqueConstraint(
            fields=["channel"],
            condition=Q(in_progress=True),
            name=in_progress,
            violation_error_message=message,
        ),
    ]


class RunChannel(models.Model):
    """A run's result for one channel (each kind adds its `run` and its counts). An
    `in_progress` row holds the channel's lock: each kind has a unique constraint on it."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    in_progress = models.BooleanField(default=True)

    class Meta:
        abstract = True
        ordering = ["channel__position", "channel__name"]

    def __str__(self) -> str:
        return f"{self.run} → {self.channel}"


class SyncRun(Run):
    """One sync from Klaviyo into one or more channels: who started it, progress, outcome."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        USER = "user", "A user"
        COMMAND = "command", "manage.py sync_klaviyo"

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)

    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    trigger = models.CharField(max_length=10, choices=Trigger, default=Trigger.USER)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="klaviyo_sync_runs",
    )
    channels = models.ManyToManyField(Channel, through="SyncRunChannel", related_name="+")
    pages_fetched = models.PositiveIntegerField(default=0)
    items_fetched = models.PositiveIntegerField(default=0)
    segments_fetched = models.PositiveIntegerField(default=0)
    lists_fetched = models.PositiveIntegerField(default=0)

    class Meta(Run.Meta):
        verbose_name = "Klaviyo sync run"
        indexes = [
            models.Index(fields=["status", "heartbeat_at"], name="klaviyo_syncrun_status_hb")
        ]

    def __str__(self) -> str:
        return f"Klaviyo sync #{self.pk} ({self.get_status_display().lower()})"

    @property
    def is_finished(self) -> bool:
        return not self.is_active

    @property
    def is_stale(self) -> bool:
        """Queued or running but silent too long: its worker died. Pages show it failed; the
        next start and `manage.py cleanup` fail it for real."""
        cutoff = timezone.now() - timedelta(seconds=settings.SYNC_STALE_AFTER_SECONDS)
        return self.is_active and self.heartbeat_at < cutoff

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

    @property
    def started_by_label(self) -> str:
        if self.trigger == self.Trigger.COMMAND:
            # Marketers read this: the scheduled sync an administrator set up, not a command.
            return "Scheduled sync"
        return self.started_by.get_username() if self.started_by else "a deleted user"


class SyncRunChannel(RunChannel):
    """A sync's result for one channel."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="results")
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped_inactive = models.PositiveIntegerField("skipped (inactive)", default=0)
    marked_missing = models.PositiveIntegerField("marked not in Klaviyo", default=0)

    class Meta(RunChannel.Meta):
        constraints = channel_locks(
            once="klaviyo_run_channel_once",
            in_progress="klaviyo_one_sync_in_progress_per_channel",
            message="A Klaviyo sync is already running for this channel.",
        )


class CampaignPush(models.Model):
    """A campaign sent across to Klaviyo as a draft: one per campaign, kept through retries.

    The attempt is recorded (committed) before Klaviyo is called, and the Klaviyo campaign's
    name carries `marker`, so a call that timed out after Klaviyo created the campaign is
    found again on the next try instead of creating a second draft.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending to Klaviyo"
        DONE = "done", "In Klaviyo"
        FAILED = "failed", "Failed"

    class Action(models.TextChoices):
        CREATE = "create", "Send to Klaviyo"
        UPDATE = "update", "Update in Klaviyo"

    class Estimate(models.TextChoices):
        NONE = "", "Not asked"
        COUNTING = "counting", "Counting"
        DONE = "done", "Counted"
        FAILED = "failed", "Failed"

    ACTIVE_STATES = (State.QUEUED, State.SENDING)

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="klaviyo_push")
    marker = models.CharField(max_length=40, unique=True, editable=False)
    state = models.CharField(max_length=10, choices=State, default=State.QUEUED)
    action = models.CharField(max_length=10, choices=Action, default=Action.CREATE)
    # The latest attempt, recorded before Klaviyo is called.
    attempted_at = models.DateTimeField(default=timezone.now)
    attempted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attempts = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(default=timezone.now)
    step = models.CharField(max_length=200, blank=True, default="")
    error = models.TextField(blank=True, default="")
    # no_key, key, refused, klaviyo, unexpected: the command's exit code.
    error_kind = models.CharField(max_length=20, blank=True, default="")

    klaviyo_campaign_id = models.CharField(max_length=64, blank=True, default="")
    klaviyo_status = models.CharField(max_length=100, blank=True, default="")
    klaviyo_status_at = models.DateTimeField(null=True, blank=True)
    klaviyo_deleted_at = models.DateTimeField(null=True, blank=True)
    # What Klaviyo was last given successfully, and by whom.
    sent_name = models.CharField(max_length=255, blank=True, default="")
    sent_included = models.JSONField(default=list, blank=True)
    sent_excluded = models.JSONField(default=list, blank=True)
    inclusion_fingerprint = models.BigIntegerField(null=True, blank=True)
    exclusion_fingerprint = models.BigIntegerField(null=True, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    pushed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pushed_by_command = models.BooleanField(default=False)

    estimate_status = models.CharField(max_length=10, choices=Estimate, blank=True, default="")
    estimate_count = models.PositiveIntegerField(null=True, blank=True)
    estimated_at = models.DateTimeField(null=True, blank=True)
    estimate_requested_at = models.DateTimeField(null=True, blank=True)
    estimate_polls = models.PositiveIntegerField(default=0)
    estimate_error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        verbose_name = "campaign in Klaviyo"
        verbose_name_plural = "campaigns in Klaviyo"

    def __str__(self) -> str:
        return f"{self.campaign} → Klaviyo {self.klaviyo_campaign_id or '(not yet)'}"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES

    @property
    def is_stale(self) -> bool:
        """Queued or sending but silent too long: its worker stopped. Shown failed; the next
        press (or the command) takes it over."""
        cutoff = timezone.now() - timedelta(seconds=settings.SYNC_STALE_AFTER_SECONDS)
        return self.is_active and self.heartbeat_at < cutoff

    @property
    def in_progress(self) -> bool:
        return self.is_active and not self.is_stale

    @property
    def in_klaviyo(self) -> bool:
        """A send (or update) finished and the campaign is still there, as last seen."""
        return (
            bool(self.klaviyo_campaign_id)
            and self.klaviyo_deleted_at is None
            and self.pushed_at is not None
        )

    @property
    def is_draft_there(self) -> bool:
        return self.klaviyo_status == "Draft"

    @property
    def pushed_by_label(self) -> str:
        if self.pushed_by_command:
            return "manage.py klaviyo_push"
        return self.pushed_by.get_username() if self.pushed_by else "a deleted user"


class SizeRun(Run):
    """Counting the members of a channel's Klaviyo segments and lists, step by step.

    Klaviyo allows 2 segment reports a minute (100 segments each, 225 a day) and 15 list counts
    a minute, so a run is a series of short steps: each makes the calls that are due, stores
    where it is and names the time of the next step, which the task queue runs then. No worker
    ever sleeps through a limit.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        WAITING = "waiting", "Waiting for Klaviyo"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        USER = "user", "A user"
        COMMAND = "command", "manage.py klaviyo_sizes"

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING, Status.WAITING)
    STALE_ERROR = (
        "The size count stopped: its next step did not run (is the task worker running?). "
        "Sizes counted before that are kept."
    )

    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    trigger = models.CharField(max_length=10, choices=Trigger, default=Trigger.USER)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="klaviyo_size_runs",
    )
    # Where the run is: the Klaviyo ids to count (each once, whichever channels have it) and
    # how many of each are done, in order.
    segment_ids = models.JSONField(default=list, editable=False)
    list_ids = models.JSONField(default=list, editable=False)
    segments_done = models.PositiveIntegerField(default=0)
    lists_done = models.PositiveIntegerField(default=0)
    # When each kind of call may be made next, and when the next step runs.
    next_report_at = models.DateTimeField(null=True, blank=True)
    next_list_at = models.DateTimeField(null=True, blank=True)
    next_step_at = models.DateTimeField(null=True, blank=True)
    step = models.PositiveIntegerField(default=0, editable=False)  # the current step's number
    reports_made = models.PositiveIntegerField(default=0)
    lists_requested = models.PositiveIntegerField(default=0)
    # Consecutive failed calls (5xx, timeouts) of each kind; the run gives up after a few.
    failures = models.PositiveIntegerField(default=0)
    daily_cap_hit = models.BooleanField(default=False)
    waiting_reason = models.CharField(max_length=300, blank=True, default="")

    class Meta(Run.Meta):
        verbose_name = "Klaviyo size count"

    def __str__(self) -> str:
        return f"Klaviyo size count #{self.pk} ({self.get_status_display().lower()})"

    @property
    def is_stale(self) -> bool:
        """Active but its next step is long overdue (the worker or the queue stopped). Pages
        show it failed; the next refresh fails it for real."""
        grace = timedelta(seconds=settings.SYNC_STALE_AFTER_SECONDS)
        due = self.next_step_at if self.status != self.Status.RUNNING else self.heartbeat_at
        return self.is_active and (due or self.heartbeat_at) + grace < timezone.now()

    @property
    def segments_total(self) -> int:
        return len(self.segment_ids)

    @property
    def lists_total(self) -> int:
        return len(self.list_ids)


class SizeRunChannel(RunChannel):
    """A size count's result for one channel."""

    run = models.ForeignKey(SizeRun, on_delete=models.CASCADE, related_name="results")
    counted = models.PositiveIntegerField(default=0)
    cleared = models.PositiveIntegerField("no longer in Klaviyo", default=0)

    class Meta(RunChannel.Meta):
        constraints = channel_locks(
            once="klaviyo_size_run_channel",
            in_progress="klaviyo_one_size_run_per_channel",
            message="Sizes are already being counted for this channel.",
        )
