"""Campaign warnings: what a marketer should look at before a campaign is sent.

One mechanism for the detail page, the list and the calendar, computed for a whole page of
campaigns with a fixed number of queries (at most three, whatever the page size):

- **unusable segments**: a Scheduled campaign, or a Draft with a send time, whose final targeting
  uses a segment that is inactive or that Klaviyo no longer has;
- **collisions**: another Scheduled or Draft campaign of the same channel, sent within the
  channel's quiet window of this one, includes a segment this one includes (and excludes none
  of them). This is planning-time, before the ESP's own send-time rules.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet, Value

from campaigns.models import Campaign
from channels_app.models import Channel
from segments.models import Segment
from segments.reach import Reach, SizedSegment, reach

LIVE_STATUSES = (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED)
_STATUS_LABELS = dict(Campaign.Status.choices)

Inclusion = Campaign.inclusion_segments.through
Exclusion = Campaign.exclusion_segments.through


@dataclass(frozen=True)
class SegmentNote:
    """A segment a warning names; `reason` says what is wrong with it, if anything."""

    id: int
    name: str
    channel_slug: str
    reason: str = ""
    role: str = ""  # "included" or "excluded"


@dataclass(frozen=True)
class OtherCampaign:
    id: int
    name: str
    send_at: datetime
    status_label: str


@dataclass
class CampaignWarning:
    kind: str  # "unusable" or "collision"
    segments: list[SegmentNote] = field(default_factory=list)
    other: OtherCampaign | None = None
    hours_apart: float = 0.0
    window_hours: int = 0

    @property
    def apart_words(self) -> str:
        """“9 hours apart”, “1 hour apart”, “0.5 hours apart”, “at the same time”."""
        hours = self.hours_apart
        if not hours:
            return "at the same time"
        return f"{hours:g} hour{'' if hours == 1 else 's'} apart"

    @property
    def segment_names(self) -> str:
        return ", ".join(s.name for s in self.segments)

    @property
    def segment_reasons(self) -> str:
        """“VIP (included, inactive), Unsub (excluded, not in Klaviyo)”."""
        return ", ".join(f"{s.name} ({s.role}, {s.reason})" for s in self.segments)

    @property
    def summary(self) -> str:
        """One line, for a tooltip or a screen reader's label."""
        names = self.segment_names
        if self.kind == "collision" and self.other is not None:
            return f"Collides with “{self.other.name}”: both include {names}."
        return f"Uses segments that cannot be sent to: {names}."


def _segment_reason(is_active: bool, missing_since) -> str:
    if not is_active:
        return "inactive"
    if missing_since is not None:
        return "not in Klaviyo"
    return ""


@dataclass
class _Plan:
    """What the checks need of one campaign, saved or still in its form."""

    key: int | None  # the campaign's id; None for a new one
    name: str
    channel: Channel
    status: str
    send_at: datetime | None
    include: dict[int, SizedNote] = field(default_factory=dict)
    exclude: dict[int, SizedNote] = field(default_factory=dict)


@dataclass(frozen=True)
class SizedNote:
    name: str
    reason: str
    sized: SizedSegment


@dataclass
class CampaignChecks:
    """A campaign's warnings and its reach from its final targeting."""

    warnings: list[CampaignWarning]
    reach: Reach | None  # None when only the warnings were asked for
    inclusion_ids: list[int] = field(default_factory=list)
    exclusion_ids: list[int] = field(default_factory=list)


_SEGMENT_FIELDS = ("pk", "name", "is_active", "klaviyo_missing_since")
# Read only when the reach is wanted: a calendar month needs warnings alone.
_SIZE_FIELDS = ("size", "size_counted_at")


def _note(pk: int, name: str, is_active: bool, missing, size=None, counted_at=None) -> SizedNote:
    reason = _segment_reason(is_active, missing)
    return SizedNote(name, reason, SizedSegment(pk, name, size, counted_at))


def _notes(ids: Iterable[int], *, sizes: bool, **where) -> dict[int, SizedNote]:
    """What the checks need of the segments with these ids (one query)."""
    fields = _SEGMENT_FIELDS + _SIZE_FIELDS if sizes else _SEGMENT_FIELDS
    rows = Segment.objects.filter(pk__in=ids, **where).values_list(*fields)
    return {row[0]: _note(*row) for row in rows}


def _plans_of(campaigns: list[Campaign], *, sizes: bool, ids=None) -> list[_Plan]:
    """Every segment the campaigns include or exclude: which ones (a union of both roles), then
    the segments themselves, each read once however many campaigns use it (two queries)."""
    plans = {c.pk: _Plan(c.pk, c.name, c.channel, c.status, c.send_at) for c in campaigns}
    ids = list(plans) if ids is None else ids
    inclusions = (
        Inclusion.objects.filter(campaign_id__in=ids)
        .annotate(role=Value("i"))
        .values_list("campaign_id", "segment_id", "role")
    )
    exclusions = (
        Exclusion.objects.filter(campaign_id__in=ids)
        .annotate(role=Value("e"))
        .values_list("campaign_id", "segment_id", "role")
    )
    links = list(inclusions.union(exclusions, all=True))
    notes = _notes({segment_id for _, segment_id, _ in links}, sizes=sizes) if links else {}
    for campaign_id, segment_id, role in links:
        plan = plans.get(campaign_id)
        if plan is None:  # `ids` found one created since the campaigns were read
            continue
        (plan.include if role == "i" else plan.exclude)[segment_id] = notes[segment_id]
    return list(plans.values())


