"""The campaign form and its picker search with 50,000 segments in the channel versus 50.

Goal: within 1.5x; also reported against the floor view.
"""

from django.db import connection
from django.urls import reverse

from bench.common import floor_ms, logged_in_client, median_ms, report
from channels_app.models import Channel
from segments.models import Segment


def _fill(channel: Channel, n: int) -> None:
    Segment.objects.bulk_create(
        (
            Segment(channel=channel, name=f"Segment {i:06d}", external_id=f"{channel.slug}-{i}")
            for i in range(n)
        ),
        batch_size=5000,
    )


def run() -> None:
    small, _ = Channel.objects.get_or_create(slug="bench-small", defaults={"name": "Small"})
    large, _ = Channel.objects.get_or_create(slug="bench-large", defaults={"name": "Large"})
    Segment.objects.filter(channel__in=[small, large]).delete()
    _fill(small, 50)
    _fill(large, 50_000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # as autovacuum would after a bulk load
    client = logged_in_client()
    floor = floor_ms()
    for label, query in (("form", None), ("picker_search", "Segment 0001"), ("picker_browse", "")):
        times = {}
        for channel in (small, large):
            if query is None:
                url = reverse("campaigns:create") + f"?channel={channel.slug}"
                headers = {}
            else:
                url = (
                    reverse("segments:picker_search", args=[channel.slug])
                    + f"?field=segments&segments-q={query}"
                )
                headers = {"HX-Request": "true"}
            assert client.get(url, headers=headers).status_code == 200
            times[channel.slug] = median_ms(lambda u=url, h=headers: client.get(u, headers=h))
        report(f"campaigns.{label}_50_segments", times["bench-small"], "ms", floor, "floor")
        report(
            f"campaigns.{label}_50000_segments",
            times["bench-large"],
            "ms",
            times["bench-small"],
            "50 segments",
        )
