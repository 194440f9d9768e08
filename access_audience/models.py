from django.conf import settings
from django.db import models


class FormSubmission(models.Model):
    """The one-time token of a create form that was sent: the same form sent again (a double
    click, a resent request) finds its token taken and is shown what the first one made."""

    token = models.UUIDField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Where the first submission's result is (its page), once it succeeded.
    result_url = models.CharField(max_length=500, blank=True, default="")

    def __str__(self) -> str:
        return f"Form submission {self.token}"


class Authored(models.Model):
    """Who made and last changed a row, when, and its version.

    `version` is bumped by every save through the services: a form sent from an older version
    is refused instead of overwriting someone else's change.
    """

    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    class Meta:
        abstract = True