def _is_live(plan: _Plan) -> bool:
    if plan.status == Campaign.Status.SCHEDULED:
        return True
    return plan.status == Campaign.Status.DRAFT and plan.send_at is not None


def _merged_windows(plans: list[_Plan]) -> dict[int, list[tuple[datetime, datetime]]]:
    """Per channel, the union of the campaigns' quiet windows as few disjoint intervals."""
    spans: dict[int, list[tuple[datetime, datetime]]] = {}
    for p in plans:
        window = timedelta(hours=p.channel.quiet_window_hours)
        spans.setdefault(p.channel.pk, []).append((p.send_at - window, p.send_at + window))
    merged: dict[int, list[tuple[datetime, datetime]]] = {}
    for channel_id, intervals in spans.items():
        out: list[tuple[datetime, datetime]] = []
        for start, end in sorted(intervals):
            if out and start <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], end))
            else:
                out.append((start, end))
        merged[channel_id] = out
    return merged


def _neighbours(plans: list[_Plan], known: list[_Plan], known_ids=None) -> _Timeline:
    """Every live campaign sending inside one of the plans' quiet windows and including one of
    their included segments: its name, send time and status, and its inclusions by channel and
    segment. The `known` campaigns are taken as they are; one query finds the others."""
    where = Q()
    for channel_id, intervals in _merged_windows(plans).items():
        for start, end in intervals:
            where |= Q(
                campaign__channel_id=channel_id,
                campaign__send_at__gt=start,
                campaign__send_at__lt=end,
            )
    excluded_there = Exclusion.objects.filter(
        campaign_id=OuterRef("campaign_id"), segment_id=OuterRef("segment_id")
    )
    rows = (
        Inclusion.objects.filter(where, segment_id__in={pk for p in plans for pk in p.include})
        .filter(campaign__status__in=LIVE_STATUSES)
        .exclude(campaign_id__in=[p.key for p in known] if known_ids is None else known_ids)
        .exclude(Exists(excluded_there))
        .values_list(
            "campaign_id",
            "segment_id",
            "campaign__name",
            "campaign__send_at",
            "campaign__status",
            "campaign__channel_id",
        )
    )
    timeline = _Timeline()
    for p in known:
        if _is_live(p):
            for segment_id in p.include.keys() - p.exclude.keys():
                timeline.add(p.key, segment_id, p.name, p.send_at, p.status, p.channel.pk)
    given = {p.key for p in known}
    for other_id, segment_id, name, send_at, status, channel_id in rows:
        if other_id in given:  # changed since it was read: it is taken as given
            continue
        timeline.add(other_id, segment_id, name, send_at, status, channel_id)
    timeline.sort()
    return timeline


class _Timeline:
    """The neighbouring campaigns' inclusions by channel and segment, each in send-time order,
    so that the campaigns near a send that share one of its segments are found by bisection.
    Send times are kept as POSIX timestamps: a month of campaigns compares them by thousands."""

    def __init__(self):
        self.others: dict[int, tuple[OtherCampaign, float]] = {}
        self.sends: dict[tuple[int, int], list[tuple[float, int]]] = {}

    def add(self, other_id, segment_id, name, send_at, status, channel_id) -> None:
        known = self.others.get(other_id)
        if known is None:
            other = OtherCampaign(other_id, name, send_at, _STATUS_LABELS[status])
            known = self.others[other_id] = (other, send_at.timestamp())
        self.sends.setdefault((channel_id, segment_id), []).append((known[1], other_id))

    def sort(self) -> None:
        for entries in self.sends.values():
            entries.sort()

    def sharing(self, plan: _Plan, window: float) -> dict[int, list[SegmentNote]]:
        """The campaigns of the plan's channel sent less than `window` seconds from it, each
        with the segments both include (and the plan does not exclude), by name."""
        at = plan.send_at.timestamp()
        low, high = at - window, at + window
        by_name = sorted(plan.include.items(), key=lambda item: item[1].name.lower())
        found: dict[int, list[SegmentNote]] = {}
        for segment_id, note in by_name:
            if segment_id in plan.exclude:
                continue
            entries = self.sends.get((plan.channel.pk, segment_id))
            if not entries:
                continue
            named = None
            for i in range(bisect_right(entries, (low, _MAX_ID)), len(entries)):
                when, other_id = entries[i]
                if when >= high:
                    break
                if other_id != plan.key:
                    named = named or SegmentNote(segment_id, note.name, plan.channel.slug)
                    found.setdefault(other_id, []).append(named)
        return found


_MAX_ID = float("inf")


