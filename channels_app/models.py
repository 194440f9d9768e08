from django.db import models


class Channel(models.Model):
    """A marketing channel (Email, SMS, Meta …). Segments and audiences never cross channels."""

    slug = models.SlugField(
        unique=True, max_length=50, help_text="Used in URLs, e.g. “email”. Lowercase, no spaces."
    )
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(
        default=0, help_text="Channels are listed in this order (lowest first)."
    )

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name
