import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from audiences.models import Audience
from campaigns.models import Campaign
from campaigns.targeting import (
    FINGERPRINT_MODULUS,
    FINGERPRINT_MULTIPLIER,
    Changes,
    Definition,
    changes,
    targeting_fingerprint,
)
from channels_app.models import Channel
from segments.models import Segment
from segments.selectors import segment_flagged_list, segment_flagged_users


def campaign_list(
    *,
    query: str = "",
    channel_slug: str = "",
    status: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    klaviyo: str = "",
) -> QuerySet[Campaign]:
    """Campaigns by send time (unscheduled last), with their channel, audience and Klaviyo
    draft joined. Their segments are not read here: the list's checks read them for the page."""
    qs = Campaign.objects.select_related("channel", "audience", "klaviyo_push")
    if query.strip():
        qs = qs.filter(name__icontains=query.strip())
    if channel_slug:
        qs = qs.filter(channel__slug=channel_slug)
    if status:
        qs = qs.filter(status=status)
    if date_from:
        qs = qs.filter(send_at__gte=_day_start(date_from))
    if date_to:
        qs = qs.filter(send_at__lt=_day_start(date_to + timedelta(days=1)))
    if klaviyo:
        qs = campaign_filter_klaviyo(qs, klaviyo)
    return qs.order_by(F("send_at").asc(nulls_last=True), "pk")


# The list's Klaviyo filter. The push lives above campaigns: it is reached only through its
# reverse relation (`klaviyo_push`), never imported.
KLAVIYO_FILTERS = {
    "in": "In Klaviyo, in step",
    "not": "Not in Klaviyo yet",
    "out": "Out of step with Klaviyo",
}


def _fingerprint(through) -> Coalesce:
    """The SQL twin of targeting.targeting_fingerprint over one of the campaign's sides."""
    scrambled = (F("segment_id") * FINGERPRINT_MULTIPLIER) % FINGERPRINT_MODULUS + 1
    summed = (
        through.objects.filter(campaign_id=OuterRef("pk"))
        .values("campaign_id")
        .annotate(fp=Sum(scrambled))
        .values("fp")
    )
    return Coalesce(Subquery(summed), Value(0))


def campaigns_with_fingerprints(qs: QuerySet[Campaign]) -> QuerySet[Campaign]:
    """Annotate `inclusion_fp` and `exclusion_fp`: the targeting as it is now."""
    return qs.annotate(
        inclusion_fp=_fingerprint(Campaign.inclusion_segments.through),
        exclusion_fp=_fingerprint(Campaign.exclusion_segments.through),
    )


def campaign_filter_klaviyo(qs: QuerySet[Campaign], value: str) -> QuerySet[Campaign]:
    """in: sent to Klaviyo and its targeting unchanged since; not: never sent (or deleted
    there); out: sent, but the targeting here changed since."""
    if value not in KLAVIYO_FILTERS:
        return qs
    there = Q(
        klaviyo_push__klaviyo_campaign_id__gt="",
        klaviyo_push__klaviyo_deleted_at=None,
        klaviyo_push__pushed_at__isnull=False,
    )
    if value == "not":
        return qs.exclude(there)
    qs = campaigns_with_fingerprints(qs.filter(there))
    same = Q(
        klaviyo_push__inclusion_fingerprint=F("inclusion_fp"),
        klaviyo_push__exclusion_fingerprint=F("exclusion_fp"),
    )
    return qs.filter(same) if value == "in" else qs.exclude(same)


def campaign_klaviyo_state(campaign: Campaign, final: Definition) -> str:
    """ "in" (in Klaviyo, in step), "out" (in Klaviyo, targeting changed since) or "" (not
    there), from the push joined by campaign_list and the campaign's final targeting: no query."""
    pushed = getattr(campaign, "klaviyo_push", None)
    if (
        pushed is None
        or not pushed.klaviyo_campaign_id
        or pushed.klaviyo_deleted_at is not None
        or pushed.pushed_at is None
    ):
        return ""
    same = pushed.inclusion_fingerprint == targeting_fingerprint(
        final.inclusion
    ) and pushed.exclusion_fingerprint == targeting_fingerprint(final.exclusion)
    return "in" if same else "out"


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _snapshot_definition(snapshot: dict) -> Definition:
    return Definition.of(
        (s["id"] for s in snapshot.get("inclusion", [])),
        (s["id"] for s in snapshot.get("exclusion", [])),
    )