def _unusable(plan: _Plan) -> CampaignWarning | None:
    if not any(n.reason for part in (plan.include, plan.exclude) for n in part.values()):
        return None
    notes = [
        SegmentNote(pk, note.name, plan.channel.slug, note.reason, role)
        for role, part in (("included", plan.include), ("excluded", plan.exclude))
        for pk, note in sorted(part.items(), key=lambda item: item[1].name.lower())
        if note.reason
    ]
    return CampaignWarning("unusable", segments=notes) if notes else None


def _collisions(plan: _Plan, timeline: _Timeline) -> list[CampaignWarning]:
    hours = plan.channel.quiet_window_hours
    at = plan.send_at.timestamp()
    found = []
    for other_id, segments in timeline.sharing(plan, hours * 3600).items():
        other, other_at = timeline.others[other_id]
        warning = CampaignWarning(
            "collision",
            segments=segments,
            other=other,
            hours_apart=round(abs(other_at - at) / 3600, 1),
            window_hours=hours,
        )
        found.append((other_at, other_id, warning))
    found.sort(key=lambda entry: entry[:2])
    return [warning for _, _, warning in found]


def _check(plans: list[_Plan], *, with_reach: bool = True, ids=None) -> list[CampaignChecks]:
    live = [p for p in plans if _is_live(p)]
    timed = [p for p in live if p.send_at is not None and p.include]
    known = [p for p in plans if p.key is not None]
    others = _neighbours(timed, known, ids) if timed else _Timeline()
    out = []
    for p in plans:
        warnings: list[CampaignWarning] = []
        if _is_live(p):
            unusable = _unusable(p)
            warnings += [unusable] if unusable else []
            if p.send_at is not None and p.include:
                warnings += _collisions(p, others)
        sized = None
        if with_reach:
            sized = reach(
                [n.sized for n in p.include.values()],
                [n.sized for n in p.exclude.values() if n.sized.id not in p.include],
            )
        out.append(CampaignChecks(warnings, sized, list(p.include), list(p.exclude)))
    return out


def campaign_checks(campaigns: Iterable[Campaign]) -> dict[int, CampaignChecks]:
    """Each campaign's warnings and reach, by id.

    The campaigns need their channel loaded (`select_related("channel")`). At most three
    queries for any number of campaigns: which segments they use, those segments, then the
    other live campaigns near them (the given ones are not read again). `inclusion_ids` and
    `exclusion_ids` give each campaign's final targeting, so a page needs no prefetch.
    """
    return _checks_by_id(campaigns, with_reach=True)


def _checks_by_id(
    campaigns: Iterable[Campaign], *, with_reach: bool, ids=None
) -> dict[int, CampaignChecks]:
    campaigns = list(campaigns)
    if not campaigns:
        return {}
    plans = _plans_of(campaigns, sizes=with_reach, ids=ids)
    checked = _check(plans, with_reach=with_reach, ids=ids)
    return {p.key: checks for p, checks in zip(plans, checked, strict=True)}


def campaign_checks_prefetched(campaign: Campaign) -> CampaignChecks:
    """One campaign's checks from its prefetched segments (`campaign_get`): one query at most."""

    def notes(segments) -> dict[int, SizedNote]:
        return {
            s.pk: _note(
                s.pk, s.name, s.is_active, s.klaviyo_missing_since, s.size, s.size_counted_at
            )
            for s in segments
        }

    plan = _Plan(campaign.pk, campaign.name, campaign.channel, campaign.status, campaign.send_at)
    plan.include = notes(campaign.inclusion_segments.all())
    plan.exclude = notes(campaign.exclusion_segments.all())
    return _check([plan])[0]


def campaign_warnings(
    campaigns: Iterable[Campaign], *, ids: QuerySet | None = None
) -> dict[int, list[CampaignWarning]]:
    """The warnings of each campaign (by id; an empty list when there is none), without the
    reach: at most three queries, as `campaign_checks`.

    `ids`, when given, is a query of exactly these campaigns' ids (`.values("pk")`): the
    queries then select by it rather than by a list of every id, which PostgreSQL plans
    slowly once a calendar month holds a thousand campaigns."""
    checked = _checks_by_id(campaigns, with_reach=False, ids=ids)
    return {pk: checks.warnings for pk, checks in checked.items()}


def draft_checks(
    *,
    campaign: Campaign | None,
    channel: Channel,
    status: str,
    send_at: datetime | None,
    include_ids: Iterable[int],
    exclude_ids: Iterable[int],
) -> CampaignChecks:
    """The checks of a campaign as its form holds it, before it is saved (at most two queries).

    Only the channel's segments count; a forged id of another channel is ignored."""
    include_ids, exclude_ids = list(include_ids), list(exclude_ids)
    plan = _Plan(campaign.pk if campaign else None, "", channel, status, send_at)
    if include_ids or exclude_ids:
        found = _notes(include_ids + exclude_ids, sizes=True, channel=channel)
        plan.include = {pk: found[pk] for pk in include_ids if pk in found}
        plan.exclude = {
            pk: found[pk] for pk in exclude_ids if pk in found and pk not in plan.include
        }
    return _check([plan])[0]
