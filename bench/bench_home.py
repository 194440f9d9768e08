"""The home page (the start of the day) at demo size and at 150,000 segments.

Data: `seed_demo --size small` (900 segments, 20 audiences, 60 campaigns), timed; then bulk
additions to 150,000 segments (a tenth inactive or not in Klaviyo), 3,000 campaigns over a year
(a few hundred in the coming week), 1,000 audiences, 1,000 Klaviyo sync runs and 1,000 uploads
(some failed), timed again. The page runs the same queries at both sizes, each bounded (50 upcoming
campaigns, 200 candidates for "needs attention", 5 recent runs): its time grows only until those
lists are full, as the large database's week fills them. Goal: at most 23 queries at
either size (printed; fewer while a list is empty), and a median well under 100 ms in-process
on a quiet machine.
"""

import random
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from access_audience.management.commands.seed_demo import SIZES, seed_demo
from audiences.models import Audience
from bench.common import floor_ms, logged_in_client, median_ms, report
from campaigns.models import Campaign
from channels_app.models import Channel
from integrations.klaviyo.models import SyncRun
from integrations.uploads.models import Upload
from segments.models import Segment

SEGMENTS = 150_000
CAMPAIGNS = 3_000
AUDIENCES = 1_000
RUNS = 1_000
BATCH = 5_000


def _grow(rng: random.Random) -> None:
    now = timezone.now()
    channels = list(Channel.objects.all())
    missing = Segment.objects.count()
    Segment.objects.bulk_create(
        (
            Segment(
                channel=channels[i % len(channels)],
                name=f"Bench segment {i:06d}",
                external_id=f"BENCH{i:06d}",
                is_active=i % 20 != 0,
                klaviyo_missing_since=now if i % 20 == 1 else None,
            )
            for i in range(SEGMENTS - missing)
        ),
        batch_size=BATCH,
    )
    ids = {
        c.pk: list(Segment.objects.filter(channel=c).values_list("pk", flat=True)) for c in channels
    }
    audiences = Audience.objects.bulk_create(
        (
            Audience(channel=channels[i % len(channels)], name=f"Bench audience {i}")
            for i in range(AUDIENCES)
        ),
        batch_size=BATCH,
    )
    Audience.inclusion_segments.through.objects.bulk_create(
        (
            Audience.inclusion_segments.through(audience_id=a.pk, segment_id=s)
            for a in audiences
            for s in rng.sample(ids[a.channel_id], 3)
        ),
        batch_size=BATCH,
    )
    campaigns = Campaign.objects.bulk_create(
        (
            Campaign(
                channel=channels[i % len(channels)],
                name=f"Bench campaign {i}",
                status=rng.choice(["draft", "scheduled", "scheduled", "sent"]),
                send_at=now + timedelta(hours=rng.randint(-24 * 60, 24 * 300)),
            )
            for i in range(CAMPAIGNS)
        ),
        batch_size=BATCH,
    )
    Campaign.inclusion_segments.through.objects.bulk_create(
        (
            Campaign.inclusion_segments.through(campaign_id=c.pk, segment_id=s)
            for c in campaigns
            for s in rng.sample(ids[c.channel_id], 3)
        ),
        batch_size=BATCH,
    )
    SyncRun.objects.bulk_create(
        (
            SyncRun(status="failed" if i % 10 == 0 else "succeeded", error="Bench", finished_at=now)
            for i in range(RUNS)
        ),
        batch_size=BATCH,
    )
    Upload.objects.bulk_create(
        (
            Upload(
                channel=channels[i % len(channels)],
                file_name=f"bench-{i}.csv",
                status="failed" if i % 10 == 0 else "done",
            )
            for i in range(RUNS)
        ),
        batch_size=BATCH,
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # as autovacuum would after a bulk load


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/").status_code == 200
    return len(captured.captured_queries)


def run() -> None:
    rng = random.Random(17)
    seed_demo(size=SIZES["small"], rng=rng)
    client = logged_in_client()
    floor = floor_ms()
    small_queries = _queries(client)
    small = median_ms(lambda: client.get("/"), repeat=100)
    report("home.demo_size", small, "ms", floor, "floor")
    _grow(rng)
    large_queries = _queries(client)
    large = median_ms(lambda: client.get("/"), repeat=100)
    print(f"home.queries: {small_queries} at demo size, {large_queries} at 150,000 segments")
    report("home.150000_segments", large, "ms", small, "demo size")
    report("home.150000_segments_vs_floor", large, "ms", floor, "floor")