def campaign_changes(campaign: Campaign, final: Definition) -> Changes:
    """Ad-hoc changes of the final targeting against the base audience (no query)."""
    if not campaign.audience_snapshot:
        return changes(Definition(), Definition())
    return changes(_snapshot_definition(campaign.audience_snapshot), final)


@dataclass
class SegmentRef:
    """A segment as the detail page shows it; `segment` is None when it was deleted since."""

    id: int
    name: str
    segment: Segment | None = None

    @property
    def is_inactive(self) -> bool:
        return self.segment is not None and not self.segment.is_active


@dataclass
class CampaignTargeting:
    base_inclusion: list[SegmentRef] = field(default_factory=list)
    base_exclusion: list[SegmentRef] = field(default_factory=list)
    added_inclusions: list[SegmentRef] = field(default_factory=list)
    added_exclusions: list[SegmentRef] = field(default_factory=list)
    removed_inclusions: list[SegmentRef] = field(default_factory=list)
    removed_exclusions: list[SegmentRef] = field(default_factory=list)
    final_inclusion: list[SegmentRef] = field(default_factory=list)
    final_exclusion: list[SegmentRef] = field(default_factory=list)
    has_base: bool = False
    audience_deleted: bool = False
    audience_name: str = ""
    # Differences between the audience today and the definition applied to this campaign.
    audience_changed: bool = False
    audience_now_includes: list[SegmentRef] = field(default_factory=list)
    audience_now_excludes: list[SegmentRef] = field(default_factory=list)
    audience_no_longer_has: list[SegmentRef] = field(default_factory=list)
    audience_renamed_to: str = ""

    @property
    def change_count(self) -> int:
        return (
            len(self.added_inclusions)
            + len(self.added_exclusions)
            + len(self.removed_inclusions)
            + len(self.removed_exclusions)
        )


def campaign_get(pk: int) -> Campaign:
    """A campaign with everything its detail page shows (a fixed number of queries)."""
    by_name = Segment.objects.order_by("name", "pk")
    return (
        Campaign.objects.select_related("channel", "audience", "created_by", "updated_by")
        .prefetch_related(
            Prefetch("inclusion_segments", queryset=by_name),
            Prefetch("exclusion_segments", queryset=by_name),
            Prefetch("audience__inclusion_segments", queryset=by_name),
            Prefetch("audience__exclusion_segments", queryset=by_name),
        )
        .get(pk=pk)
    )


def campaign_get_with_channel(pk: int) -> Campaign:
    """A campaign and its channel, for pages that show little more than its name.

    Raises Campaign.DoesNotExist."""
    return Campaign.objects.select_related("channel").get(pk=pk)


def campaign_find(pk: int | None) -> Campaign | None:
    """The campaign with this id, or None (no id, or deleted)."""
    return Campaign.objects.filter(pk=pk).first() if pk else None


def campaign_exists(pk: int) -> bool:
    return Campaign.objects.filter(pk=pk).exists()


def campaign_segment_ids(campaign: Campaign) -> list[int]:
    """The ids of every segment the campaign includes or excludes (prefetched ones are reused)."""
    included = [s.pk for s in campaign.inclusion_segments.all()]
    return included + [s.pk for s in campaign.exclusion_segments.all()]


