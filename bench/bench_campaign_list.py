"""The campaign list and calendar with 2,000 campaigns, each targeting sized segments.

Half of the campaigns are live (Scheduled, or Draft with a send time) and many share segments
within a quiet window, so each page computes reach and collision warnings for what it shows.
Reported against the floor view. To compare with an earlier revision on the same data,
`python -m bench.compare REVISION campaign_list` (bench/compare.py) times both sides in turn.
"""

import os
from datetime import datetime, timedelta

from django.db import connection
from django.urls import reverse
from django.utils import timezone

from bench.common import floor_ms, logged_in_client, median_ms, report
from campaigns.models import Campaign
from channels_app.models import Channel
from segments.models import Segment

CAMPAIGNS = 2_000
SEGMENTS = 500
REPEAT = int(os.environ.get("BENCH_REPEAT", "20"))


def _fill(channel: Channel) -> None:
    Campaign.objects.filter(channel=channel).delete()
    Segment.objects.filter(channel=channel).delete()
    fields = {f.name for f in Segment._meta.get_fields()}
    sized = {"size": 1_000} if "size" in fields else {}
    segments = Segment.objects.bulk_create(
        Segment(channel=channel, name=f"Segment {i:04d}", **sized) for i in range(SEGMENTS)
    )
    start = timezone.make_aware(datetime(2026, 12, 1, 6))
    statuses = [Campaign.Status.SCHEDULED, Campaign.Status.DRAFT, Campaign.Status.SENT]
    campaigns = Campaign.objects.bulk_create(
        Campaign(
            channel=channel,
            name=f"Campaign {i:05d}",
            status=statuses[i % 3],
            send_at=start + timedelta(hours=(i * 7) % (24 * 60)),
        )
        for i in range(CAMPAIGNS)
    )
    Inclusion = Campaign.inclusion_segments.through
    Exclusion = Campaign.exclusion_segments.through
    Inclusion.objects.bulk_create(
        Inclusion(campaign=c, segment=segments[(i * 3 + k) % SEGMENTS % 40])
        for i, c in enumerate(campaigns)
        for k in range(3)
    )
    Exclusion.objects.bulk_create(
        Exclusion(campaign=c, segment=segments[100 + i % 50]) for i, c in enumerate(campaigns)
    )


def run() -> None:
    channel, _ = Channel.objects.get_or_create(slug="bench-list", defaults={"name": "List"})
    _fill(channel)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # as autovacuum would after a bulk load
    client = logged_in_client()
    floor = floor_ms()
    pages = {
        "list": reverse("campaigns:list"),
        "list_page_10": reverse("campaigns:list") + "?page=10",
        "calendar": reverse("campaigns:calendar") + "?month=2026-12",
    }
    for label, url in pages.items():
        assert client.get(url).status_code == 200
        ms = median_ms(lambda u=url: client.get(u), repeat=REPEAT, warmup=2)
        report(f"campaign_list.{label}_{CAMPAIGNS}_campaigns", ms, "ms", floor, "floor")
