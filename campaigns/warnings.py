"""Campaign warnings: what a marketer should look at before a campaign is sent.

One mechanism for the detail page, the list and the calendar, computed for a whole page of
campaigns with a fixed number of queries (at most two, whatever the page size):

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

from django.db.models import Exists, OuterRef, Q, Value

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
    def summary(self) -> str:
        """One line, for a tooltip or a screen reader's label."""
        names = ", ".join(s.name for s in self.segments)
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
    reach: Reach


_ROW_FIELDS = (
    "campaign_id",
    "segment_id",
    "segment__name",
    "segment__is_active",
    "segment__klaviyo_missing_since",
    "segment__size",
    "segment__size_counted_at",
)


def _note(pk: int, name: str, is_active: bool, missing, size, counted_at) -> SizedNote:
    reason = _segment_reason(is_active, missing)
    return SizedNote(name, reason, SizedSegment(pk, name, size, counted_at))


def _plans_of(campaigns: list[Campaign]) -> list[_Plan]:
    """Every segment the campaigns include or exclude, in one query (a union of both roles)."""
    plans = {c.pk: _Plan(c.pk, c.channel, c.status, c.send_at) for c in campaigns}
    ids = list(plans)
    inclusions = (
        Inclusion.objects.filter(campaign_id__in=ids)
        .annotate(role=Value("i"))
        .values_list(*_ROW_FIELDS, "role")
    )
    exclusions = (
        Exclusion.objects.filter(campaign_id__in=ids)
        .annotate(role=Value("e"))
        .values_list(*_ROW_FIELDS, "role")
    )
    for campaign_id, segment_id, *segment, role in inclusions.union(exclusions, all=True):
        plan = plans[campaign_id]
        (plan.include if role == "i" else plan.exclude)[segment_id] = _note(segment_id, *segment)
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


def _neighbours(plans: list[_Plan]) -> _Timeline:
    """Every live campaign sending inside one of the plans' quiet windows and including one of
    their included segments (one query), by id: name, send time, status, channel, segment ids."""
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
    others: dict[int, dict] = {}
    for other_id, segment_id, name, send_at, status, channel_id in rows:
        entry = others.setdefault(
            other_id,
            {"name": name, "send_at": send_at, "status": status, "channel": channel_id},
        )
        entry.setdefault("ids", set()).add(segment_id)
    return _Timeline(others)


class _Timeline:
    """The neighbouring campaigns by channel and send time, to find those near a send fast."""

    def __init__(self, others: dict[int, dict]):
        self.others = others
        self.by_channel: dict[int, list[tuple[datetime, int]]] = {}
        for other_id, o in others.items():
            self.by_channel.setdefault(o["channel"], []).append((o["send_at"], other_id))
        for entries in self.by_channel.values():
            entries.sort()

    def near(self, channel_id: int, send_at: datetime, window: timedelta):
        """(id, details) of the campaigns of the channel sent less than `window` from send_at."""
        entries = self.by_channel.get(channel_id, [])
        start = bisect_right(entries, (send_at - window, _MAX_ID))
        for when, other_id in entries[start:]:
            if when >= send_at + window:
                break
            yield other_id, self.others[other_id]


_MAX_ID = float("inf")


def _unusable(plan: _Plan) -> CampaignWarning | None:
    notes = [
        SegmentNote(pk, note.name, plan.channel.slug, note.reason, role)
        for role, part in (("included", plan.include), ("excluded", plan.exclude))
        for pk, note in sorted(part.items(), key=lambda item: item[1].name.lower())
        if note.reason
    ]
    return CampaignWarning("unusable", segments=notes) if notes else None


def _collisions(plan: _Plan, timeline: _Timeline) -> list[CampaignWarning]:
    window = timedelta(hours=plan.channel.quiet_window_hours)
    found = []
    for other_id, o in timeline.near(plan.channel.pk, plan.send_at, window):
        if other_id == plan.key:
            continue
        apart = abs(o["send_at"] - plan.send_at)
        shared = (o["ids"] & plan.include.keys()) - plan.exclude.keys()
        if not shared:
            continue
        segments = sorted(
            (SegmentNote(pk, plan.include[pk].name, plan.channel.slug) for pk in shared),
            key=lambda s: s.name.lower(),
        )
        found.append(
            CampaignWarning(
                "collision",
                segments=segments,
                other=OtherCampaign(other_id, o["name"], o["send_at"], _STATUS_LABELS[o["status"]]),
                hours_apart=round(apart.total_seconds() / 3600, 1),
                window_hours=plan.channel.quiet_window_hours,
            )
        )
    return sorted(found, key=lambda w: (w.other.send_at, w.other.id))


def _check(plans: list[_Plan]) -> list[CampaignChecks]:
    live = [p for p in plans if _is_live(p)]
    timed = [p for p in live if p.send_at is not None and p.include]
    others = _neighbours(timed) if timed else _Timeline({})
    out = []
    for p in plans:
        warnings: list[CampaignWarning] = []
        if _is_live(p):
            unusable = _unusable(p)
            warnings += [unusable] if unusable else []
            if p.send_at is not None and p.include:
                warnings += _collisions(p, others)
        sized = reach(
            [n.sized for n in p.include.values()],
            [n.sized for n in p.exclude.values() if n.sized.id not in p.include],
        )
        out.append(CampaignChecks(warnings, sized))
    return out


def campaign_checks(campaigns: Iterable[Campaign]) -> dict[int, CampaignChecks]:
    """Each campaign's warnings and reach, by id.

    The campaigns need their channel loaded (`select_related("channel")`). At most two queries
    for any number of campaigns: their segments, then the live campaigns near them.
    """
    campaigns = list(campaigns)
    if not campaigns:
        return {}
    plans = _plans_of(campaigns)
    return {p.key: checks for p, checks in zip(plans, _check(plans), strict=True)}


def campaign_checks_prefetched(campaign: Campaign) -> CampaignChecks:
    """One campaign's checks from its prefetched segments (`campaign_get`): one query at most."""

    def notes(segments) -> dict[int, SizedNote]:
        return {
            s.pk: _note(
                s.pk, s.name, s.is_active, s.klaviyo_missing_since, s.size, s.size_counted_at
            )
            for s in segments
        }

    plan = _Plan(campaign.pk, campaign.channel, campaign.status, campaign.send_at)
    plan.include = notes(campaign.inclusion_segments.all())
    plan.exclude = notes(campaign.exclusion_segments.all())
    return _check([plan])[0]


def campaign_warnings(campaigns: Iterable[Campaign]) -> dict[int, list[CampaignWarning]]:
    """The warnings of each campaign (by id; an empty list when there is none)."""
    return {pk: checks.warnings for pk, checks in campaign_checks(campaigns).items()}


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
    plan = _Plan(campaign.pk if campaign else None, channel, status, send_at)
    if include_ids or exclude_ids:
        rows = Segment.objects.filter(
            channel=channel, pk__in=include_ids + exclude_ids
        ).values_list("pk", *(f.removeprefix("segment__") for f in _ROW_FIELDS[2:]))
        found = {row[0]: _note(*row) for row in rows}
        plan.include = {pk: found[pk] for pk in include_ids if pk in found}
        plan.exclude = {
            pk: found[pk] for pk in exclude_ids if pk in found and pk not in plan.include
        }
    return _check([plan])[0]
