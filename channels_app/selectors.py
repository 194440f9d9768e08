from django.db.models import Count, Exists, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from channels_app.models import Channel

# What a channel holds, by the reverse relations the higher apps declare on Channel: this app
# never imports them.
DATA_RELATIONS = ("segments", "audiences", "campaigns")


def channel_list() -> QuerySet[Channel]:
    """Every channel, in the navigation's order (position, then name)."""
    return Channel.objects.all()


def channel_others(channel: Channel) -> QuerySet[Channel]:
    """Every channel but this one (where a channel's segments can be copied to)."""
    return Channel.objects.exclude(pk=channel.pk)


def channels_for_request(request) -> list[Channel]:
    """All channels, fetched once per request (the navigation and the page share them)."""
    if not hasattr(request, "_all_channels"):
        request._all_channels = list(Channel.objects.all())
    return request._all_channels


def channel_colours(channels: list[Channel]) -> dict[int, int]:
    """A stable colour index per channel, by channel order (calendar, campaign list)."""
    return {channel.pk: i % 8 for i, channel in enumerate(channels)}


def _count(relation: str, **filters) -> Coalesce:
    model = Channel._meta.get_field(relation).related_model
    counts = (
        model.objects.filter(channel=OuterRef("pk"), **filters)
        .order_by()
        .values("channel")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


def channel_count_list() -> QuerySet[Channel]:
    """Every channel with its segment, audience and campaign counts (one query, counting whole
    tables: for the admin's channel list, not for pages everyone opens)."""
    return Channel.objects.annotate(
        segment_count=_count("segments"),
        audience_count=_count("audiences"),
        campaign_count=_count("campaigns"),
    )


def _has(relation: str) -> Exists:
    model = Channel._meta.get_field(relation).related_model
    return Exists(model.objects.filter(channel=OuterRef("pk")))


def channel_overview_list() -> QuerySet[Channel]:
    """Every channel with whether it has segments and audiences yet (one query; an index probe
    per channel and relation, never a count of a whole table)."""
    return Channel.objects.annotate(has_segments=_has("segments"), has_audiences=_has("audiences"))


def channel_has_data(channel: Channel) -> bool:
    return any(getattr(channel, relation).exists() for relation in DATA_RELATIONS)
