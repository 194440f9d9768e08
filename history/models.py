from django.conf import settings
from django.db import models


class Change(models.Model):
    """One save of one audience, campaign or segment (or one segment a run touched): who, when,
    each field's old → new value and, for audiences and campaigns, the targeting after it.

    No foreign key to the object or its channel: the record outlives them, and keeps their
    names. Written only by the services and the segments' bulk path; never edited afterwards
    (only `manage.py prune_history` removes entries older than the retention).
    """

    class ObjectType(models.TextChoices):
        AUDIENCE = "audience", "Audience"
        CAMPAIGN = "campaign", "Campaign"
        SEGMENT = "segment", "Segment"

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Changed"
        RESTORED = "restored", "Restored"
        DELETED = "deleted", "Deleted"
        MARKED_MISSING = "marked_missing", "Marked not in Klaviyo"
        UNCHANGED = "unchanged", "Left unchanged"
        SKIPPED_INACTIVE = "skipped_inactive", "Left alone (inactive)"

    at = models.DateTimeField(db_index=True)
    object_type = models.CharField(max_length=10, choices=ObjectType)
    object_id = models.BigIntegerField()
    object_name = models.CharField(max_length=255)
    channel_id = models.IntegerField(null=True, blank=True)
    # The object's version after the save (audiences and campaigns).
    version = models.PositiveIntegerField(null=True, blank=True)
    action = models.CharField(max_length=20, choices=Action)
    # ",name,inclusions,": the changed fields, for the filter by kind of change.
    fields = models.CharField(max_length=500, blank=True, default="")
    # {field: [old, new]}; segment sets as [[id, name], ...] so deleted segments keep their name.
    changes = models.JSONField(default=dict, blank=True)
    # Audiences and campaigns: what a restore puts back (the targeting after this save).
    state = models.JSONField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True, default="")
    # Who: a person (kept by name once the account is gone), and how or which run.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    user_name = models.CharField(max_length=150, blank=True, default="")
    via = models.CharField(max_length=255, blank=True, default="")
    run_kind = models.CharField(max_length=10, blank=True, default="")
    run_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["object_type", "object_id", "-id"], name="history_change_object"),
            models.Index(fields=["run_kind", "run_id", "id"], name="history_change_run"),
        ]

    def __str__(self) -> str:
        return f"{self.get_object_type_display()} “{self.object_name}” {self.get_action_display()}"

    @property
    def who(self) -> str:
        """ "alice", "alice (admin)", "Klaviyo sync #41 (started by alice)", "command line"."""
        if self.run_kind:
            return f"{self.via} (started by {self.user_name})" if self.user_name else self.via
        if self.user_name:
            return f"{self.user_name} ({self.via})" if self.via else self.user_name
        return self.via or "someone"

    @property
    def lines(self) -> list[str]:
        from history.words import describe

        return describe(self)
