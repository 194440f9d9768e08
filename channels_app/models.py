from django.db import models


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

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def sends_with_klaviyo(self) -> bool:
        return self.klaviyo_message_type != self.KlaviyoMessageType.NONE
