"""Refresh sizes: 2,000 Klaviyo segments + 500 lists counted against the local fake.

The fake enforces Klaviyo's limits for the counts (segment values report 1/s, 2/min, 225/day;
list profile_count 1/s, 15/min) on a virtual clock that jumps to each step's `run_after`, as a
task queue would run it: a refresh that takes Klaviyo about 34 minutes runs in seconds here,
and any call made too early is a 429 the figures show. A second run scales the daily cap down
to 10 reports, so the run must wait for the next day half way.

Figures: HTTP requests per item against the minimum Klaviyo's limits allow (one report per
100 segments, one call per list: goal 1.00x), 429s received, the worker time the run holds
against the time it spans, and, the goal being none, worker time held while waiting (every
client wait is recorded, none slept).
"""

import math
import time
from datetime import UTC, datetime

from bench.common import report

SEGMENTS, LISTS = 2_000, 500
KEY = "pk_bench_sizes_not_a_real_key_000000"


class _Clock:
    def __init__(self):
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> float:
        return self.now.timestamp()


def _one_refresh(*, daily_cap: int | None) -> None:
    from django.test.utils import override_settings

    from channels_app.models import Channel
    from integrations.klaviyo import client as klaviyo_client
    from integrations.klaviyo import services, sizes
    from integrations.klaviyo.models import SizeRun
    from segments.bulk import SegmentRow, segment_bulk_upsert
    from segments.models import Segment
    from tests.klaviyo_fake import FakeKlaviyo, object_id

    SizeRun.objects.filter(results__channel__slug="bench-sizes").delete()
    Segment.objects.filter(channel__slug="bench-sizes").delete()
    Channel.objects.filter(slug="bench-sizes").delete()
    channel = Channel.objects.create(slug="bench-sizes", name="Bench sizes", position=950)
    rows = [
        SegmentRow(name=f"Segment {i}", external_id=object_id("segment", i), kind="segment")
        for i in range(SEGMENTS)
    ] + [
        SegmentRow(name=f"List {i}", external_id=object_id("list", i), kind="list")
        for i in range(LISTS)
    ]
    segment_bulk_upsert(channel=channel, rows=rows, source=Segment.Source.KLAVIYO)

    clock = _Clock()
    waits: list[float] = []
    saved_sleep = klaviyo_client.default_sleep
    klaviyo_client.default_sleep = waits.append  # a wait would be recorded, never slept
    try:
        with (
            FakeKlaviyo(api_key=KEY, segments=SEGMENTS, lists=LISTS, clock=clock) as fake,
            override_settings(KLAVIYO_API_URL=fake.url, KLAVIYO_API_KEY=KEY),
        ):
            if daily_cap:
                fake.count_limits["report"] = [(1, 1.0), (2, 60.0), (daily_cap, 86400.0)]
            services.klaviyo_api_key()
            run = sizes.size_run_create(channels=[channel])
            started = clock.now
            following = sizes.NextStep(at=clock.now, step=run.step)
            steps, held, longest = 0, 0.0, 0.0
            while following is not None:
                clock.now = max(clock.now, following.at)
                begin = time.perf_counter()
                following = sizes.size_run_step(run_id=run.pk, step=following.step, now=clock.now)
                spent = time.perf_counter() - begin
                held, longest, steps = held + spent, max(longest, spent), steps + 1
            run.refresh_from_db()
            requests = sum(fake.count_requests.values())
            throttled = sum(fake.throttled.values())
    finally:
        klaviyo_client.default_sleep = saved_sleep

    items = SEGMENTS + LISTS
    minimum = math.ceil(SEGMENTS / 100) + LISTS
    if daily_cap:
        minimum += 1  # the report refused by the cap, which is how the run learns of it
    label = f"daily cap {daily_cap}" if daily_cap else "within the daily cap"
    counted = Segment.objects.filter(channel=channel, size__isnull=False).count()
    print(
        f"# {label}: {run.status}, {counted:,} of {items:,} sized, {steps:,} steps",
        flush=True,
    )
    report(
        f"requests per item ({label})",
        requests / items,
        "requests",
        minimum / items,
        "the minimum Klaviyo's limits allow",
    )
    print(f"429s received ({label}): {throttled}", flush=True)
    span = (run.finished_at - started).total_seconds()
    report(
        f"worker time held ({label})",
        held,
        "s",
        span,
        f"the run's {span / 60:,.1f} minutes",
    )
    print(f"worker time per step ({label}): {held / steps * 1000:,.1f} ms", flush=True)
    print(f"longest step ({label}): {longest * 1000:,.1f} ms", flush=True)
    print(
        f"worker time held while waiting ({label}): {sum(waits):,.3f} s "
        f"({len(waits)} waits asked for)",
        flush=True,
    )


def run() -> None:
    _one_refresh(daily_cap=None)
    _one_refresh(daily_cap=10)