def campaign_targeting(campaign: Campaign) -> CampaignTargeting:
    """Base audience, ad-hoc changes and final targeting of a campaign from `campaign_get`."""
    final_incl = list(campaign.inclusion_segments.all())
    final_excl = list(campaign.exclusion_segments.all())
    snapshot = campaign.audience_snapshot or {}
    audience: Audience | None = campaign.audience
    known: dict[int, Segment] = {s.pk: s for s in final_incl + final_excl}
    if audience is not None:
        for s in [*audience.inclusion_segments.all(), *audience.exclusion_segments.all()]:
            known.setdefault(s.pk, s)
    missing = {
        ref["id"]
        for ref in snapshot.get("inclusion", []) + snapshot.get("exclusion", [])
        if ref["id"] not in known
    }
    if missing:
        known.update({s.pk: s for s in Segment.objects.filter(pk__in=missing)})

    def ref(pk: int, name: str) -> SegmentRef:
        segment = known.get(pk)
        return SegmentRef(pk, segment.name if segment else name, segment)

    def from_snapshot(entries: list[dict], keep: set[int] | None = None) -> list[SegmentRef]:
        return [ref(e["id"], e["name"]) for e in entries if keep is None or e["id"] in keep]

    def from_segments(segments: list[Segment], keep: set[int]) -> list[SegmentRef]:
        return [SegmentRef(s.pk, s.name, s) for s in segments if s.pk in keep]

    result = CampaignTargeting(
        final_inclusion=[SegmentRef(s.pk, s.name, s) for s in final_incl],
        final_exclusion=[SegmentRef(s.pk, s.name, s) for s in final_excl],
    )
    if not snapshot:
        return result
    base = _snapshot_definition(snapshot)
    delta = changes(base, Definition.of(known_ids(final_incl), known_ids(final_excl)))
    result.has_base = True
    result.audience_name = audience.name if audience else snapshot.get("audience_name", "")
    result.audience_deleted = audience is None
    result.base_inclusion = from_snapshot(snapshot.get("inclusion", []))
    result.base_exclusion = from_snapshot(snapshot.get("exclusion", []))
    result.added_inclusions = from_segments(final_incl, set(delta.added_inclusions))
    result.added_exclusions = from_segments(final_excl, set(delta.added_exclusions))
    result.removed_inclusions = from_snapshot(
        snapshot.get("inclusion", []), set(delta.removed_inclusions)
    )
    result.removed_exclusions = from_snapshot(
        snapshot.get("exclusion", []), set(delta.removed_exclusions)
    )
    if audience is not None:
        now_incl = list(audience.inclusion_segments.all())
        now_excl = list(audience.exclusion_segments.all())
        current = Definition.of(known_ids(now_incl), known_ids(now_excl))
        result.audience_now_includes = from_segments(
            now_incl, set(current.inclusion - base.inclusion)
        )
        result.audience_now_excludes = from_segments(
            now_excl, set(current.exclusion - base.exclusion)
        )
        gone = (base.inclusion - current.inclusion) | (base.exclusion - current.exclusion)
        result.audience_no_longer_has = [
            r for r in result.base_inclusion + result.base_exclusion if r.id in gone
        ]
        if audience.name != snapshot.get("audience_name"):
            result.audience_renamed_to = audience.name
        result.audience_changed = bool(
            result.audience_now_includes
            or result.audience_now_excludes
            or result.audience_no_longer_has
        )
    return result


def known_ids(segments: list[Segment]) -> list[int]:
    return [s.pk for s in segments]


@dataclass
class CalendarDay:
    day: date
    in_month: bool
    is_today: bool
    campaigns: list[Campaign]


def _month_weeks(year: int, month: int) -> list[list[date]]:
    return calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)


def campaign_calendar_query(
    *, year: int, month: int, channels: list[Channel], channel_slug: str = ""
) -> QuerySet[Campaign]:
    """The campaigns the calendar shows for a month: those sent on one of its weeks' days."""
    weeks = _month_weeks(year, month)
    first, last = weeks[0][0], weeks[-1][-1]
    qs = Campaign.objects.filter(
        send_at__gte=_day_start(first), send_at__lt=_day_start(last + timedelta(days=1))
    )
    if channel_slug:
        qs = qs.filter(channel_id__in=[c.pk for c in channels if c.slug == channel_slug])
    return qs


