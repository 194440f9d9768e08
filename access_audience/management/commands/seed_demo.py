"""Fill an empty database with realistic demo data: segments, audiences and campaigns.

`--size small` gives a newcomer something to click through; `--size large` gives the load
test and the benchmarks production-like sizes. Everything is written with bulk inserts in
one transaction (segments through segments.bulk, like every bulk write of segments),
deterministically (same seed, same data). The command refuses to run when
the database already has segments, audiences or campaigns: demo rows mixed into real ones
could not be told apart, so it never touches existing data.
"""

import random
import time
from dataclasses import dataclass
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from audiences.models import Audience
from campaigns.models import Campaign
from channels_app.models import Channel
from segments.bulk import SegmentRow, segment_bulk_upsert
from segments.models import Segment

BATCH = 5_000


@dataclass(frozen=True)
class Size:
    # Segments in the first channel, then in each other channel.
    segments_first: int
    segments_other: int
    audiences: int
    campaigns: int
    months_ahead: int


SIZES = {
    "small": Size(
        segments_first=300, segments_other=300, audiences=20, campaigns=60, months_ahead=4
    ),
    "large": Size(
        segments_first=40_000, segments_other=5_000, audiences=500, campaigns=2_000, months_ahead=12
    ),
}
DEFAULT_CHANNELS = [("email", "Email", 10), ("sms", "SMS", 20), ("meta", "Meta", 30)]

BEHAVIOURS = [
    "Newsletter subscribers",
    "VIP customers",
    "Repeat buyers",
    "First-time buyers",
    "Abandoned cart",
    "Browsed but did not buy",
    "Lapsed customers",
    "Engaged last 30 days",
    "Engaged last 90 days",
    "Unengaged 180 days",
    "High lifetime value",
    "Discount seekers",
    "Full-price buyers",
    "Loyalty members",
    "Gift card buyers",
    "Wishlist savers",
    "Product reviewers",
    "Referral advocates",
    "Back-in-stock requests",
    "Birthday this month",
    "Opened last campaign",
    "Clicked last campaign",
    "Bounced recently",
    "Unsubscribed elsewhere",
    "Suppressed contacts",
]
INTERESTS = [
    "Running",
    "Outdoor",
    "Kids",
    "Home",
    "Beauty",
    "Menswear",
    "Womenswear",
    "Accessories",
    "Footwear",
    "Electronics",
    "Books",
    "Pets",
    "Garden",
    "Kitchen",
    "Sale",
    "New arrivals",
]
REGIONS = [
    "France",
    "Germany",
    "Spain",
    "Italy",
    "UK",
    "Ireland",
    "Benelux",
    "Nordics",
    "US East",
    "US West",
    "Canada",
    "Australia",
]
EXCLUSION_HINTS = ("Unsubscribed", "Suppressed", "Bounced", "Unengaged", "Lapsed")
CAMPAIGN_THEMES = [
    "Spring sale",
    "Summer sale",
    "Back to school",
    "Black Friday",
    "Cyber Monday",
    "Holiday gift guide",
    "New collection launch",
    "Weekly newsletter",
    "Loyalty points reminder",
    "Win-back offer",
    "Product review request",
    "Free shipping weekend",
    "Flash sale",
    "Members' preview",
    "Clearance",
]


class Command(BaseCommand):
    help = (
        "Fill an empty database with demo segments, audiences and campaigns "
        "(small: a few hundred segments per channel, 20 audiences, 60 campaigns; "
        "large: 50,000 segments, 500 audiences, 2,000 campaigns). Refuses when the database "
        "already has segments, audiences or campaigns."
    )

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=sorted(SIZES), default="small")
        parser.add_argument("--seed", type=int, default=2026, help="Same seed, same data.")

    def handle(self, *args, size: str, seed: int, **options):
        existing = {
            "segments": Segment.objects.count(),
            "audiences": Audience.objects.count(),
            "campaigns": Campaign.objects.count(),
        }
        if any(existing.values()):
            found = ", ".join(
                f"{n:,} {noun if n != 1 else noun[:-1]}" for noun, n in existing.items() if n
            )
            raise CommandError(
                f"The database already has {found}. seed_demo only fills an empty database, "
                "so demo data never mixes with real data; use a fresh database "
                "(e.g. DJANGO_DATA_DIR=/tmp/demo) or delete those rows first."
            )
        started = time.monotonic()
        counts = seed_demo(size=SIZES[size], rng=random.Random(seed))
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {counts['segments']:,} segments, {counts['audiences']:,} audiences and "
                f"{counts['campaigns']:,} campaigns across {counts['channels']} channels "
                f"in {elapsed:.1f}s."
            )
        )


