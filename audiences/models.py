from django.db import models
from django.db.models.functions import Lower

from access_audience.models import Authored
from channels_app.models import Channel
from segments.models import Segment


class Audience(Authored):
    """A reusable definition: contacts in any inclusion segment, minus any exclusion segment."""

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="audiences")
    name = models.CharField(max_length=255)
    estimated_volume = models.PositiveBigIntegerField(null=True, blank=True)
    inclusion_segments = models.ManyToManyField(
        Segment, related_name="included_in_audiences", blank=True
    )
    exclusion_segments = models.ManyToManyField(
        Segment, related_name="excluded_from_audiences", blank=True
    )

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                "channel",
                name="audience_unique_name_per_channel",
                violation_error_message="This channel already has an audience with this name.",
            ),
        ]
        indexes = [models.Index(fields=["channel", "-updated_at"], name="audience_channel_updated")]

    def __str__(self) -> str:
        return self.name
