from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from django.db import connections, router
from django.db.models import Case, F, IntegerField, QuerySet, Value, When
from django.db.models.functions import Lower

from access_audience.params import clean_search
from channels_app.models import Channel
from segments.models import Segment
from segments.search_index import (
    SegmentSearchQuerySet,
    filter_by_text,
    fts_count,
    fts_matches,
    uses_fts,
)

STATUS_CHOICES = [
    ("all", "All"),
    ("active", "Active"),
    ("inactive", "Inactive"),
    ("missing", "Not in Klaviyo"),
]
_ORDERING = {
    "name": ["name", "pk"],
    "-name": ["-name", "-pk"],
    "updated": ["updated_at", "pk"],
    "-updated": ["-updated_at", "-pk"],
    # Unknown sizes last either way.
    "size": [F("size").asc(nulls_last=True), "pk"],
    "-size": [F("size").desc(nulls_last=True), "-pk"],
}


def clean_status(value: str | None) -> str:
    return value if value in dict(STATUS_CHOICES) else "all"


def clean_order(value: str | None) -> str:
    return value if value in _ORDERING else "name"


def segment_search(
    *,
    channel: Channel,
    query: str = "",
    status: str = "all",
    order: str = "name",
) -> QuerySet[Segment]:
    """The channel's segments matching a search on name or Segment ID (case-insensitive).

    An exact Segment ID match comes first. `status` is one of STATUS_CHOICES; `order` is
    "name", "-name", "updated", "-updated", "size" or "-size" (anything else means "name").
    """
    status_filter = {
        "active": {"is_active": True},
        "inactive": {"is_active": False},
        "missing": {"klaviyo_missing_since__isnull": False},
    }.get(status, {})
    qs = SegmentSearchQuerySet(model=Segment).filter(channel=channel, **status_filter)
    # Control characters never reach the index (a NUL ends an FTS5 expression mid-string).
    query = clean_search(query)
    ordering = _ORDERING.get(order, _ORDERING["name"])
    if not query:
        return qs.order_by(*ordering)
    qs = filter_by_text(qs, query, channel_id=channel.pk)
    # Only sort on "is it the exact ID" when such a segment exists: the plain ordering can then
    # walk the (channel, name) index and stop after one page instead of sorting every match.
    # The lookup uses the unique (channel, external_id) index, so it costs one cheap query.
    exact_pk = (
        Segment.objects.filter(channel=channel, external_id=query)
        .exclude(external_id="")
        .values_list("pk", flat=True)
        .first()
    )
    if exact_pk is None:
        result = qs.order_by(*ordering)
    else:
        first = Case(
            When(pk=exact_pk, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
        result = qs.order_by(first, *ordering)
    if uses_fts(result.db, query):
        # The index already limits matches to the channel: counting from it alone is several
        # times faster than letting SQLite walk the channel's (channel, name) index.
        matches = Segment.objects.filter(pk__in=fts_matches(channel.pk, query), **status_filter)
        if status_filter:
            result._counter = matches.count
        else:
            # No filter on the table's columns: the index alone answers the count.
            result._counter = partial(fts_count, result.db, channel.pk, query)
        # The index's matches are already the channel's: without the channel filter SQLite
        # reads the matched rows and sorts them, instead of walking the channel in name order.
        result._few_matches_queryset = matches.order_by(*result.query.order_by)
    return result


def segment_selection(
    *, channel: Channel, ids: Iterable[int], select_all: bool, query: str = "", status: str = "all"
) -> QuerySet[Segment]:
    """What a bulk action applies to: every segment matching the search when `select_all`,
    else the ticked ones (ids of other channels are ignored)."""
    if select_all:
        return segment_search(channel=channel, query=query, status=clean_status(status))
    return Segment.objects.filter(channel=channel, pk__in=list(ids))


def segment_get(*, channel: Channel, pk: int) -> Segment | None:
    """One segment of the channel, or None when it does not exist (any more)."""
    return Segment.objects.filter(channel=channel, pk=pk).first()


@dataclass(frozen=True)
class SegmentUsage:
    """Where one segment is used: audiences and campaigns that include or exclude it."""

    audiences_including: list
    audiences_excluding: list
    campaigns_including: list
    campaigns_excluding: list

    @property
    def audiences(self) -> list:
        seen: dict[int, object] = {}
        for audience in [*self.audiences_including, *self.audiences_excluding]:
            seen.setdefault(audience.pk, audience)
        return sorted(seen.values(), key=lambda a: (a.name.lower(), a.pk))

    @property
    def campaigns(self) -> list:
        seen: dict[int, object] = {}
        for campaign in [*self.campaigns_including, *self.campaigns_excluding]:
            seen.setdefault(campaign.pk, campaign)
        return sorted(seen.values(), key=lambda c: (c.name.lower(), c.pk))

    @property
    def in_use(self) -> bool:
        return bool(
            self.audiences_including
            or self.audiences_excluding
            or self.campaigns_including
            or self.campaigns_excluding
        )


def segment_usage(*, segment: Segment) -> SegmentUsage:
    """Every audience and campaign using the segment (four queries)."""
    return SegmentUsage(
        audiences_including=list(segment.included_in_audiences.order_by("name", "pk")),
        audiences_excluding=list(segment.excluded_from_audiences.order_by("name", "pk")),
        campaigns_including=list(segment.included_in_campaigns.order_by("name", "pk")),
        campaigns_excluding=list(segment.excluded_from_campaigns.order_by("name", "pk")),
    )


# The reverse many-to-many relations that make a segment "used", and what each counts.
_USAGE_RELATIONS = [
    ("included_in_audiences", "audience"),
    ("excluded_from_audiences", "audience"),
    ("included_in_campaigns", "campaign"),
    ("excluded_from_campaigns", "campaign"),
]


def _usage_sql(connection, n_ids: int) -> str:
    """One UNION over the relations' link tables; UNION (not ALL) drops the duplicate pairs of
    an include-and-exclude, so an audience (or campaign) counts once."""
    quote = connection.ops.quote_name
    placeholders = ", ".join(["%s"] * n_ids)
    parts = []
    for relation, kind in _USAGE_RELATIONS:
        field = Segment._meta.get_field(relation).field  # the ManyToManyField on the owner
        segment_id, owner_id = quote(field.m2m_reverse_name()), quote(field.m2m_column_name())
        table = quote(field.m2m_db_table())
        # Names come from the models' metadata and the ids are parameters.
        select = f"SELECT {segment_id} AS segment_id, {owner_id} AS owner_id, '{kind}' AS kind"
        parts.append(f"{select} FROM {table} WHERE {segment_id} IN ({placeholders})")
    used = " UNION ".join(parts)
    return f"SELECT segment_id, kind, COUNT(*) FROM ({used}) AS used GROUP BY segment_id, kind"  # noqa: S608


def segment_usage_counts(segments: Iterable[Segment]) -> list[Segment]:
    """Set `audience_count` and `campaign_count` on each segment; one query for any number.

    An audience (or campaign) that both includes and excludes a segment counts once. The
    counts come through Segment's reverse relations, so segments never imports the apps that
    use it; the SQL is written out because the ORM's four-part UNION costs more to build than
    to run for a page of rows.
    """
    segments = list(segments)
    ids = [s.pk for s in segments]
    counts: dict[tuple[int, str], int] = {}
    if ids:
        connection = connections[router.db_for_read(Segment)]
        with connection.cursor() as cursor:
            cursor.execute(_usage_sql(connection, len(ids)), ids * len(_USAGE_RELATIONS))
            counts = {(segment_id, kind): n for segment_id, kind, n in cursor.fetchall()}
    for segment in segments:
        segment.audience_count = counts.get((segment.pk, "audience"), 0)
        segment.campaign_count = counts.get((segment.pk, "campaign"), 0)
    return segments


# Reads for choosing segments: the segment picker and the checks of a chosen set.


def segments_by_id(*, ids: Iterable[int], channel: Channel | None = None) -> dict[int, Segment]:
    """The segments with these ids (only `channel`'s when given), keyed by id; one query."""
    ids = list(ids)
    if not ids:
        return {}
    qs = Segment.objects.filter(pk__in=ids)
    if channel is not None:
        qs = qs.filter(channel=channel)
    return {s.pk: s for s in qs}


def segment_picker_page(
    *,
    channel: Channel,
    query: str,
    exclude_ids: Iterable[int],
    offset: int,
    limit: int,
) -> tuple[list[Segment], bool]:
    """One page of the channel's active segments matching `query`, minus `exclude_ids`.

    Returns the page and whether more follow (one query, or two with a query: see
    segment_search), so 50,000 segments cost what 50 do.
    """
    qs = segment_search(channel=channel, query=query, status="active")
    exclude_ids = list(exclude_ids)
    if exclude_ids:
        qs = qs.exclude(pk__in=exclude_ids)
    page = list(qs[offset : offset + limit + 1])
    return page[:limit], len(page) > limit


def segment_same_name(*, segment: Segment, limit: int = 5) -> list[Segment]:
    """Other segments of `segment`'s channel with the same name (ignoring case): allowed, but
    hard to tell apart in the picker without a Segment ID. Uses the channel/lower(name) index."""
    return list(
        Segment.objects.annotate(lower_name=Lower("name"))
        .filter(channel_id=segment.channel_id, lower_name=segment.name.lower())
        .exclude(pk=segment.pk)
        .order_by("pk")[:limit]
    )


SIZE_HISTORY_POINTS = 120


def segment_size_history(*, segment: Segment, limit: int = SIZE_HISTORY_POINTS) -> list[tuple]:
    """The segment's latest size points, oldest first: (size, counted at, where from, as the
    page says it); one query on the (segment, counted_at) index."""
    labels = dict(Segment.SizeSource.choices)
    latest = segment.size_points.order_by("-counted_at", "-pk").values_list(
        "size", "counted_at", "source"
    )[:limit]
    return [(size, at, labels.get(source, source)) for size, at, source in reversed(latest)]