@transaction.atomic
def seed_demo(*, size: Size, rng: random.Random) -> dict[str, int]:
    channels = list(Channel.objects.order_by("position", "name"))
    if not channels:
        channels = [
            Channel.objects.create(slug=slug, name=name, position=position)
            for slug, name, position in DEFAULT_CHANNELS
        ]
    now = timezone.now()
    segments_by_channel = {
        channel.pk: _segments(
            channel, size.segments_first if i == 0 else size.segments_other, rng, now
        )
        for i, channel in enumerate(channels)
    }
    audiences = _audiences(channels, segments_by_channel, size.audiences, rng)
    campaigns = _campaigns(channels, audiences, segments_by_channel, size, rng, now)
    return {
        "channels": len(channels),
        "segments": sum(len(s) for s in segments_by_channel.values()),
        "audiences": len(audiences),
        "campaigns": campaigns,
    }


def _segments(channel: Channel, count: int, rng: random.Random, now) -> list[tuple[int, str, bool]]:
    """Bulk-insert the channel's segments; returns (id, name, is_active) of each."""
    rows = []
    names_without_id: set[str] = set()
    # Sizes draw from their own generator, so the rest of the demo data stays as it was.
    sizes_rng = random.Random(channel.pk * 7919 + count)
    for n in range(count):
        name = f"{rng.choice(BEHAVIOURS)} · {rng.choice(INTERESTS)} · {rng.choice(REGIONS)}"
        if n >= len(BEHAVIOURS) * 4:  # beyond the first few hundred, cohorts keep names apart
            name += f" · {2024 + n % 3}-{1 + n % 12:02d}"
        roll = rng.random()
        if roll < 0.55:
            source, kind = (
                Segment.Source.KLAVIYO,
                rng.choice([Segment.Kind.SEGMENT, Segment.Kind.LIST]),
            )
            external_id = f"{channel.slug[:2].upper()}{n:06d}"
            link = f"https://www.klaviyo.com/list/{external_id}/members"
        elif roll < 0.85:
            source, kind = Segment.Source.CSV, Segment.Kind.NONE
            external_id = f"{channel.slug.upper()}-{n:06d}"
            link = ""
        else:
            source, kind, external_id, link = Segment.Source.MANUAL, Segment.Kind.NONE, "", ""
            # Segments without an ID are told apart by name, so theirs never repeat.
            if name.lower() in names_without_id:
                name += f" · {n}"
            names_without_id.add(name.lower())
        is_active = rng.random() < 0.9
        # Most segments have a size (a few hundred to a few hundred thousand contacts), some
        # counted weeks ago (faded on the Segments tab); one in six is unknown.
        sized = sizes_rng.random() < 5 / 6
        rows.append(
            SegmentRow(
                name=name,
                external_id=external_id,
                link=link,
                is_active=is_active,
                source=source,
                kind=kind,
                last_synced_at=now if source == Segment.Source.KLAVIYO else None,
                klaviyo_missing_since=(
                    now - timedelta(days=rng.randint(1, 60))
                    if source == Segment.Source.KLAVIYO and not is_active and rng.random() < 0.3
                    else None
                ),
                size=int(10 ** sizes_rng.uniform(2.5, 5.7)) if sized else None,
                size_source=source,
                size_counted_at=now - timedelta(days=sizes_rng.choice([0, 0, 1, 3, 12, 30])),
            )
        )
    result = segment_bulk_upsert(
        channel=channel, rows=rows, source=Segment.Source.MANUAL, now=now, batch_size=BATCH
    )
    if result.created != count:
        raise RuntimeError(f"The demo segments broke the segment rules: {result}")
    return list(
        Segment.objects.filter(channel=channel)
        .order_by("pk")
        .values_list("pk", "name", "is_active")
    )


