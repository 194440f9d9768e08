from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from channels_app.models import Channel
from segments.validators import validate_http_url


class Segment(models.Model):
    """A group of contacts on one channel, referenced by name and optional external ID."""

    class Source(models.TextChoices):
        MANUAL = "manual", "Manual"
        KLAVIYO = "klaviyo", "Klaviyo"
        CSV = "csv", "CSV upload"

    class Kind(models.TextChoices):
        # What the Klaviyo object is; blank for segments that did not come from Klaviyo.
        NONE = "", "—"
        SEGMENT = "segment", "Klaviyo segment"
        LIST = "list", "Klaviyo list"

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="segments")
    name = models.CharField(max_length=255)
    external_id = models.CharField("Segment ID", max_length=255, blank=True, default="")
    link = models.CharField(max_length=2000, blank=True, default="", validators=[validate_http_url])
    is_active = models.BooleanField("active", default=True)
    source = models.CharField(max_length=10, choices=Source, default=Source.MANUAL)
    kind = models.CharField(max_length=10, choices=Kind, blank=True, default=Kind.NONE)
    klaviyo_missing_since = models.DateTimeField(
        "not in Klaviyo since",
        null=True,
        blank=True,
        help_text="Set by the Klaviyo sync when Klaviyo no longer has this segment.",
    )
    last_synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=~Q(external_id=""),
                name="segment_unique_external_id_per_channel",
                violation_error_message="This channel already has a segment with this Segment ID.",
            ),
        ]
        indexes = [
            models.Index(fields=["channel", "name"], name="segment_channel_name"),
            models.Index(Lower("name"), "channel", name="segment_channel_lower_name"),
            models.Index(fields=["channel", "-updated_at"], name="segment_channel_updated"),
            models.Index(fields=["channel", "is_active", "name"], name="segment_channel_active"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def safe_link(self) -> str:
        """The link when it is http(s). Every write path (forms, services, segments.bulk) accepts
        only those; this last check covers rows written around them (a shell, older data)."""
        link = self.link.strip()
        return link if link.lower().startswith(("http://", "https://")) else ""
