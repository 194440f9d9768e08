"""Where sizes show: the Segments tab's Size column, the detail page and its chart, the picker."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from segments.bulk import SegmentRow, segment_bulk_upsert
from segments.models import Segment
from tests.factories import make_segment

pytestmark = pytest.mark.django_db


def list_url(channel, **params):
    url = reverse("segments:list", args=[channel.slug])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def cells(html):
    """Each row's name and size cell text, in order."""
    rows = re.findall(r'<tr id="segment-\d+".*?</tr>', html, re.S)
    out = []
    for row in rows:
        name = re.search(r'class="cell-name"><a [^>]*>([^<]*)</a>', row).group(1)
        size = re.sub(r"<[^>]+>", "", re.search(r'<td class="cell-size">(.*?)</td>', row).group(1))
        out.append((name, " ".join(size.split())))
    return out


def test_the_size_column_reads_figures_faded_when_old_and_a_dash_when_unknown(
    marketer_client, email
):
    now = timezone.now()
    make_segment(email, name="Fresh", size=12340, size_counted_at=now, size_source="klaviyo")
    old = make_segment(
        email, name="Old", size=5, size_counted_at=now - timedelta(days=9), size_source="csv"
    )
    make_segment(email, name="Unknown")
    html = marketer_client.get(list_url(email)).content.decode()
    assert cells(html) == [("Fresh", "12,340"), ("Old", "5 counted 9 days ago"), ("Unknown", "—")]
    assert f'<tr id="segment-{old.pk}"' in html
    assert 'class="size-stale"' in html.split(f'id="segment-{old.pk}"')[1].split("</tr>")[0]


def test_sorting_by_size_biggest_first_and_back_keeps_unknown_last(
    marketer_client, email, htmx_headers
):
    now = timezone.now()
    for name, size in [("A", 10), ("B", None), ("C", 300), ("D", 20)]:
        make_segment(email, name=name, size=size, size_counted_at=size and now)
    page = marketer_client.get(list_url(email)).content.decode()
    assert 'hx-get="?order=-size"' in page  # the header's first click: biggest first
    biggest = marketer_client.get(list_url(email, order="-size"), headers=htmx_headers)
    html = biggest.content.decode()
    assert "<html" not in html and 'aria-sort="descending"' in html
    assert [name for name, _ in cells(html)] == ["C", "D", "A", "B"]
    smallest = marketer_client.get(list_url(email, order="size"), headers=htmx_headers)
    assert [name for name, _ in cells(smallest.content.decode())] == ["A", "D", "C", "B"]


def fill(channel, n, start=0):
    """n segments with sizes, through the bulk write path."""
    now = timezone.now()
    segment_bulk_upsert(
        channel=channel,
        rows=(
            SegmentRow(name=f"Seg {i:06d}", external_id=f"E{i}", size=i, size_counted_at=now)
            for i in range(start, start + n)
        ),
        source=Segment.Source.CSV,
    )


def test_the_segments_tab_and_the_picker_keep_their_query_counts_at_1000_and_50000(
    marketer_client, email, htmx_headers, django_assert_num_queries
):
    tab = list_url(email, order="-size")
    picker = reverse("audiences:create", args=[email.slug])
    fill(email, 1000)
    marketer_client.get(tab)
    counts = {}
    for url, headers in [(tab, {}), (tab, htmx_headers), (picker, {})]:
        with CaptureQueriesContext(connection) as ctx:
            assert marketer_client.get(url, headers=headers).status_code == 200
        counts[url, bool(headers)] = len(ctx)
    fill(email, 49_000, start=1000)
    for (url, partial), expected in counts.items():
        with django_assert_num_queries(expected):
            html = marketer_client.get(url, headers=htmx_headers if partial else {})
        assert html.status_code == 200
    assert "49,999" in marketer_client.get(tab, headers=htmx_headers).content.decode()


def test_the_detail_page_shows_the_figure_its_source_and_a_size_history_chart(
    marketer_client, email
):
    segment = make_segment(email, name="VIP", external_id="V1")
    start = timezone.now() - timedelta(days=3)
    for day, size in enumerate([100, 150, 120]):
        segment_bulk_upsert(
            channel=email,
            rows=[
                SegmentRow(
                    name="VIP",
                    external_id="V1",
                    size=size,
                    size_counted_at=start + timedelta(days=day),
                )
            ],
            source=Segment.Source.CSV,
        )
    url = reverse("segments:detail", args=[email.slug, segment.pk])
    html = marketer_client.get(url).content.decode()
    assert "<strong>120</strong> contacts" in html and "CSV upload" in html
    chart = html.split('<figure class="size-chart">')[1].split("</figure>")[0]
    assert chart.count("<circle") == 3 and "<polyline" in chart and "<script" not in chart
    assert "3 counts, from 100 on" in chart and "lowest 100, highest 150" in chart


def test_the_detail_page_of_a_segment_without_a_size_says_how_to_get_one(marketer_client, email):
    segment = make_segment(email, name="Typed", kind="")
    url = reverse("segments:detail", args=[email.slug, segment.pk])
    html = marketer_client.get(url).content.decode()
    assert "Unknown: type it on the edit form" in html and "size-chart" not in html


def test_picker_rows_show_size_kind_and_what_tells_same_named_segments_apart(
    marketer_client, email
):
    make_segment(email, name="Buyers", kind="list", external_id="L1", size=2500)
    make_segment(email, name="Buyers", source="csv")
    make_segment(email, name="buyers ", source="manual")
    make_segment(email, name="Solo", kind="segment", external_id="S1")
    html = marketer_client.get(reverse("audiences:create", args=[email.slug])).content.decode()
    rows = re.findall(r"<li class=\"picker-row.*?</li>", html, re.S)
    texts = [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]
    buyers = [t for t in texts if t.lower().startswith("buyers")]
    assert any("Klaviyo list" in t and "2,500 contacts" in t for t in buyers)
    assert any("no Segment ID · CSV upload, added" in t for t in buyers)
    assert any("no Segment ID · Manual, added" in t for t in buyers)
    [solo] = [t for t in texts if t.startswith("Solo")]
    assert "Klaviyo segment · size unknown" in solo and "added" not in solo
