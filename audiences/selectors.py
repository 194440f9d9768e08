"""Reads of audiences, shaped so each page runs a fixed number of queries."""

from django.db.models import Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce

from audiences.models import Audience
from channels_app.models import Channel
from segments.models import Segment
from segments.reach import Reach, SizedSegment, reach


def _segments() -> QuerySet[Segment]:
    return Segment.objects.only(
        "pk", "name", "is_active", "channel_id", "size", "size_counted_at"
    ).order_by("name", "pk")


def audience_reach(audience: Audience) -> Reach:
    """The audience's reach from its segments' sizes (uses the prefetched segments)."""
    return reach(
        [SizedSegment.of(s) for s in audience.inclusion_segments.all()],
        [SizedSegment.of(s) for s in audience.exclusion_segments.all()],
    )


def _campaign_count():
    # Campaigns point at audiences: reach them through the reverse relation, not an import.
    campaign = Audience._meta.get_field("campaigns").related_model
    counts = (
        campaign.objects.filter(audience=OuterRef("pk"))
        .order_by()
        .values("audience")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


def audience_list(*, channel: Channel, query: str = "") -> QuerySet[Audience]:
    """The channel's audiences matching `query` in the name, with their segments and usage.

    Three queries for any page: the audiences (with a campaign count), their inclusion
    segments and their exclusion segments.
    """
    qs = Audience.objects.filter(channel=channel)
    query = query.strip()
    if query:
        qs = qs.filter(name__icontains=query)
    return (
        qs.annotate(campaign_count=_campaign_count())
        .prefetch_related(
            Prefetch("inclusion_segments", queryset=_segments()),
            Prefetch("exclusion_segments", queryset=_segments()),
        )
        .order_by("name", "pk")
    )


def audience_get(*, channel: Channel, pk: int) -> Audience:
    """One audience of the channel with its segments and the campaigns using it (4 queries).

    Raises Audience.DoesNotExist when it is not in this channel.
    """
    campaign = Audience._meta.get_field("campaigns").related_model
    return (
        Audience.objects.filter(channel=channel, pk=pk)
        .select_related("created_by", "updated_by")
        .prefetch_related(
            Prefetch("inclusion_segments", queryset=_segments()),
            Prefetch("exclusion_segments", queryset=_segments()),
            Prefetch(
                "campaigns",
                queryset=campaign.objects.only(
                    "pk", "name", "status", "send_at", "audience_id"
                ).order_by("send_at", "pk"),
            ),
        )
        .get()
    )


def audience_find(*, channel: Channel, pk: int | None) -> Audience | None:
    """The channel's audience with this id, or None (no id, another channel's, or deleted)."""
    if not pk:
        return None
    return Audience.objects.filter(channel=channel, pk=pk).first()


def audience_options(*, channel: Channel) -> QuerySet[Audience]:
    """The channel's audiences for a dropdown (one query, names only)."""
    return (
        Audience.objects.filter(channel=channel)
        .only("pk", "name", "channel_id")
        .order_by("name", "pk")
    )


def channel_has_segments(*, channel: Channel) -> bool:
    return Segment.objects.filter(channel=channel).exists()


COPY_SUFFIX = " (copy)"


def audience_copy_name(audience: Audience) -> str:
    """“<name> (copy)”, or “<name> (copy 2)”, “(copy 3)” … when taken in the channel: the name a
    clone's form proposes."""
    base = audience.name
    if len(base) + len(" (copy 999)") > 255:
        base = base[: 255 - len(" (copy 999)")].rstrip()
    stem = f"{base}{COPY_SUFFIX[:-1]}"  # "<name> (copy"
    taken = {
        n.lower()
        for n in Audience.objects.filter(
            channel_id=audience.channel_id, name__istartswith=stem
        ).values_list("name", flat=True)
    }
    candidate = f"{base}{COPY_SUFFIX}"
    number = 2
    while candidate.lower() in taken:
        candidate = f"{stem} {number})"
        number += 1
    return candidate
