"""The Segments tab's search partial at real size.

Data: 50,000 segments in one channel and 100,000 in two others (names and Klaviyo-like IDs).
For a few typical searches, the median time of the htmx search partial
(`/channels/<slug>/segments/?q=…` with HX-Request) is compared with the Django admin changelist
search for the same query on the same channel (goal: at least 5x faster), and with the floor
view of bench_floor, timed alternately with both for each search (goal: at most 3x the floor).
"""

import random
import statistics
import string
import time
from urllib.parse import quote

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from bench.common import logged_in_client, report
from channels_app.models import Channel
from segments.models import Segment

MAIN = 50_000
OTHERS = 100_000
ADJECTIVES = [
    "VIP",
    "Lapsed",
    "Engaged",
    "Winter",
    "Summer",
    "Repeat",
    "New",
    "High value",
    "Churn risk",
    "Loyal",
    "Dormant",
    "Black Friday",
]
NOUNS = ["buyers", "subscribers", "openers", "clickers", "browsers", "members", "cart abandoners"]
REGIONS = ["UK", "US", "DE", "FR", "ES", "IT", "NL", "SE", "AU", "CA"]


def _klaviyo_id(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits, k=6))


def _fill(channel: Channel, n: int, rng: random.Random, seen: set[str]) -> list[str]:
    ids = []
    batch = []
    for i in range(n):
        external_id = _klaviyo_id(rng)
        while (channel.pk, external_id) in seen:
            external_id = _klaviyo_id(rng)
        seen.add((channel.pk, external_id))
        ids.append(external_id)
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {rng.choice(REGIONS)} {i}"
        batch.append(
            Segment(
                channel=channel,
                name=name,
                external_id=external_id,
                link=f"https://www.klaviyo.com/list/{external_id}",
                is_active=rng.random() > 0.1,
                source="klaviyo",
                kind="segment",
            )
        )
        if len(batch) == 5000:
            Segment.objects.bulk_create(batch)
            batch = []
    Segment.objects.bulk_create(batch)
    return ids


def _interleaved_samples(*fns, rounds: int = 25) -> list[list[float]]:
    """Ms of each per round, timed alternately so that load from other processes on a shared
    machine weighs on all alike (the ratios are the figures that matter)."""
    for fn in fns * 2:
        fn()  # warm-up
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for fn, timed in zip(fns, samples, strict=True):
            start = time.perf_counter()
            fn()
            timed.append((time.perf_counter() - start) * 1000)
    return samples


def _paired_ratio(timed: list[float], baseline: list[float]) -> float:
    """Median of the per-round ratios: each sample against the baseline timed in the same
    round, so a burst of load from elsewhere moves both sides of one ratio, not one side of
    the medians."""
    return statistics.median(t / b for t, b in zip(timed, baseline, strict=True))


def run() -> None:
    rng = random.Random(42)
    channels = {
        slug: Channel.objects.get_or_create(slug=slug, defaults={"name": slug.upper()})[0]
        for slug in ("email", "sms", "meta")
    }
    seen: set = set()
    main_ids = _fill(channels["email"], MAIN, rng, seen)
    for slug in ("sms", "meta"):
        _fill(channels[slug], OTHERS // 2, rng, seen)
    if connection.vendor == "postgresql":
        # Steady state, as autovacuum leaves it: statistics and the visibility map are current.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE segments_segment")
    print(f"# {Segment.objects.count():,} segments, {MAIN:,} in the searched channel", flush=True)

    client = logged_in_client()
    User = get_user_model()
    admin_user = User.objects.create_superuser("bench-admin", password="bench-admin-not-secret")
    admin = Client()
    admin.force_login(admin_user)
    channel = channels["email"]
    tab = f"/channels/{channel.slug}/segments/"
    changelist = "/admin/segments/segment/"
    htmx = {"HX-Request": "true", "HX-Current-URL": f"http://testserver{tab}"}

    queries = {
        "common_word": "buyers",
        "exact_id": main_ids[12_345],
        "name_prefix": "Churn risk members DE 1",
        "no_match": "zzzzzz",
        "browse_first_page": "",
    }
    floor_url = "/bench/floor/"  # bench_floor's view: login required, the full middleware stack
    assert client.get(floor_url).status_code == 200
    for label, q in queries.items():
        ours_url = f"{tab}?q={quote(q)}"
        admin_url = f"{changelist}?channel__id__exact={channel.pk}&q={quote(q)}"
        ours_response = client.get(ours_url, headers=htmx)
        admin_response = admin.get(admin_url)
        assert ours_response.status_code == 200, ours_response.status_code
        assert admin_response.status_code == 200, admin_response.status_code
        assert b'id="segment-results"' in ours_response.content
        if label == "exact_id":
            assert q.encode() in ours_response.content
        # The floor is timed between the two for each search, so its ratio is from the same moment.
        ours_ms, theirs_ms, floor_ms = _interleaved_samples(
            lambda url=ours_url: client.get(url, headers=htmx),
            lambda url=admin_url: admin.get(url),
            lambda: client.get(floor_url),
        )
        ours, theirs, floor = map(statistics.median, (ours_ms, theirs_ms, floor_ms))
        report(f"segments.search_{label}.floor", floor, "ms", floor, "floor")
        report(f"segments.search_{label}.partial", ours, "ms", floor, "floor")
        report(f"segments.search_{label}.admin_changelist", theirs, "ms", floor, "floor")
        print(
            f"segments.search_{label}.partial_paired: "
            f"{_paired_ratio(ours_ms, floor_ms):,.2f}x vs floor (median of per-round ratios)",
            flush=True,
        )
        # The headline ratio: how many times faster than the admin's changelist search.
        print(
            f"segments.search_{label}.speedup_vs_admin: {theirs / ours:,.2f}x "
            f"(partial {ours:,.1f} ms, admin {theirs:,.1f} ms)",
            flush=True,
        )
