from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from channels_app.models import Channel


def channel_list() -> QuerySet[Channel]:
    return Channel.objects.all()


def channels_for_request(request) -> list[Channel]:
    """All channels, fetched once per request (the navigation and the page share them)."""
    if not hasattr(request, "_all_channels"):
        request._all_channels = list(Channel.objects.all())
    return request._all_channels


def channel_colours(channels: list[Channel]) -> dict[int, int]:
    """A stable colour index per channel, by channel order (calendar, campaign list)."""
    return {channel.pk: i % 8 for i, channel in enumerate(channels)}


def _count(model, **filters) -> Coalesce:
    counts = (
        model.objects.filter(channel=OuterRef("pk"), **filters)
        .order_by()
        .values("channel")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


def channel_overview_list() -> QuerySet[Channel]:
    """Every channel with its segment, active segment, audience and campaign counts (one query)."""
    from audiences.models import Audience
    from campaigns.models import Campaign
    from segments.models import Segment

    return Channel.objects.annotate(
        segment_count=_count(Segment),
        active_segment_count=_count(Segment, is_active=True),
        audience_count=_count(Audience),
        campaign_count=_count(Campaign),
    )


def channel_has_data(channel: Channel) -> bool:
    from audiences.models import Audience
    from campaigns.models import Campaign
    from segments.models import Segment

    return any(
        model.objects.filter(Q(channel=channel)).exists() for model in (Segment, Audience, Campaign)
    )