def _audiences(channels, segments_by_channel, count: int, rng: random.Random) -> list[dict]:
    """Bulk-insert audiences spread over the channels, with their inclusion and exclusion
    segments (active ones; exclusions are the suppression-like segments)."""
    plan = []
    used_names: set[tuple[int, str]] = set()
    for n in range(count):
        channel = channels[n % len(channels)]
        segments = [s for s in segments_by_channel[channel.pk] if s[2]]
        if len(segments) < 2:
            continue
        base = (
            f"{rng.choice(INTERESTS)} {rng.choice(['fans', 'shoppers', 'prospects', 'regulars'])}"
        )
        name = base
        while (channel.pk, name.lower()) in used_names:
            name = f"{base} {len(used_names) + 1}"
        used_names.add((channel.pk, name.lower()))
        include = rng.sample(segments, min(len(segments), rng.randint(2, 6)))
        exclusions = [s for s in segments if s[1].startswith(EXCLUSION_HINTS)] or segments
        exclude = rng.sample(exclusions, min(len(exclusions), rng.randint(0, 3)))
        exclude = [s for s in exclude if s not in include]
        plan.append((channel, name, include, exclude))
    created = Audience.objects.bulk_create(
        [
            Audience(channel=channel, name=name, estimated_volume=rng.randrange(500, 250_000, 50))
            for channel, name, _, _ in plan
        ],
        batch_size=BATCH,
    )
    Include = Audience.inclusion_segments.through
    Exclude = Audience.exclusion_segments.through
    Include.objects.bulk_create(
        [
            Include(audience_id=a.pk, segment_id=s[0])
            for a, (_, _, inc, _) in zip(created, plan, strict=True)
            for s in inc
        ],
        batch_size=BATCH,
    )
    Exclude.objects.bulk_create(
        [
            Exclude(audience_id=a.pk, segment_id=s[0])
            for a, (_, _, _, exc) in zip(created, plan, strict=True)
            for s in exc
        ],
        batch_size=BATCH,
    )
    return [
        {"audience": a, "channel_id": a.channel_id, "include": inc, "exclude": exc}
        for a, (_, _, inc, exc) in zip(created, plan, strict=True)
    ]


def _campaigns(channels, audiences, segments_by_channel, size: Size, rng, now) -> int:
    """Bulk-insert campaigns from a few weeks ago to `months_ahead` months from now; most
    apply an audience (targeting = the audience's, sometimes with an ad-hoc addition)."""
    by_channel: dict[int, list[dict]] = {}
    for a in audiences:
        by_channel.setdefault(a["channel_id"], []).append(a)
    horizon_days = size.months_ahead * 30
    plan = []
    for n in range(size.campaigns):
        channel = channels[n % len(channels)]
        send_at = now + timedelta(days=rng.randint(-21, horizon_days), hours=rng.randint(0, 23))
        send_at = send_at.replace(minute=rng.choice([0, 15, 30, 45]), second=0, microsecond=0)
        if send_at < now:
            status = rng.choice([Campaign.Status.SENT] * 4 + [Campaign.Status.CANCELLED])
        else:
            status = rng.choice([Campaign.Status.SCHEDULED, Campaign.Status.DRAFT])
        choices = by_channel.get(channel.pk, [])
        applied = rng.choice(choices) if choices and rng.random() < 0.85 else None
        include = list(applied["include"]) if applied else []
        exclude = list(applied["exclude"]) if applied else []
        active = [s for s in segments_by_channel[channel.pk] if s[2]]
        if active and (not applied or rng.random() < 0.3):
            extra = rng.choice(active)
            if extra not in include and extra not in exclude:
                include.append(extra)
        snapshot = {}
        if applied:
            snapshot = {
                "audience_id": applied["audience"].pk,
                "audience_name": applied["audience"].name,
                "version": applied["audience"].version,
                "inclusion": [
                    {"id": s[0], "name": s[1]}
                    for s in sorted(applied["include"], key=lambda s: s[1])
                ],
                "exclusion": [
                    {"id": s[0], "name": s[1]}
                    for s in sorted(applied["exclude"], key=lambda s: s[1])
                ],
            }
        theme = rng.choice(CAMPAIGN_THEMES)
        plan.append(
            (
                Campaign(
                    name=f"{theme} — {channel.name} — {send_at:%d %b}",
                    channel=channel,
                    status=status,
                    send_at=send_at,
                    notes=rng.choice(
                        ["", "", f"Coordinate with the {theme.lower()} landing page."]
                    ),
                    link=rng.choice(["", f"https://esp.example.com/campaigns/{n + 1}"]),
                    audience=applied["audience"] if applied else None,
                    audience_snapshot=snapshot,
                    audience_applied_at=now if applied else None,
                ),
                include,
                exclude,
            )
        )
    created = Campaign.objects.bulk_create([c for c, _, _ in plan], batch_size=BATCH)
    Include = Campaign.inclusion_segments.through
    Exclude = Campaign.exclusion_segments.through
    Include.objects.bulk_create(
        [
            Include(campaign_id=c.pk, segment_id=s[0])
            for c, (_, inc, _) in zip(created, plan, strict=True)
            for s in inc
        ],
        batch_size=BATCH,
    )
    Exclude.objects.bulk_create(
        [
            Exclude(campaign_id=c.pk, segment_id=s[0])
            for c, (_, _, exc) in zip(created, plan, strict=True)
            for s in exc
        ],
        batch_size=BATCH,
    )
    return len(created)
