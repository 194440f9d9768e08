from django.db import models

# Hours between two sends to the same contacts below which campaigns are flagged as colliding.
DEFAULT_QUIET_WINDOW_HOURS = 16


class Channel(models.Model):
    """A marketing channel (Email, SMS, Meta …). Segments and audiences never cross channels."""

    class KlaviyoMessageType(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"
        NONE = "none", "None (not sent with Klaviyo)"

    slug = models.SlugField(
        unique=True, max_length=50, help_text="Used in URLs, e.g. “email”. Lowercase, no spaces."
    )
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(
        default=0, help_text="Channels are listed in this order (lowest first)."
    )
    klaviyo_message_type = models.CharField(
        "Klaviyo message type",
        max_length=10,
        choices=KlaviyoMessageType,
        default=KlaviyoMessageType.NONE,
        help_text="What a campaign of this channel becomes in Klaviyo with “Send to Klaviyo”; "
        "None hides the button.",
    )
    quiet_window_hours = models.PositiveSmallIntegerField(
        "quiet window (hours)",
        default=DEFAULT_QUIET_WINDOW_HOURS,
        help_text="Two campaigns of this channel sent less than this many hours apart to the same "
        "segment are flagged as colliding. Usually 16 for email-like channels, 24 for SMS.",
    )

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def sends_with_klaviyo(self) -> bool:
        return self.klaviyo_message_type != self.KlaviyoMessageType.NONE