def campaign_calendar(
    *, year: int, month: int, channels: list[Channel], channel_slug: str = ""
) -> list[list[CalendarDay]]:
    """A month as weeks of days (Monday first), each day with the campaigns sent on it.

    `channels` are all the channels (the request has them already): each campaign gets its own
    from them rather than from a join. A campaign carries only what a calendar shows, with its
    send time in the current time zone as `local_send_at`."""
    by_id = {channel.pk: channel for channel in channels}
    qs = campaign_calendar_query(
        year=year, month=month, channels=channels, channel_slug=channel_slug
    ).only("name", "status", "send_at", "channel_id")
    by_day: dict[date, list[Campaign]] = {}
    for campaign in qs.order_by("send_at", "pk"):
        campaign.channel = by_id.get(campaign.channel_id) or campaign.channel
        campaign.local_send_at = timezone.localtime(campaign.send_at)
        by_day.setdefault(campaign.local_send_at.date(), []).append(campaign)
    today = timezone.localdate()
    return [
        [CalendarDay(d, d.month == month, d == today, by_day.get(d, [])) for d in week]
        for week in _month_weeks(year, month)
    ]


def audience_choices(channel: Channel | None) -> QuerySet[Audience]:
    """The audiences a campaign of the channel can start from, by name."""
    if channel is None:
        return Audience.objects.none()
    return Audience.objects.filter(channel=channel).order_by("name")


# ---- The week ahead (the home page) ----------------------------------------------------------

UPCOMING_STATUSES = (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED)
# The home page shows a name, a channel, a status and a send time: the rest of a row (the
# audience snapshot's JSON above all) is left in the database.
_LISTED = ("name", "status", "send_at", "channel__slug", "channel__name", "channel__position")


def campaign_upcoming_list(*, now: datetime, days: int = 7, limit: int = 50) -> list[Campaign]:
    """Draft and scheduled campaigns whose send time falls in the next `days` days, soonest
    first, with their channel (one query on the send time index, at most `limit` rows)."""
    return list(
        Campaign.objects.filter(
            status__in=UPCOMING_STATUSES,
            send_at__gte=now,
            send_at__lt=now + timedelta(days=days),
        )
        .select_related("channel")
        .only(*_LISTED)
        .order_by("send_at", "pk")[:limit]
    )


# How many of the soonest scheduled campaigns "needs attention" looks through: a bound, so the
# check costs the same whatever the number of campaigns or segments.
FLAGGED_CANDIDATES = 200


def campaign_flagged_list(
    *, now: datetime, limit: int = 10, candidates: int = FLAGGED_CANDIDATES
) -> list[Campaign]:
    """Of the next `candidates` scheduled campaigns to send, those that include or exclude an
    inactive or "not in Klaviyo" segment, soonest first, with those segments as
    `.flagged_inclusions` and `.flagged_exclusions`. Five queries, each bounded by `candidates`
    or `limit` (the flagged segments are looked up by the candidates' ids, never by scanning
    every segment)."""
    soonest = list(
        Campaign.objects.filter(status=Campaign.Status.SCHEDULED, send_at__gte=now)
        .order_by("send_at", "pk")
        .values_list("pk", flat=True)[:candidates]
    )
    flagged = segment_flagged_users(
        through_models=[Campaign.inclusion_segments.through, Campaign.exclusion_segments.through],
        owner_field="campaign_id",
        owner_ids=soonest,
    )
    if not flagged:
        return []
    return list(
        Campaign.objects.filter(pk__in=flagged)
        .select_related("channel")
        .only(*_LISTED)
        .prefetch_related(
            Prefetch(
                "inclusion_segments", queryset=segment_flagged_list(), to_attr="flagged_inclusions"
            ),
            Prefetch(
                "exclusion_segments", queryset=segment_flagged_list(), to_attr="flagged_exclusions"
            ),
        )
        .order_by("send_at", "pk")[:limit]
    )


def campaign_copy_name(campaign: Campaign) -> str:
    """“<name> (copy)”, or “(copy 2)”, “(copy 3)” … when taken: the name a duplicate proposes."""
    base = f"{campaign.name} (copy)"
    taken = set(Campaign.objects.filter(name__startswith=base).values_list("name", flat=True))
    if base not in taken:
        return base[:255]
    n = 2
    while f"{campaign.name} (copy {n})" in taken:
        n += 1
    return f"{campaign.name} (copy {n})"[:255]
