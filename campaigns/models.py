from django.db import models

from access_audience.models import Authored
from audiences.models import Audience
from channels_app.models import Channel
from segments.models import Segment
from segments.validators import validate_http_url


class Campaign(Authored):
    """A planned send on one channel. The app records targeting; the ESP does the sending."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        SENT = "sent", "Sent"
        CANCELLED = "cancelled", "Cancelled"

    name = models.CharField(max_length=255)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="campaigns")
    status = models.CharField(max_length=10, choices=Status, default=Status.DRAFT)
    send_at = models.DateTimeField("send time", null=True, blank=True)
    notes = models.TextField(blank=True, default="")
    link = models.CharField(max_length=2000, blank=True, default="", validators=[validate_http_url])
    audience = models.ForeignKey(
        Audience, on_delete=models.SET_NULL, null=True, blank=True, related_name="campaigns"
    )
    # The final targeting of this campaign: the audience's segments plus ad-hoc changes.
    inclusion_segments = models.ManyToManyField(
        Segment, related_name="included_in_campaigns", blank=True
    )
    exclusion_segments = models.ManyToManyField(
        Segment, related_name="excluded_from_campaigns", blank=True
    )
    # The audience's definition when it was applied, so base and ad-hoc changes stay tellable
    # after the audience changes or is deleted:
    # {"audience_id", "audience_name", "version", "inclusion": [{"id", "name"}], "exclusion": [...]}
    audience_snapshot = models.JSONField(default=dict, blank=True, editable=False)
    audience_applied_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["send_at", "pk"]
        indexes = [
            models.Index(fields=["send_at"], name="campaign_send_at"),
            models.Index(fields=["channel", "status", "send_at"], name="campaign_channel_status"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def safe_link(self) -> str:
        """The link when it is http(s): a row written past the form (admin, import, shell)
        must not turn into a javascript: link on the campaign's page."""
        link = self.link.strip()
        return link if link.lower().startswith(("http://", "https://")) else ""
