"""The segment picker at 50,000 segments versus 50, in the same run.

Measures the htmx search partial (segments:picker_search) for a typed query and for the first
page with no query, and the audience form (which renders the picker), on a channel with 50,000
segments and on one with 50. Baselines: the 50-segment channel, and the floor view.
"""

from django.db import connection
from django.urls import reverse

from bench.common import floor_ms, logged_in_client, median_ms, report

WORDS = ["VIP", "Repeat", "Lapsed", "Engaged", "Winback", "Newsletter", "Cart", "Birthday"]
HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/"}


def _fill(channel, count: int) -> None:
    from segments.models import Segment

    batch = []
    for i in range(count):
        word = WORDS[i % len(WORDS)]
        batch.append(
            Segment(
                channel=channel,
                name=f"{word} segment {i:05d}",
                external_id=f"ext-{channel.slug}-{i}",
                is_active=i % 10 != 0,
            )
        )
        if len(batch) == 5000:
            Segment.objects.bulk_create(batch)
            batch = []
    Segment.objects.bulk_create(batch)


def run() -> None:
    from channels_app.models import Channel

    small = Channel.objects.create(slug="bench-small", name="Bench 50", position=90)
    big = Channel.objects.create(slug="bench-big", name="Bench 50k", position=91)
    _fill(small, 50)
    _fill(big, 50_000)
    if connection.vendor == "postgresql":
        # What autovacuum would have done after a big sync: give the planner statistics.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE segments_segment")
    client = logged_in_client()

    def search(channel, query: str):
        url = reverse("segments:picker_search", args=[channel.slug])
        params = {"field": "segments", "segments-q": query}

        def call():
            response = client.get(url, params, headers=HTMX)
            assert response.status_code == 200
            assert b"data-picker-row" in response.content

        return call

    def form(channel):
        url = reverse("audiences:create", args=[channel.slug])

        def call():
            assert client.get(url).status_code == 200

        return call

    floor = floor_ms()
    cases = [
        ("search_typed", lambda ch: search(ch, "winback")),
        ("search_first_page", lambda ch: search(ch, "")),
        ("search_by_id", lambda ch: search(ch, f"ext-{ch.slug}-7")),
        ("form_page", form),
    ]
    for name, make in cases:
        small_ms = median_ms(make(small), repeat=60)
        big_ms = median_ms(make(big), repeat=60)
        report(f"picker.{name}_50_median", small_ms, "ms", floor, "floor")
        report(f"picker.{name}_50k_median", big_ms, "ms", small_ms, "50 segments")
        report(f"picker.{name}_50k_vs_floor", big_ms, "ms", floor, "floor")
