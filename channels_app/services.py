from django.db import transaction

from channels_app.models import Channel
from channels_app.selectors import channel_has_data


class ChannelInUse(Exception):
    """The channel still has segments, audiences or campaigns."""


@transaction.atomic
def channel_delete(*, channel: Channel) -> None:
    """Delete a channel that has no data; refuse otherwise."""
    if channel_has_data(channel):
        raise ChannelInUse(
            f"The channel “{channel.name}” still has segments, audiences or campaigns. "
            "Delete or move them first."
        )
    channel.delete()
