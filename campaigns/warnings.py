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

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q, Value

from campaigns.models import Campaign

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


def is_live(campaign: Campaign) -> bool:
    """Scheduled, or a Draft with a send time: a campaign whose send is being planned."""
    if campaign.status == Campaign.Status.SCHEDULED:
        return True
    return campaign.status == Campaign.Status.DRAFT and campaign.send_at is not None


def _segment_reason(is_active: bool, missing_since) -> str:
    if not is_active:
        return "inactive"
    if missing_since is not None:
        return "not in Klaviyo"
    return ""


@dataclass
class _Targeting:
    include: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (name, reason)
    exclude: dict[int, tuple[str, str]] = field(default_factory=dict)


_ROW_FIELDS = (
    "campaign_id",
    "segment_id",
    "segment__name",
    "segment__is_active",
    "segment__klaviyo_missing_since",
)


def _targeting_of(ids: list[int]) -> dict[int, _Targeting]:
    """Every segment the campaigns include or exclude, in one query (a union of both roles)."""
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
    out: dict[int, _Targeting] = {pk: _Targeting() for pk in ids}
    for campaign_id, segment_id, name, is_active, missing, role in inclusions.union(
        exclusions, all=True
    ):
        part = out[campaign_id].include if role == "i" else out[campaign_id].exclude
        part[segment_id] = (name, _segment_reason(is_active, missing))
    return out


def _merged_windows(campaigns: list[Campaign]) -> dict[int, list[tuple[datetime, datetime]]]:
    """Per channel, the union of the campaigns' quiet windows as few disjoint intervals."""
    spans: dict[int, list[tuple[datetime, datetime]]] = {}
    for c in campaigns:
        window = timedelta(hours=c.channel.quiet_window_hours)
        spans.setdefault(c.channel_id, []).append((c.send_at - window, c.send_at + window))
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


def _neighbours(campaigns: list[Campaign], included: set[int]):
    """(campaign, segment, name, send_at, status, channel) for every live campaign sending
    inside one of the quiet windows and including one of `included`, in one query."""
    where = Q()
    for channel_id, intervals in _merged_windows(campaigns).items():
        for start, end in intervals:
            where |= Q(
                campaign__channel_id=channel_id,
                campaign__send_at__gt=start,
                campaign__send_at__lt=end,
            )
    excluded_there = Exclusion.objects.filter(
        campaign_id=OuterRef("campaign_id"), segment_id=OuterRef("segment_id")
    )
    return (
        Inclusion.objects.filter(where, segment_id__in=included)
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


def campaign_warnings(campaigns: Iterable[Campaign]) -> dict[int, list[CampaignWarning]]:
    """The warnings of each campaign (by id; an empty list when there is none).

    The campaigns need their channel loaded (`select_related("channel")`). Two queries for
    any number of campaigns, none when no campaign is live.
    """
    campaigns = list(campaigns)
    result: dict[int, list[CampaignWarning]] = {c.pk: [] for c in campaigns}
    live = [c for c in campaigns if is_live(c)]
    if not live:
        return result
    targeting = _targeting_of([c.pk for c in live])
    for c in live:
        notes = [
            SegmentNote(pk, name, c.channel.slug, reason, role)
            for role, part in (
                ("included", targeting[c.pk].include),
                ("excluded", targeting[c.pk].exclude),
            )
            for pk, (name, reason) in sorted(part.items(), key=lambda item: item[1][0].lower())
            if reason
        ]
        if notes:
            result[c.pk].append(CampaignWarning("unusable", segments=notes))
    timed = [c for c in live if c.send_at is not None and targeting[c.pk].include]
    included = {pk for c in timed for pk in targeting[c.pk].include}
    if not timed:
        return result
    others: dict[int, dict] = {}
    for other_id, segment_id, name, send_at, status, channel_id in _neighbours(timed, included):
        entry = others.setdefault(
            other_id,
            {
                "name": name,
                "send_at": send_at,
                "status": status,
                "channel": channel_id,
                "ids": set(),
            },
        )
        entry["ids"].add(segment_id)
    for c in timed:
        window = timedelta(hours=c.channel.quiet_window_hours)
        mine = targeting[c.pk]
        found = []
        for other_id, o in others.items():
            if other_id == c.pk or o["channel"] != c.channel_id:
                continue
            apart = abs(o["send_at"] - c.send_at)
            shared = (o["ids"] & mine.include.keys()) - mine.exclude.keys()
            if apart >= window or not shared:
                continue
            segments = sorted(
                (SegmentNote(pk, mine.include[pk][0], c.channel.slug) for pk in shared),
                key=lambda s: s.name.lower(),
            )
            other = OtherCampaign(other_id, o["name"], o["send_at"], _STATUS_LABELS[o["status"]])
            found.append(
                CampaignWarning(
                    "collision",
                    segments=segments,
                    other=other,
                    hours_apart=round(apart.total_seconds() / 3600, 1),
                    window_hours=c.channel.quiet_window_hours,
                )
            )
        found.sort(key=lambda w: (w.other.send_at, w.other.id))
        result[c.pk].extend(found)
    return result
