from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from channels_app.models import Channel
from segments.validators import validate_http_url

# A size counted longer ago than this is shown faded and flagged in reach ranges.
SIZE_STALE_AFTER = timedelta(days=7)


class Segment(models.Model):
    """A group of contacts on one channel, referenced by name and optional external ID."""

    class Source(models.TextChoices):
        MANUAL = "manual", "Manual"
        KLAVIYO = "klaviyo", "Klaviyo"
        CSV = "csv", "CSV upload"

    class SizeSource(models.TextChoices):
        # Blank when the size is unknown.
        KLAVIYO = "klaviyo", "Klaviyo"
        CSV = "csv", "CSV upload"
        MANUAL = "manual", "Typed"

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
    # Size: how many contacts the segment holds (unknown when empty), when that was counted and
    # where the figure came from. Every new figure is also a SegmentSizePoint.
    size = models.PositiveBigIntegerField("size", null=True, blank=True)
    size_counted_at = models.DateTimeField("size counted at", null=True, blank=True)
    size_source = models.CharField(
        "size source", max_length=10, choices=SizeSource, blank=True, default="", db_default=""
    )
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
            models.Index(fields=["channel", "size"], name="segment_channel_size"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def safe_link(self) -> str:
        """The link when it is http(s). Every write path (forms, services, segments.bulk) accepts
        only those; this last check covers rows written around them (a shell, older data)."""
        link = self.link.strip()
        return link if link.lower().startswith(("http://", "https://")) else ""


class SegmentSizePoint(models.Model):
    """One figure in a segment's size history: kept so growth can be shown without asking the
    source again. Written only by segments.bulk (with the size itself), never edited."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="size_points")
    size = models.PositiveBigIntegerField()
    counted_at = models.DateTimeField()
    source = models.CharField(max_length=10, choices=Segment.SizeSource)

    class Meta:
        ordering = ["counted_at", "pk"]
        indexes = [
            models.Index(fields=["segment", "counted_at"], name="segment_size_point_counted"),
        ]

    def __str__(self) -> str:
        return f"{self.size} at {self.counted_at:%Y-%m-%d %H:%M}"
